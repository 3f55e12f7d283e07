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
 * Memory: in the browser the base graph is read into one buffer with room for
 * the patch after it, and patched in place (no second copy by the patcher;
 * transformers.js then copies what it is served, as it copies any file). In
 * Node the weights are never read: only the graph's structure is, the file is
 * copied by the kernel into a temporary folder, the renames are written at
 * their offsets and the patch appended; the base model's external-data files
 * are hard-linked next to it.
 */
import { env } from '@huggingface/transformers';
import { AdapterError, PbReader, patchHeadroom, patchOnnxWithLora, planLoraPatch, type BaseModelConfig, type LoraAdapter, type PatchResult } from '../src/lib/adapters';
import { isNode } from './adapter-files';
import { browserCache, modelFileNodePath, modelFileResponse, type CacheLike } from './model-files';

export interface AdaptedModel {
  /** The id to pass to from_pretrained. */
  id: string;
  /** The base model id, URL or folder. */
  base: string;
  /** The graph to patch, relative to the model folder (onnx/model_q4.onnx …). */
  onnxFile: string;
  adapter: LoraAdapter;
  config: BaseModelConfig;
  /** Filled by preparePatchedGraph (without the bytes, so they can be freed once served). */
  result?: Omit<PatchResult, 'bytes'> & { ms: number };
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

/**
 * The base model's file as transformers.js would get it, bypassing our overlay: through the
 * cache that was in place before it (a download is stored under the base model's own key).
 */
async function baseResponse(base: string, file: string): Promise<Response | null> {
  return modelFileResponse(base, file, previous?.use ? previous.cache : await browserCache());
}

type FileHandle = Awaited<ReturnType<typeof import('node:fs/promises').open>>;

/**
 * Node: the model file's structure without its tensor payloads. The buffer has
 * the file's size but only message headers, nodes, names and shapes are read
 * into it; raw_data and the other numeric payloads stay on disk (and the
 * untouched pages of the buffer are never allocated by the OS).
 */
async function readStructure(fh: FileHandle, size: number): Promise<Uint8Array> {
  const buf = new Uint8Array(size);
  // Reads in windows of 64 KiB: nodes lie next to each other, so one read covers hundreds;
  // at most one window's worth of each skipped payload is read.
  let winStart = 0;
  let winEnd = 0;
  const fill = async (pos: number, end: number) => {
    if (end <= pos || (pos >= winStart && end <= winEnd)) return;
    const to = Math.min(size, Math.max(end, pos + 65536));
    await fh.read(buf, pos, to - pos, pos);
    [winStart, winEnd] = [pos, to];
  };
  const bad = (msg: string) => new AdapterError('layout', `the ONNX model could not be read: ${msg}`);
  // level 0: ModelProto, 1: GraphProto, 2: TensorProto (initializer)
  const walk = async (start: number, end: number, level: number): Promise<void> => {
    let pos = start;
    while (pos < end) {
      await fill(pos, Math.min(end, pos + 20));
      const r = new PbReader(buf, pos, end, bad);
      const { field, wire } = r.tag();
      if (wire !== 2) {
        r.skip(wire);
        pos = r.pos;
        continue;
      }
      const len = r.varint();
      const body = r.pos;
      if (len > end - body) throw bad('length-delimited field runs past its message');
      if (level === 0 && field === 7) await walk(body, body + len, 1);
      else if (level === 1 && field === 5) await walk(body, body + len, 2);
      // A tensor's dims (1), name (8), external data (13) are read; its numbers are not.
      else if (level < 2 || field === 1 || field === 8 || field === 13) await fill(body, body + len);
      pos = body + len;
    }
  };
  await walk(0, size, 0);
  return buf;
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
  if (isNode) {
    const fs = await import(/* @vite-ignore */ 'node:fs/promises');
    const { join, dirname, basename } = await import(/* @vite-ignore */ 'node:path');
    const { tmpdir } = await import(/* @vite-ignore */ 'node:os');
    const src = await modelFileNodePath(model.base, model.onnxFile);
    if (!src) throw new Error(`[model_not_found] ${model.base}: ${model.onnxFile} not found`);
    const t0 = performance.now();
    // Only the graph's structure is read; the weights stay on disk and are copied by the kernel.
    const handle = await fs.open(src, 'r');
    let plan;
    let size: number;
    try {
      size = (await handle.stat()).size;
      plan = planLoraPatch(await readStructure(handle, size), size, model.adapter, { config: model.config });
    } finally {
      await handle.close();
    }
    const dir = await fs.mkdtemp(join(tmpdir(), 'lora-adapted-'));
    model.tmpDir = dir;
    const out = join(dir, basename(model.onnxFile));
    await fs.copyFile(src, out);
    const w = await fs.open(out, 'r+');
    try {
      for (const r of plan.renames) await w.write(r.bytes, 0, r.bytes.length, r.offset);
      await w.write(plan.appended, 0, plan.appended.length, size);
    } finally {
      await w.close();
    }
    model.result = { applied: plan.applied, addedBytes: plan.appended.length, inPlace: true, ms: performance.now() - t0 };
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
  const { buffer, length } = await readWithHeadroom(res, patchHeadroom(model.adapter, Number(res.headers.get('content-length')) || 0));
  const { bytes, ...result } = patchOnnxWithLora(buffer, length, model.adapter, { config: model.config });
  model.result = { ...result, ms: performance.now() - t0 };
  return bytes;
}

/** A Response with its length declared (transformers.js warns and guesses without one). */
const bytesResponse = (b: Uint8Array) => new Response(b as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(b.length) } });

const overlay: CacheLike = {
  async match(key) {
    const ours = parseKey(key);
    if (!ours) return previous?.use ? previous.cache?.match(key) : (await browserCache())?.match(key);
    const { model, file } = ours;
    if (file === model.onnxFile) {
      const served = model.served ?? (await patchedGraph(model));
      // Hand the bytes over once (the Response holds them now), so no second copy lingers here.
      if (typeof served !== 'string') model.served = undefined;
      return typeof served === 'string' ? served : bytesResponse(served);
    }
    if (isNode) {
      const p = await modelFileNodePath(model.base, file);
      if (!p) return file.endsWith('.json') ? bytesResponse(new TextEncoder().encode('{}')) : undefined;
      // JSON is read as bytes, ONNX files as paths.
      if (file.endsWith('.onnx') || file.includes('.onnx_data')) return p;
      const { readFile } = await import(/* @vite-ignore */ 'node:fs/promises');
      return bytesResponse(new Uint8Array(await readFile(p)));
    }
    const res = await baseResponse(model.base, file);
    // A missing optional JSON file reads as {} (what transformers.js makes of a missing one).
    return res ?? (file.endsWith('.json') ? bytesResponse(new TextEncoder().encode('{}')) : undefined);
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
