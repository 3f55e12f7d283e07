/**
 * Models with a LoRA adapter, as the lab lists them ("Qwen2.5 0.5B + instilled-100"): a base
 * model id plus an AdapterRef. The adapter files come from a Hugging Face id, a folder served by
 * the site, or files picked from disk (kept in the browser: workers/adapter-files.ts). Adding one
 * reads and checks the files first, so a bad adapter is refused with the reason before any run.
 */
import { ADAPTER_FILES, AdapterError, adapterSource, buildLoraAdapter, PICKLE_HELP, PICKLE_WEIGHTS } from '../lib/adapters';
import type { AdapterRef, ModelRef } from '../lib/experiment/spec';
import type { RunMeta } from '../lib/experiment/runs';
import { readAdapterFiles, storeAdapter, type StoredAdapter } from '../../workers/adapter-files';

export interface ModelWithAdapter {
  /** The base model's id (catalog, Hugging Face or served folder). */
  base: string;
  adapter: AdapterRef;
  /** Shown everywhere the model is named. */
  label: string;
  /** sha-256 of adapter_model.safetensors when it was added. */
  sha256: string;
  /** Modules that get a LoRA branch, and the largest rank. */
  modules: number;
  rank: number;
}

/** A short name for an adapter id: a stored name, the last part of a path or Hub id. */
export function adapterName(id: string): string {
  const src = adapterSource(id);
  return src.location.split('/').filter(Boolean).pop() ?? id;
}

export function adaptedLabel(baseLabel: string, adapter: AdapterRef): string {
  const scale = adapter.scale ?? 1;
  return `${baseLabel} + ${adapterName(adapter.id)}${scale !== 1 ? ` ×${scale}` : ''}`;
}

/** The value that tells a model with an adapter apart from its base (and from other adapters) in a list. */
export function adaptedKey(m: { id?: string; base?: string; adapter?: AdapterRef }): string {
  const id = m.base ?? m.id ?? '';
  return m.adapter ? `${id}\u0000${m.adapter.id}\u0000${m.adapter.scale ?? 1}` : id;
}

/** Read and check an adapter against its base model; AdapterError says what is wrong. */
export async function checkAdapter(base: string, baseLabel: string, adapter: AdapterRef): Promise<ModelWithAdapter> {
  const files = await readAdapterFiles(adapter.id);
  const lora = buildLoraAdapter(files, { scale: adapter.scale ?? 1, baseModel: base });
  return {
    base,
    adapter,
    label: adaptedLabel(baseLabel, adapter),
    sha256: files.sha256,
    modules: lora.modules.length,
    rank: Math.max(...lora.modules.map((m) => m.r)),
  };
}

/**
 * Keep adapter files picked from disk in the browser, after checking they parse (the base model
 * is checked when the adapter is added to a model). Returns the stored adapter (`stored:NAME`).
 */
export async function storePickedAdapter(name: string, picked: File[]): Promise<StoredAdapter> {
  const byName = new Map(picked.map((f) => [f.name, f]));
  if (!name.trim()) throw new AdapterError('missing_file', 'give the adapter a name');
  if (/[/\\]/.test(name)) throw new AdapterError('missing_file', 'the name may not contain slashes');
  const config = byName.get(ADAPTER_FILES.config);
  const weights = byName.get(ADAPTER_FILES.weights);
  if (!weights && byName.has(PICKLE_WEIGHTS)) throw new AdapterError('missing_file', PICKLE_HELP, PICKLE_WEIGHTS);
  if (!config || !weights)
    throw new AdapterError('missing_file', `pick both ${ADAPTER_FILES.config} and ${ADAPTER_FILES.weights} (a PEFT LoRA adapter folder)`);
  const configText = await config.text();
  const weightBytes = new Uint8Array(await weights.arrayBuffer());
  buildLoraAdapter({ config: configText, weights: weightBytes });
  return storeAdapter(name.trim(), { config: configText, weights: weightBytes });
}

/** What a run record says about one model's adapter: the spec's request and, once loaded, the hash applied. */
export interface RunAdapter {
  key: string;
  model: string;
  id: string;
  scale: number;
  /** Null until the model was loaded (the hash is taken from the applied files). */
  sha256: string | null;
}

export function runAdapters(meta: Pick<RunMeta, 'spec' | 'engines'>): RunAdapter[] {
  return meta.spec.models
    .filter((m) => m.adapter)
    .map((m) => {
      const info = meta.engines[m.key]?.adapterInfo;
      return { key: m.key, model: m.id, id: m.adapter!.id, scale: m.adapter!.scale ?? 1, sha256: info?.sha256 ?? null };
    });
}

/** "Qwen2.5-0.5B-Instruct + instilled-100": a model of a run, named with its adapter. */
export function modelWithAdapterName(m: Pick<ModelRef, 'id' | 'adapter'>, short: (id: string) => string): string {
  return m.adapter ? adaptedLabel(short(m.id), m.adapter) : short(m.id);
}
