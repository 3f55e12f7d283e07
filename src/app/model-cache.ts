/**
 * What transformers.js keeps in the browser Cache "transformers-cache": the
 * cached files grouped by model, with sizes, and deleting a model's files.
 * Keys are full URLs: hub files look like
 * https://huggingface.co/{owner}/{name}/resolve/{revision}/{file}; files of a
 * served local folder like {origin}/models/{name}/{file}; onnxruntime's own
 * runtime files (cached by the library) are grouped as "runtime".
 * WebLLM's own caches ("webllm/model", "webllm/config", "webllm/wasm") are
 * listed by WebLLM model id from our app config's records (below).
 */
import { formatBytes } from './format';

export const MODEL_CACHE = 'transformers-cache';

export interface CachedFile {
  url: string;
  bytes: number;
  /** The Cache Storage cache holding it (WebLLM keeps three); absent = transformers-cache. */
  cache?: string;
}

export interface CachedModel {
  /**
   * Hub id ("onnx-community/Qwen2.5-0.5B-Instruct"), served folder path ("/models/tiny-llama"),
   * or for WebLLM its `model_id` ("Qwen2.5-0.5B-Instruct-q4f32_1-MLC").
   */
  id: string;
  source: 'hub' | 'local' | 'runtime' | 'webllm';
  files: CachedFile[];
  bytes: number;
  /** WebLLM: other `model_id`s of the app config that share these files (the -1k context builds). */
  also?: string[];
  /** WebLLM: files in WebLLM's caches that no record of our app config names. */
  unknown?: boolean;
  /** WebLLM: whether WebLLM's own `hasModelInCache` finds every weight shard (undefined = not asked yet). */
  complete?: boolean;
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

/**
 * What the Models view says of a model's files in the browser. A model folder served by the lab's
 * own site is read from the site each time it loads; the browser may keep its small files only
 * (config, tokenizer), so "in browser · 3.5 MB" would wrongly suggest the weights are stored.
 */
export function storedBadge(c: CachedModel): { text: string; title: string; weights: boolean } {
  const weights = c.files.some((f) => /\.(onnx|onnx_data|safetensors|bin)$|\.onnx_data_\d+$/i.test(f.url.split('?')[0]));
  const size = formatBytes(c.bytes);
  if (weights) return { text: `in browser · ${size}`, title: 'Stored in this browser: it loads without the network.', weights };
  if (c.source === 'local')
    return {
      text: `weights read from this site · ${size} in browser`,
      title: 'A model folder served by the lab itself: its weights are read from the site each time a run loads it (no internet needed); the browser keeps only its small files.',
      weights,
    };
  return { text: `${size} in browser, no weights`, title: 'Only the small files (config, tokenizer) are stored: the weights will be downloaded when a run loads the model.', weights };
}

/** Whether a catalog or custom model id has transformers.js files in the cache list (WebLLM builds: webllmBuildsCached). */
export function isCached(models: readonly CachedModel[], id: string): CachedModel | undefined {
  return models.find((m) => m.source !== 'webllm' && (m.id === id || m.id.replace(/\/+$/, '') === id.replace(/\/+$/, '')));
}

// ---------------------------------------------------------------- WebLLM

/*
 * Where @mlc-ai/web-llm 0.2.86 keeps a model with the default
 * `cacheBackend: "cache"` (lib/index.js: MLCEngine.reloadInternal,
 * asyncLoadTokenizer, hasModelInCache, deleteModelAllInfoInCache; tvmjs
 * ArtifactCache opens `caches.open(scope)` with the scope as the cache name):
 *   "webllm/model"  <model>/resolve/main/tensor-cache.json, params_shard_*.bin
 *                   and tokenizer.json (or tokenizer.model)
 *   "webllm/config" <model>/resolve/main/mlc-chat-config.json (and the
 *                   record's model_manifest, if any)
 *   "webllm/wasm"   the record's `model_lib` URL, as is (not for localhost or
 *                   relative libraries, which are fetched uncached)
 * where <model>/resolve/main/ is the record's `model` URL cleaned by WebLLM's
 * cleanModelUrl (a trailing "/" added, "resolve/main/" appended when the URL
 * has no /resolve/<rev>/). The "indexeddb" and "opfs" backends keep the same
 * URLs elsewhere; the lab uses the default, so only Cache Storage is read here.
 * "tvmjs-cos-hash-meta" belongs to the cross-origin backend only.
 */
export const WEBLLM_CACHES = ['webllm/model', 'webllm/config', 'webllm/wasm'] as const;

/** The fields of a WebLLM ModelRecord (our app config) that say where its files are. */
export interface WebLLMCacheRecord {
  model_id: string;
  model: string;
  model_lib: string;
  model_manifest?: string;
}

/** WebLLM's cleanModelUrl (0.2.86): the base URL every file of the model is resolved against. */
export function webllmModelBase(model: string): string {
  let url = model.endsWith('/') ? model : `${model}/`;
  if (!/.+\/resolve\/.+\//.test(url)) url += 'resolve/main/';
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

const UNKNOWN_WEBLLM = 'other WebLLM files';

/** The record a model URL is named after (".../mlc-ai/<model_id>"), else the first. */
function canonical(records: readonly WebLLMCacheRecord[]): WebLLMCacheRecord {
  return records.find((r) => r.model.replace(/\/+$/, '').split('/').pop() === r.model_id) ?? records[0];
}

/**
 * Group the files in WebLLM's caches by WebLLM model: a file belongs to a
 * record when it lies under the record's cleaned `model` URL, or is its
 * `model_lib`. Records sharing a `model` URL (the -1k context builds) share
 * one group, named after the record the URL is named after, the others in
 * `also`. A library shared by records of different weights goes to a group
 * whose weights are cached. Files no record names are grouped by their
 * repository (".../<owner>/<name>/resolve/...") or as "other WebLLM files",
 * marked `unknown`. Largest first.
 */
export function groupWebLLMEntries(entries: readonly CachedFile[], records: readonly WebLLMCacheRecord[]): CachedModel[] {
  const byBase = new Map<string, WebLLMCacheRecord[]>();
  for (const r of records) {
    const base = webllmModelBase(r.model);
    byBase.set(base, [...(byBase.get(base) ?? []), r]);
  }
  const groups = new Map<string, CachedModel>();
  const add = (id: string, e: CachedFile, extra: Partial<CachedModel> = {}) => {
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { id, source: 'webllm', files: [], bytes: 0, ...extra }));
    g.files.push(e);
    g.bytes += e.bytes;
  };
  const groupOf = (rs: WebLLMCacheRecord[]): { id: string; also?: string[] } => {
    const main = canonical(rs);
    const also = rs.filter((r) => r.model_id !== main.model_id).map((r) => r.model_id);
    return also.length ? { id: main.model_id, also } : { id: main.model_id };
  };
  const libs: CachedFile[] = [];
  for (const e of entries) {
    let best: string | null = null;
    for (const base of byBase.keys()) if (e.url.startsWith(base) && (!best || base.length > best.length)) best = base;
    if (best) {
      const { id, also } = groupOf(byBase.get(best)!);
      add(id, e, also ? { also } : {});
    } else libs.push(e);
  }
  for (const e of libs) {
    const owners = records.filter((r) => r.model_lib === e.url);
    if (owners.length) {
      const bases = [...new Set(owners.map((r) => webllmModelBase(r.model)))].map((b) => groupOf(byBase.get(b)!));
      const pick = bases.find((b) => groups.has(b.id)) ?? bases[0];
      add(pick.id, e, pick.also ? { also: pick.also } : {});
      continue;
    }
    let repo: string | null = null;
    try {
      repo = /^\/([^/]+\/[^/]+)\/resolve\//.exec(decodeURIComponent(new URL(e.url).pathname))?.[1] ?? null;
    } catch {
      repo = null;
    }
    add(repo ?? UNKNOWN_WEBLLM, e, { unknown: true });
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes);
}

/** Every file in WebLLM's Cache Storage caches, with its size and cache name. */
export async function listWebLLMEntries(cacheNames: readonly string[] = WEBLLM_CACHES): Promise<CachedFile[]> {
  if (typeof caches === 'undefined') return [];
  const out: CachedFile[] = [];
  for (const name of cacheNames) {
    if (!(await caches.has(name))) continue;
    const cache = await caches.open(name);
    const keys = await cache.keys();
    out.push(...(await Promise.all(keys.map(async (req) => ({ url: req.url, bytes: await sizeOf(cache, req), cache: name })))));
  }
  return out;
}

/**
 * WebLLM's stored models. `records` (our app config's records; getting them
 * loads web-llm, in a worker) is only called when WebLLM's caches hold files.
 */
export async function listCachedWebLLM(records: () => Promise<readonly WebLLMCacheRecord[]>): Promise<CachedModel[]> {
  const entries = await listWebLLMEntries();
  if (!entries.length) return [];
  return groupWebLLMEntries(entries, await records());
}

/** Delete files from WebLLM's caches (each from the cache it was listed in); returns how many went. */
export async function deleteWebLLMFiles(files: readonly CachedFile[]): Promise<number> {
  if (typeof caches === 'undefined') return 0;
  let n = 0;
  for (const f of files) {
    const names = f.cache ? [f.cache] : WEBLLM_CACHES;
    for (const name of names) if ((await caches.has(name)) && (await (await caches.open(name)).delete(f.url))) n++;
  }
  return n;
}

/**
 * Whether WebLLM's own deleteModelAllInfoInCache can run for a group without
 * the network: it reads the model's tensor-cache.json through the cache and
 * would download it when it is not stored (a load that stopped early).
 */
export function webllmDeleteIsLocal(group: CachedModel): boolean {
  return group.files.some((f) => f.cache === 'webllm/model' && /\/tensor-cache\.json$/.test(f.url));
}

/**
 * Delete a WebLLM model's stored files: through WebLLM's deleteModelAllInfoInCache
 * (`viaWebLLM`, run where web-llm is loaded) for a model of our app config,
 * then whatever of the group is left (WebLLM 0.2.86 keeps tensor-cache.json;
 * unknown files are only deleted here).
 */
export async function deleteCachedWebLLM(group: CachedModel, viaWebLLM: (modelId: string) => Promise<void>): Promise<{ viaWebLLM: boolean; swept: number }> {
  let used = false;
  if (!group.unknown && webllmDeleteIsLocal(group)) {
    await viaWebLLM(group.id);
    used = true;
  }
  const swept = await deleteWebLLMFiles(group.files);
  return { viaWebLLM: used, swept };
}

/** The WebLLM groups of the builds of a model family (`modelIds`: the family's WebLLM model ids). */
export function webllmBuildsCached(models: readonly CachedModel[], modelIds: readonly string[]): CachedModel[] {
  const ids = new Set(modelIds);
  return models.filter((m) => m.source === 'webllm' && !m.unknown && (ids.has(m.id) || m.also?.some((a) => ids.has(a))));
}
