/**
 * Models the user names themselves: a Hugging Face id ("owner/name") or a
 * folder served by this same origin ("/models/tiny-llama", or "tiny-llama"
 * when the page was opened with ?localModels=/models/). A served folder loads
 * with transformers.js's localModelPath and no remote fallback, so a missing
 * file never turns into a request to another host.
 */
export const DTYPE_FILES: Record<string, string> = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  q8: 'onnx/model_quantized.onnx',
  q4: 'onnx/model_q4.onnx',
  q4f16: 'onnx/model_q4f16.onnx',
};

export type ModelSource =
  | { kind: 'hub'; id: string }
  /** A folder on this origin: transformers.js loads `name` from `localModelPath`. */
  | { kind: 'local'; id: string; localModelPath: string; name: string };

const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

/** Where a model id points. `localModels` is the ?localModels= folder, if any. */
export function modelSource(id: string, localModels?: string | null): ModelSource {
  const trimmed = id.trim();
  if (trimmed.startsWith('/') || trimmed.startsWith('./')) {
    const path = trimmed.replace(/^\.\//, '/').replace(/\/+$/, '');
    const cut = path.lastIndexOf('/');
    return { kind: 'local', id: path, localModelPath: path.slice(0, cut + 1) || '/', name: path.slice(cut + 1) };
  }
  if (!HUB_ID.test(trimmed) && localModels) {
    const base = localModels.endsWith('/') ? localModels : `${localModels}/`;
    return { kind: 'local', id: `${base}${trimmed}`, localModelPath: base, name: trimmed };
  }
  return { kind: 'hub', id: trimmed };
}

/** Problems with a typed model id, or null when it looks usable. */
export function checkModelId(id: string, localModels?: string | null): string | null {
  const t = id.trim();
  if (!t) return 'Type a model id.';
  if (/^https?:\/\//.test(t)) return 'Give a Hugging Face id (owner/name) or a folder path on this site (/models/name), not a full URL.';
  if (t.startsWith('/') || t.startsWith('./')) return null;
  if (HUB_ID.test(t)) return null;
  if (localModels) return /^[\w.-]+$/.test(t) ? null : 'A local model name has letters, digits, ".", "_" or "-" only.';
  return 'A Hugging Face id looks like owner/name, e.g. onnx-community/Qwen2.5-0.5B-Instruct; a served folder starts with "/".';
}

export interface LocalProbe {
  ok: boolean;
  /** Model builds present in the folder. */
  dtypes: string[];
  /** Size of each build's ONNX file in MB (2^20 bytes), where the server says. */
  sizeMB?: Record<string, number>;
  error?: string;
  modelType?: string;
}

/** Check a served folder: config.json present, which ONNX builds exist (HEAD requests, same origin only). */
export async function probeLocalModel(source: Extract<ModelSource, { kind: 'local' }>, fetcher: typeof fetch = fetch): Promise<LocalProbe> {
  const base = `${source.localModelPath}${source.name}/`;
  const isFile = (r: Response) => r.ok && !(r.headers.get('content-type') ?? '').includes('text/html');
  let modelType: string | undefined;
  try {
    const cfg = await fetcher(`${base}config.json`, { cache: 'no-store' });
    if (!isFile(cfg)) return { ok: false, dtypes: [], error: `No config.json at ${base}: is the folder served there?` };
    modelType = ((await cfg.json()) as { model_type?: string }).model_type;
  } catch (e) {
    return { ok: false, dtypes: [], error: `Could not read ${base}config.json (${(e as Error).message}).` };
  }
  const found = await Promise.all(
    Object.entries(DTYPE_FILES).map(async ([dtype, file]) => {
      try {
        const r = await fetcher(`${base}${file}`, { method: 'HEAD', cache: 'no-store' });
        const bytes = Number(r.headers.get('content-length'));
        return isFile(r) ? { dtype, mb: bytes > 0 ? bytes / 2 ** 20 : undefined } : null;
      } catch {
        return null;
      }
    }),
  );
  const builds = found.filter((d): d is { dtype: string; mb: number | undefined } => d !== null);
  const dtypes = builds.map((b) => b.dtype);
  if (!dtypes.length) return { ok: false, dtypes, modelType, error: `No ONNX weights under ${base}onnx/.` };
  const sizeMB = Object.fromEntries(builds.filter((b) => b.mb !== undefined).map((b) => [b.dtype, b.mb!]));
  return { ok: true, dtypes, modelType, ...(Object.keys(sizeMB).length ? { sizeMB } : {}) };
}
