/**
 * Where adapter files come from, and the names under which the engine serves
 * an adapted model. Pure: the reading itself is in workers/adapter-files.ts.
 *
 * An AdapterRef.id is one of
 *  - `stored:NAME` — files the user picked from disk, kept in the browser's
 *    Cache Storage bucket ADAPTER_CACHE under storedAdapterUrl(NAME, file)
 *    (they work offline and after a reload; the page and the worker both read
 *    that bucket);
 *  - an http(s) URL or a path starting with `/` or `.` — a folder served by
 *    the site (browser) or a local folder (Node);
 *  - an absolute filesystem path (Node);
 *  - otherwise a Hugging Face id `owner/name` (downloaded once, then kept in
 *    ADAPTER_CACHE under its URL).
 * Each folder holds adapter_config.json + adapter_model.safetensors.
 */

export const ADAPTER_FILES = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' } as const;
/** PyTorch pickles: refused, with how to convert. */
export const PICKLE_WEIGHTS = 'adapter_model.bin';
export const PICKLE_HELP =
  'adapter_model.bin is a PyTorch pickle, which the lab does not read (unsafe and not portable). Convert it once in Python: ' +
  '`from peft import PeftModel; PeftModel.from_pretrained(base_model, "ADAPTER_DIR").save_pretrained("OUT_DIR", safe_serialization=True)` ' +
  '(or `safetensors.torch.save_file(torch.load("adapter_model.bin"), "adapter_model.safetensors")`).';

/** Cache Storage bucket holding stored (picked) adapters and downloaded Hub adapters. */
export const ADAPTER_CACHE = 'introspection-lab-adapters';
export const STORED_PREFIX = 'stored:';
/** A synthetic origin: Cache Storage keys must be http(s) URLs, and these must never collide with real ones. */
export const STORED_ORIGIN = 'https://stored-adapters.invalid';

export type AdapterSourceKind = 'stored' | 'url' | 'path' | 'hub';

export interface AdapterSource {
  kind: AdapterSourceKind;
  /** Folder URL or path (no trailing slash), or the stored name / Hub id. */
  location: string;
}

export function storedAdapterId(name: string): string {
  return `${STORED_PREFIX}${name}`;
}

/** Cache Storage key of one file of a stored adapter. */
export function storedAdapterUrl(name: string, file: string): string {
  return `${STORED_ORIGIN}/${encodeURIComponent(name)}/${file}`;
}

export function adapterSource(id: string): AdapterSource {
  const trimmed = id.trim().replace(/\/+$/, '');
  if (trimmed.startsWith(STORED_PREFIX)) return { kind: 'stored', location: trimmed.slice(STORED_PREFIX.length) };
  if (/^https?:\/\//.test(trimmed)) return { kind: 'url', location: trimmed };
  if (/^(\/|\.{1,2}(\/|$)|[A-Za-z]:[\\/]|file:)/.test(trimmed)) return { kind: 'path', location: trimmed };
  if (/^[\w.-]+\/[\w.-]+$/.test(trimmed)) return { kind: 'hub', location: trimmed };
  return { kind: 'path', location: trimmed };
}

/** The URL of a Hub adapter file (same host layout transformers.js uses). */
export function hubFileUrl(id: string, file: string, host = 'https://huggingface.co'): string {
  return `${host.replace(/\/+$/, '')}/${id}/resolve/main/${file}`;
}

/** FNV-1a over a string, as 8 hex digits (stable names, not security). */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The model id under which the engine loads base model + adapter: a name of
 * its own, so transformers.js's caches and in-flight file loads never mix the
 * patched graph with the base model's files (which keep their own keys).
 */
export function adaptedModelId(base: string, adapterId: string, scale: number, weightsSha256: string): string {
  return `lora-adapted/${shortHash(`${base}\n${adapterId}\n${scale}\n${weightsSha256}`)}`;
}
