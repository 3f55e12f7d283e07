/**
 * A model of a spec, resolved once on its way to an engine. Where its files are (the hub or a
 * folder served by this site), what the lab knows of it (catalog label and family), which engine
 * runs it and why (with the WebLLM build, when WebLLM does), and how transformers.js loads it
 * (device, build, worker options, adapter) — also when WebLLM fails and transformers.js takes
 * over. The engine provider loads from this value, the UI's engine rows and the run record read
 * its plan; nothing on the way looks the model up again. Pure.
 */
import type { AdapterRef, ModelRef } from '../lib/experiment/spec';
import type { EngineChoiceRecord } from '../lib/engine/types';
import { pickDevice, pickDtype, type DeviceReport } from '../../workers/device';
import { modelSource, type ModelSource } from './local-models';
import { choiceRecord, engineModelInfo, planEngine, type EngineModelInfo, type EnginePlan, type EngineUserChoice } from './engine-choice';

/** transformers.js's options for where a model's files are. */
export interface TransformersSource {
  /** The name transformers.js loads: a hub id, or a folder name under `localModelPath`. */
  model: string;
  transformers: { localModelPath?: string; allowRemoteModels: boolean };
}

/** How transformers.js loads the model: its files, device and build, or why it cannot. */
export type TransformersLoad =
  | (TransformersSource & { ok: true; device: 'webgpu' | 'wasm'; dtype: string; adapter?: AdapterRef })
  | { ok: false; error: unknown };

export interface ResolvedModel {
  key: string;
  id: string;
  /** The name shown for it: catalog label, the spec's label, else the id. */
  name: string;
  source: ModelSource;
  info: EngineModelInfo;
  plan: EnginePlan;
  /** The plan as kept with the run (`RunMeta.engines[key].choice`). */
  choice: EngineChoiceRecord;
  transformers: TransformersLoad;
}

export interface ResolveOptions {
  /** The ?localModels= folder: bare local names, and catalog models are looked for there first. */
  localModels?: string | null;
  /** Model builds known to exist for a model id (catalog or folder probe): lets "auto" pick one that exists. */
  dtypesOf?: (id: string) => readonly string[] | undefined;
  /** Download sizes (MB) of a model's builds, where known: "auto" on WASM takes fp32 only when it is small enough. */
  sizesOf?: (id: string) => Partial<Record<string, number>> | undefined;
  /** What the lab knows of a model (label, family, served folder); the catalog by default. */
  modelInfo?: (id: string) => EngineModelInfo;
}

/** The device and dtype a model will load with, resolving "auto" against what exists. */
export function resolveLoad(
  model: ModelRef,
  report: DeviceReport,
  available?: readonly string[],
  sizeMB?: Partial<Record<string, number>>,
): { device: 'webgpu' | 'wasm' | 'cpu'; dtype: string } {
  const device = pickDevice(model.device, report);
  const dtype = pickDtype(model.dtype, device, report, available && available.length ? available : undefined, sizeMB);
  return { device, dtype };
}

/**
 * transformers.js options for a model's files: served folders load locally, never from the
 * hub; with a ?localModels= folder, hub ids (catalog models) are looked for under it first
 * (`<folder>/<owner>/<name>/`), then on the hub.
 */
export function transformersSource(src: ModelSource, localModels?: string | null): TransformersSource {
  if (src.kind === 'local') return { model: src.name, transformers: { localModelPath: src.localModelPath, allowRemoteModels: false } };
  const base = localModels ? (localModels.endsWith('/') ? localModels : `${localModels}/`) : null;
  return { model: src.id, transformers: { ...(base ? { localModelPath: base } : {}), allowRemoteModels: true } };
}

/** A model of the spec (not simulated, not served by an OpenAI-compatible server) on this device. */
export function resolveModel(model: ModelRef, report: DeviceReport, o: ResolveOptions = {}): ResolvedModel {
  const source = modelSource(model.id, o.localModels);
  const info = o.modelInfo?.(model.id) ?? engineModelInfo(model.id, o.localModels, { label: model.label }, source);
  const name = info.label ?? model.label ?? model.id;
  const plan = planEngine(model.adapter ? { ...info, adapter: model.adapter.id } : info, (model.engine ?? 'auto') as EngineUserChoice, report, model.device);
  let transformers: TransformersLoad;
  try {
    // Resolved now, also when WebLLM runs the model: its fallback loads exactly this.
    const { device, dtype } = resolveLoad(model, report, o.dtypesOf?.(model.id), o.sizesOf?.(model.id));
    transformers = { ok: true, ...transformersSource(source, o.localModels), device: device === 'cpu' ? 'wasm' : device, dtype, ...(model.adapter ? { adapter: model.adapter } : {}) };
  } catch (error) {
    // A device or build this browser lacks: an error only if transformers.js has to run it.
    transformers = { ok: false, error };
  }
  return { key: model.key, id: model.id, name, source, info, plan, choice: choiceRecord(plan), transformers };
}
