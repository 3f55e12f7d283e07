/**
 * A model's files as transformers.js 4.3 finds them (utils/hub.js loadResourceFile), for the
 * files the lab reads itself: the base graph an adapter patches, and the chat template files
 * transformers.js does not read. Order: the cache (a custom cache when one is set, else the
 * browser's `transformers-cache`), then the local folder or served path, then the Hub. A
 * download is stored under the key transformers.js would have stored it under, so a model used
 * once keeps working offline. Runs in the page, a worker and Node.
 */
import { env } from '@huggingface/transformers';
import { isNode } from './adapter-files';

export interface CacheLike {
  match(key: string): Promise<Response | string | undefined>;
  put(key: string, response: Response, progress?: unknown): Promise<void>;
}

const pathJoin = (...parts: string[]) => parts.map((p, i) => (i ? p.replace(/^\/+/, '') : p).replace(/\/+$/, '')).filter(Boolean).join('/');
export const validHubId = (s: string) => /^(\b[\w\-.]+\b\/)?\b[\w\-.]{1,96}\b$/.test(s) && !s.includes('..') && !s.includes('--');

/** The keys transformers.js uses for one of a model's files, in the order it tries them. */
export function modelFileLocations(model: string, file: string): { local: string; remote: string | null } {
  const request = pathJoin(model, file);
  const hub = validHubId(model);
  return {
    local: hub ? pathJoin(env.localModelPath, request) : request,
    remote: hub ? pathJoin(env.remoteHost, env.remotePathTemplate.replaceAll('{model}', model).replaceAll('{revision}', 'main'), file) : null,
  };
}

export async function browserCache(): Promise<Cache | null> {
  if (!env.useBrowserCache || typeof caches === 'undefined') return null;
  try {
    return await caches.open(env.cacheKey);
  } catch {
    return null;
  }
}

/** The cache transformers.js reads first right now (a custom one when set). */
export async function currentCache(): Promise<CacheLike | null> {
  if (env.useCustomCache && env.customCache) return env.customCache as unknown as CacheLike;
  return browserCache();
}

/**
 * A served file is a file: a static server that answers every unknown path with the app's
 * page (an SPA fallback, 200 text/html) has not found it.
 */
const isFile = (file: string, res: Response) => res.ok && (file.endsWith('.html') || !(res.headers.get('content-type') ?? '').includes('text/html'));

/**
 * A model's file through `cache` (pass the cache to read and fill; null for none), then the
 * network; null when no place has it.
 */
export async function modelFileResponse(model: string, file: string, cache: CacheLike | null): Promise<Response | null> {
  const { local, remote } = modelFileLocations(model, file);
  for (const key of [local, remote]) {
    if (!key || !cache) continue;
    const hit = await cache.match(key);
    if (hit instanceof Response) return hit;
  }
  const tries: string[] = [];
  if (env.allowLocalModels || /^https?:/.test(local)) tries.push(local);
  if (remote && env.allowRemoteModels) tries.push(remote);
  for (const url of tries) {
    const res = await fetch(url).catch(() => null);
    if (!res || !isFile(file, res)) continue;
    await cache?.put(url, res.clone()).catch(() => undefined);
    return res;
  }
  return null;
}

/** Node: a model's file on disk (a local folder, env.localModelPath or transformers.js's file cache). */
export async function modelFileNodePath(model: string, file: string): Promise<string | null> {
  const { access } = await import(/* @vite-ignore */ 'node:fs/promises');
  const { join, resolve } = await import(/* @vite-ignore */ 'node:path');
  const candidates = [resolve(model, file), join(env.localModelPath ?? '', model, file)];
  if (env.cacheDir) candidates.push(join(env.cacheDir, model, file));
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

/**
 * Node: the fp32 build's size on disk in MB (onnx/model.onnx and its external data files), or
 * undefined where it is not on disk (a Hub model not downloaded yet): "auto" then loads fp32 only
 * when it fits (chooseBuild's NODE_FP32_MAX_MB).
 */
export async function fp32SizeMBOnDisk(model: string): Promise<number | undefined> {
  if (!isNode) return undefined;
  const onnx = await modelFileNodePath(model, 'onnx/model.onnx');
  if (!onnx) return undefined;
  const { readdir, stat } = await import(/* @vite-ignore */ 'node:fs/promises');
  const { dirname, join } = await import(/* @vite-ignore */ 'node:path');
  const dir = dirname(onnx);
  const names = (await readdir(dir)).filter((n) => n === 'model.onnx' || /^model\.onnx_data(_\d+)?$/.test(n));
  const bytes = (await Promise.all(names.map((n) => stat(join(dir, n))))).reduce((t, s) => t + s.size, 0);
  return bytes / 1e6;
}

/** A small model file's text wherever transformers.js would find it; null where the model has none. */
export async function readModelText(model: string, file: string): Promise<string | null> {
  if (isNode) {
    const p = await modelFileNodePath(model, file);
    const fs = await import(/* @vite-ignore */ 'node:fs/promises');
    if (p) return fs.readFile(p, 'utf8');
    const { remote } = modelFileLocations(model, file);
    if (!remote || !env.allowRemoteModels) return null;
    const res = await modelFileResponse(model, file, env.useCustomCache ? await currentCache() : null);
    if (!res) return null;
    const text = await res.text();
    // Kept where transformers.js's Node file cache keeps the model's other files (offline later).
    if (env.useFSCache && env.cacheDir) {
      const { dirname, join } = await import(/* @vite-ignore */ 'node:path');
      const dest = join(env.cacheDir, model, file);
      await fs.mkdir(dirname(dest), { recursive: true }).then(() => fs.writeFile(dest, text)).catch(() => undefined);
    }
    return text;
  }
  const res = await modelFileResponse(model, file, await currentCache());
  return res ? res.text() : null;
}
