/**
 * Reads a PEFT adapter's two files wherever they live (see
 * src/lib/adapters/source.ts for the id forms), and keeps adapters the user
 * picked from disk in the browser's Cache Storage so they survive reloads and
 * work offline. Runs in the page, a worker and Node.
 */
import {
  ADAPTER_CACHE,
  ADAPTER_FILES,
  AdapterError,
  PICKLE_HELP,
  PICKLE_WEIGHTS,
  adapterSource,
  hubFileUrl,
  storedAdapterId,
  storedAdapterUrl,
  type AdapterFiles,
} from '../src/lib/adapters';

export interface LoadedAdapterFiles extends AdapterFiles {
  config: string;
  /** sha-256 of adapter_model.safetensors, hex (recorded with a run). */
  sha256: string;
}

const g = globalThis as { document?: unknown; WorkerGlobalScope?: unknown; process?: { versions?: { node?: string } } };
/** Node (the CLI, tests): local folders are read from disk. */
export const isNode = !!g.process?.versions?.node && !g.document && !g.WorkerGlobalScope;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function openCache(): Promise<Cache | null> {
  if (typeof caches === 'undefined') return null;
  try {
    return await caches.open(ADAPTER_CACHE);
  } catch {
    return null;
  }
}

/** One file, or null when it does not exist. */
type Reader = (file: string) => Promise<Uint8Array | null>;

function nodeReader(dir: string): Reader {
  return async (file) => {
    const { readFile } = await import(/* @vite-ignore */ 'node:fs/promises');
    const { join } = await import(/* @vite-ignore */ 'node:path');
    try {
      return new Uint8Array(await readFile(join(dir.replace(/^file:\/\//, ''), file)));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return null;
      throw new AdapterError('missing_file', `${file} could not be read: ${(e as Error).message}`);
    }
  };
}

/** Fetches `url`, keeping a copy in ADAPTER_CACHE (offline after the first download). */
function urlReader(urlFor: (file: string) => string): Reader {
  return async (file) => {
    const url = urlFor(file);
    const cache = await openCache();
    const hit = await cache?.match(url);
    if (hit) return new Uint8Array(await hit.arrayBuffer());
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new AdapterError('missing_file', `${url} could not be downloaded (offline?): ${(e as Error).message}`);
    }
    if (res.status === 404) return null;
    if (!res.ok) throw new AdapterError('missing_file', `${url} answered HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    await cache?.put(url, new Response(bytes)).catch(() => undefined);
    return bytes;
  };
}

function storedReader(name: string): Reader {
  return async (file) => {
    const cache = await openCache();
    if (!cache) throw new AdapterError('missing_file', 'stored adapters need the browser Cache Storage, which is not available here');
    const hit = await cache.match(storedAdapterUrl(name, file));
    return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
  };
}

function readerFor(id: string, hubHost?: string): Reader {
  const src = adapterSource(id);
  if (src.kind === 'stored') return storedReader(src.location);
  if (src.kind === 'hub') return urlReader((f) => hubFileUrl(src.location, f, hubHost));
  if (src.kind === 'url' || !isNode) {
    const base = src.kind === 'url' ? src.location : new URL(src.location, (globalThis as { location?: { href: string } }).location?.href).href;
    return urlReader((f) => `${base}/${f}`);
  }
  return nodeReader(src.location);
}

/** adapter_config.json + adapter_model.safetensors of `id`; AdapterError when missing or a pickle. */
export async function readAdapterFiles(id: string, opts: { hubHost?: string } = {}): Promise<LoadedAdapterFiles> {
  const read = readerFor(id, opts.hubHost);
  const [config, weights] = await Promise.all([read(ADAPTER_FILES.config), read(ADAPTER_FILES.weights)]);
  if (!config) throw new AdapterError('missing_file', `${id} has no ${ADAPTER_FILES.config}`, ADAPTER_FILES.config);
  if (!weights) {
    if (await read(PICKLE_WEIGHTS).catch(() => null)) throw new AdapterError('missing_file', `${id}: ${PICKLE_HELP}`, PICKLE_WEIGHTS);
    throw new AdapterError('missing_file', `${id} has no ${ADAPTER_FILES.weights}`, ADAPTER_FILES.weights);
  }
  return { config: new TextDecoder().decode(config), weights, sha256: await sha256Hex(weights) };
}

export interface StoredAdapter {
  /** AdapterRef.id to use: `stored:NAME`. */
  id: string;
  name: string;
  /** Bytes of both files. */
  size: number;
}

/**
 * Keeps picked files in the browser (both must be given; a .bin is refused).
 * The files are validated by the caller with buildLoraAdapter before storing, if it wants.
 */
export async function storeAdapter(name: string, files: { config: Blob | Uint8Array | string; weights: Blob | Uint8Array }): Promise<StoredAdapter> {
  const cache = await openCache();
  if (!cache) throw new AdapterError('missing_file', 'this browser has no Cache Storage to keep the adapter in');
  const body = (b: Blob | Uint8Array | string) => (b instanceof Uint8Array ? new Blob([b as Uint8Array<ArrayBuffer>]) : b);
  const config = new Response(body(files.config));
  const weights = new Response(body(files.weights));
  await cache.put(storedAdapterUrl(name, ADAPTER_FILES.config), config);
  await cache.put(storedAdapterUrl(name, ADAPTER_FILES.weights), weights);
  return (await listStoredAdapters()).find((a) => a.name === name)!;
}

export async function listStoredAdapters(): Promise<StoredAdapter[]> {
  const cache = await openCache();
  if (!cache) return [];
  const byName = new Map<string, number>();
  for (const req of await cache.keys()) {
    const m = /^https:\/\/stored-adapters\.invalid\/([^/]+)\/([^/]+)$/.exec(req.url);
    if (!m) continue;
    const name = decodeURIComponent(m[1]);
    const size = Number((await cache.match(req))?.headers.get('content-length') ?? 0) || (await (await cache.match(req))!.clone().arrayBuffer()).byteLength;
    byName.set(name, (byName.get(name) ?? 0) + size);
  }
  return [...byName].map(([name, size]) => ({ id: storedAdapterId(name), name, size }));
}

export async function deleteStoredAdapter(name: string): Promise<void> {
  const cache = await openCache();
  if (!cache) return;
  for (const f of Object.values(ADAPTER_FILES)) await cache.delete(storedAdapterUrl(name, f));
}
