/**
 * Serves "base model + LoRA adapter" to transformers.js under a model id of
 * its own (adaptedModelId): every file is the base model's, except the ONNX
 * graph of the chosen dtype, which is patched at load (src/lib/adapters/patch.ts).
 *
 * The hook is env.customCache (the one place transformers.js lets us serve
 * bytes). Keys of the adapted id are answered here; every other key passes
 * through to the cache that was in place before (a custom cache or the
 * browser's `transformers-cache`), so the base model's files keep their own
 * keys and are never overwritten with patched bytes. Nothing patched is stored:
 * patching takes milliseconds, a second copy of the model would take disk.
 *
 * Memory: the base graph is read into one buffer with room for the patch
 * after it, and patched in place (no second copy). In Node the patched graph
 * is written to a temporary folder, next to links to the base model's
 * external-data files, so onnxruntime-node maps those from disk as usual.
 */
import { env } from '@huggingface/transformers';
import { patchHeadroom, patchOnnxWithLora, type BaseModelConfig, type LoraAdapter, type PatchResult } from '../src/lib/adapters';
import { isNode } from './adapter-files';

interface CacheLike {
  match(key: string): Promise<Response | string | undefined>;
  put(key: string, response: Response, progress?: unknown): Promise<void>;
}

export interface AdaptedModel {
  /** The id to pass to from_pretrained. */
  id: string;
  /** The base model id, URL or folder. */
  base: string;
  /** The graph to patch, relative to the model folder (onnx/model_q4.onnx …). */
  onnxFile: string;
  adapter: LoraAdapter;
  config: BaseModelConfig;
  /** Filled by preparePatchedGraph. */
  result?: PatchResult & { ms: number };
  /** What the cache hook answers for onnxFile: the patched bytes (browser) or their path (Node). */
  served?: Uint8Array | string;
  /** Node: the temporary folder holding the patched graph. */
  tmpDir?: string;
}

const registered = new Map<string, AdaptedModel>();
let previous: { use: boolean; cache: CacheLike | null } | null = null;

/** Model-relative file of an adapted-id key, or null when the key is not ours. */
function parseKey(key: string): { model: AdaptedModel; file: string } | null {
  for (const model of registered.values()) {
    const at = key.indexOf(`${model.id}/`);
    if (at < 0) continue;
    const file = key.slice(at + model.id.length + 1).replace(/^resolve\/[^/]+\//, '');
    return { model, file };
  }
  return null;
}

const pathJoin = (...parts: string[]) => parts.map((p, i) => (i ? p.replace(/^\/+/, '') : p).replace(/\/+$/, '')).filter(Boolean).join('/');
const validHubId = (s: string) => /^(\b[\w\-.]+\b\/)?\b[\w\-.]{1,96}\b$/.test(s) && !s.includes('..') && !s.includes('--');

/** The keys transformers.js uses for one of the base model's files, in the order it tries them. */
function baseLocations(base: string, file: string): { local: string; remote: string | null } {
  const request = pathJoin(base, file);
  const hub = validHubId(base);
  return {
    local: hub ? pathJoin(env.localModelPath, request) : request,
    remote: hub ? pathJoin(env.remoteHost, env.remotePathTemplate.replaceAll('{model}', base).replaceAll('{revision}', 'main'), file) : null,
  };
}

async function browserCache(): Promise<Cache | null> {
  if (!env.useBrowserCache || typeof caches === 'undefined') return null;
  try {
    return await caches.open(env.cacheKey);
  } catch {
    return null;
  }
}

/**
 * The base model's file as transformers.js would get it: the cache first, then
 * the local path / served folder, then the Hub; a download is stored under the
 * base model's own key, exactly as transformers.js would have stored it.
 */
async function baseResponse(base: string, file: string): Promise<Response | null> {
  const { local, remote } = baseLocations(base, file);
  const inner = previous?.use ? previous.cache : null;
  for (const key of [local, remote]) {
    if (!key) continue;
    const hit = inner ? await inner.match(key) : await (await browserCache())?.match(key);
    if (hit instanceof Response) return hit;
  }
  const tries: string[] = [];
  if (env.allowLocalModels && !/^https?:/.test(local)) tries.push(local);
  if (/^https?:/.test(local)) tries.push(local);
  if (remote && env.allowRemoteModels) tries.push(remote);
  for (const url of tries) {
    const res = await fetch(url).catch(() => null);
    if (!res || !res.ok) continue;
    const store = inner ?? (await browserCache());
    if (store) {
      await store.put(url, res.clone()).catch(() => undefined);
    }
    return res;
  }
  return null;
}

/** Node: the base model's file on disk (a local folder, env.localModelPath or transformers.js's file cache). */
async function baseNodePath(base: string, file: string): Promise<string | null> {
  const { access } = await import(/* @vite-ignore */ 'node:fs/promises');
  const { join, resolve } = await import(/* @vite-ignore */ 'node:path');
  const candidates = [resolve(base, file), join(env.localModelPath ?? '', base, file)];
  if (env.cacheDir) candidates.push(join(env.cacheDir, base, file));
  for (const p of candidates) {
    try {
      await access(p);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** Reads a response body into a buffer with `headroom` spare bytes after it (one copy). */
async function readWithHeadroom(res: Response, headroom: number): Promise<{ buffer: Uint8Array; length: number }> {
  const declared = Number(res.headers.get('content-length'));
  if (!res.body || !Number.isFinite(declared) || declared <= 0) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    const buffer = new Uint8Array(bytes.length + headroom);
    buffer.set(bytes);
    return { buffer, length: bytes.length };
  }
  let buffer = new Uint8Array(declared + headroom);
  let length = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > buffer.length) {
      const grown = new Uint8Array((length + value.length) * 2);
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    buffer.set(value, length);
    length += value.length;
  }
  return { buffer, length };
}

/**
 * Reads the base graph and patches it, before anything is unloaded: an adapter
 * that does not fit fails here (AdapterError), with the loaded model untouched.
 */
export async function preparePatchedGraph(model: AdaptedModel): Promise<void> {
  model.served = await patchedGraph(model);
}

async function patchedGraph(model: AdaptedModel): Promise<Uint8Array | string> {
  const headroom = patchHeadroom(model.adapter);
  if (isNode) {
    const fs = await import(/* @vite-ignore */ 'node:fs/promises');
    const { join, dirname, basename } = await import(/* @vite-ignore */ 'node:path');
    const { tmpdir } = await import(/* @vite-ignore */ 'node:os');
    const src = await baseNodePath(model.base, model.onnxFile);
    if (!src) throw new Error(`[model_not_found] ${model.base}: ${model.onnxFile} not found`);
    const t0 = performance.now();
    const handle = await fs.open(src, 'r');
    const { size } = await handle.stat();
    const buffer = new Uint8Array(size + headroom);
    await handle.read(buffer, 0, size, 0);
    await handle.close();
    const result = patchOnnxWithLora(buffer, size, model.adapter, { config: model.config });
    model.result = { ...result, ms: performance.now() - t0 };
    const dir = await fs.mkdtemp(join(tmpdir(), 'lora-adapted-'));
    model.tmpDir = dir;
    const out = join(dir, basename(model.onnxFile));
    await fs.writeFile(out, result.bytes);
    // External data stays where it is: hard-link every data file of the base's onnx folder
    // (onnxruntime refuses symlinks out of the model's folder); copy across filesystems.
    const srcDir = dirname(src);
    for (const f of await fs.readdir(srcDir))
      if (f.includes('.onnx_data')) await fs.link(join(srcDir, f), join(dir, f)).catch(() => fs.copyFile(join(srcDir, f), join(dir, f)));
    return out;
  }
  const res = await baseResponse(model.base, model.onnxFile);
  if (!res) throw new Error(`[model_not_found] ${model.base}: ${model.onnxFile} not found`);
  const t0 = performance.now();
  const { buffer, length } = await readWithHeadroom(res, headroom);
  const result = patchOnnxWithLora(buffer, length, model.adapter, { config: model.config });
  model.result = { ...result, ms: performance.now() - t0 };
  return result.bytes;
}

const overlay: CacheLike = {
  async match(key) {
    const ours = parseKey(key);
    if (!ours) return previous?.use ? previous.cache?.match(key) : (await browserCache())?.match(key);
    const { model, file } = ours;
    if (file === model.onnxFile) {
      const served = model.served ?? (await patchedGraph(model));
      // Hand the bytes over once (the Response holds them now), so no second copy lingers here.
      if (typeof served !== 'string') model.served = undefined;
      return typeof served === 'string' ? served : new Response(served as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(served.length) } });
    }
    if (isNode) {
      const p = await baseNodePath(model.base, file);
      if (!p) return file.endsWith('.json') ? new Response('{}') : undefined;
      // JSON is read as bytes, ONNX files as paths.
      if (file.endsWith('.onnx') || file.includes('.onnx_data')) return p;
      const { readFile } = await import(/* @vite-ignore */ 'node:fs/promises');
      return new Response(new Uint8Array(await readFile(p)));
    }
    const res = await baseResponse(model.base, file);
    // A missing optional JSON file reads as {} (what transformers.js makes of a missing one).
    return res ?? (file.endsWith('.json') ? new Response('{}') : undefined);
  },
  async put(key, response, progress) {
    // Never store anything under an adapted id: only pass base keys through.
    if (parseKey(key)) return;
    if (previous?.use) return previous.cache?.put(key, response, progress);
    await (await browserCache())?.put(key, response);
  },
};

/** Registers an adapted model; from_pretrained(model.id) then loads it. Call the returned function when done. */
export function registerAdaptedModel(model: AdaptedModel): () => Promise<void> {
  if (!previous) {
    previous = { use: env.useCustomCache, cache: env.customCache as CacheLike | null };
    env.customCache = overlay as unknown as typeof env.customCache;
    env.useCustomCache = true;
  }
  registered.set(model.id, model);
  return async () => {
    registered.delete(model.id);
    if (!registered.size && previous) {
      env.useCustomCache = previous.use;
      env.customCache = previous.cache as unknown as typeof env.customCache;
      previous = null;
    }
    if (model.tmpDir) {
      const { rm } = await import(/* @vite-ignore */ 'node:fs/promises');
      await rm(model.tmpDir, { recursive: true, force: true });
    }
  };
}

/** The ONNX file transformers.js picks for a dtype (engine-facts: fp32 model.onnx, q4 model_q4.onnx …). */
export function onnxFileFor(dtype: string): string {
  const suffix: Record<string, string> = { fp32: '', fp16: '_fp16', q8: '_quantized', int8: '_int8', uint8: '_uint8', q4: '_q4', q4f16: '_q4f16', bnb4: '_bnb4' };
  return `onnx/model${suffix[dtype] ?? ''}.onnx`;
}
