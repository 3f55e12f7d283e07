/**
 * What transformers.js keeps in the browser Cache "transformers-cache": the
 * cached files grouped by model, with sizes, and deleting a model's files.
 * Keys are full URLs: hub files look like
 * https://huggingface.co/{owner}/{name}/resolve/{revision}/{file}; files of a
 * served local folder like {origin}/models/{name}/{file}; onnxruntime's own
 * runtime files (cached by the library) are grouped as "runtime".
 */
export const MODEL_CACHE = 'transformers-cache';

export interface CachedFile {
  url: string;
  bytes: number;
}

export interface CachedModel {
  /** Hub id ("onnx-community/Qwen2.5-0.5B-Instruct") or served folder path ("/models/tiny-llama"). */
  id: string;
  source: 'hub' | 'local' | 'runtime';
  files: CachedFile[];
  bytes: number;
}

const MODEL_FILE = /^(config\.json|generation_config\.json|tokenizer(_config)?\.json|special_tokens_map\.json|vocab\.json|merges\.txt|tokenizer\.model|chat_template\.(json|jinja)|preprocessor_config\.json)$/;

/** Which model a cached URL belongs to. */
export function modelOfCacheUrl(url: string): { id: string; source: CachedModel['source'] } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { id: url, source: 'local' };
  }
  const path = decodeURIComponent(u.pathname);
  const resolve = /^\/(.+?)\/resolve\/[^/]+\//.exec(path);
  if (resolve) return { id: resolve[1], source: 'hub' };
  if (/\/ort-wasm[^/]*\.(mjs|wasm)$/.test(path) || /\.wasm$/.test(path)) return { id: 'onnxruntime (WASM runtime)', source: 'runtime' };
  const onnx = path.indexOf('/onnx/');
  if (onnx > 0) return { id: path.slice(0, onnx), source: 'local' };
  const parts = path.split('/');
  const file = parts.pop() ?? '';
  if (MODEL_FILE.test(file) || file.endsWith('.onnx') || file.endsWith('.onnx_data') || file.endsWith('.json'))
    return { id: parts.join('/') || '/', source: 'local' };
  return { id: parts.join('/') || path, source: 'local' };
}

/** Group cached files by model; largest first. */
export function groupCacheEntries(entries: readonly CachedFile[]): CachedModel[] {
  const groups = new Map<string, CachedModel>();
  for (const e of entries) {
    const { id, source } = modelOfCacheUrl(e.url);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { id, source, files: [], bytes: 0 }));
    g.files.push(e);
    g.bytes += e.bytes;
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes);
}

async function sizeOf(cache: Cache, req: Request): Promise<number> {
  const res = await cache.match(req);
  if (!res) return 0;
  const len = Number(res.headers.get('content-length'));
  if (Number.isFinite(len) && len > 0) return len;
  return (await res.blob()).size;
}

export async function listCachedModels(cacheName = MODEL_CACHE): Promise<CachedModel[]> {
  if (typeof caches === 'undefined' || !(await caches.has(cacheName))) return [];
  const cache = await caches.open(cacheName);
  const keys = await cache.keys();
  const entries = await Promise.all(keys.map(async (req) => ({ url: req.url, bytes: await sizeOf(cache, req) })));
  return groupCacheEntries(entries);
}

/** Delete every cached file of one model (as grouped by listCachedModels). */
export async function deleteCachedModel(id: string, cacheName = MODEL_CACHE): Promise<number> {
  if (typeof caches === 'undefined') return 0;
  const cache = await caches.open(cacheName);
  let n = 0;
  for (const req of await cache.keys()) {
    if (modelOfCacheUrl(req.url).id === id && (await cache.delete(req))) n++;
  }
  return n;
}

/** Whether a catalog or custom model id has files in the cache list. */
export function isCached(models: readonly CachedModel[], id: string): CachedModel | undefined {
  return models.find((m) => m.id === id || m.id.replace(/\/+$/, '') === id.replace(/\/+$/, ''));
}
