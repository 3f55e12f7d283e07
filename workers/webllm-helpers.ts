/**
 * Pure pieces of the WebLLM engine, kept apart so they can be tested without
 * the library: load-progress parsing, the report schema and grammar, the
 * decision arithmetic (full logits or top-k log-probabilities), error mapping,
 * and the app config. Only types come from @mlc-ai/web-llm here.
 */
import type { AppConfig, InitProgressReport } from '@mlc-ai/web-llm';
import type { ChatMessage } from '../src/lib/prompts';
import { REPORT_MAX, REPORT_MIN } from '../src/lib/reports';
import type { ChoiceScore, LoadProgress } from '../src/lib/engine/types';
import { EngineError } from '../src/lib/engine/types';
import {
  findWebLLMModel,
  needsShaderF16,
  pickWebLLMModel,
  webllmFamilyOf,
  type WebLLMModelEntry,
} from '../src/lib/models/webllm-catalog';

// ---------------------------------------------------------------- progress

/*
 * WebLLM 0.2.86 reports `{progress, timeElapsed, text}`; `progress` restarts at
 * each phase, so the phase is read from the text. The texts, from
 * node_modules/@mlc-ai/web-llm/lib/index.js (tvmjs fetchTensorCacheInternal,
 * asyncLoadWebGPUPipelines, MLCEngine.reloadInternal):
 *   "Start to fetch params"
 *   "Fetching param cache[i/n]: XMB fetched. P% completed, T secs elapsed. It can take a while ..."
 *   "Loading model from cache[i/n]: XMB loaded. P% completed, T secs elapsed."
 *   "Loading GPU shader modules[i/n]: P% completed, T secs elapsed."
 *   "Finish loading on WebGPU - <adapter>"
 * The config, model library and tokenizer are fetched before these without
 * any report.
 */
const FETCHING = /^Fetching param cache\[(\d+)\/(\d+)\]:\s*(\d+)MB fetched/;
const FROM_CACHE = /^Loading model from cache\[(\d+)\/(\d+)\]:\s*(\d+)MB loaded/;
const SHADERS = /^Loading GPU shader modules\[(\d+)\/(\d+)\]/;
const MB = 1024 * 1024;

function unit(x: number): number | undefined {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : undefined;
}

export function parseWebLLMProgress(report: InitProgressReport): LoadProgress {
  const text = report.text ?? '';
  const progress = unit(report.progress);
  let m = FETCHING.exec(text);
  if (m) {
    const loadedBytes = Number(m[3]) * MB;
    return {
      phase: 'download',
      progress,
      loadedBytes,
      totalBytes: progress ? Math.round(loadedBytes / progress) : undefined,
      text,
    };
  }
  m = FROM_CACHE.exec(text);
  if (m) return { phase: 'cache', progress, loadedBytes: Number(m[3]) * MB, text };
  if (SHADERS.test(text)) return { phase: 'compile', progress, text };
  if (text.startsWith('Finish loading')) return { phase: 'init', progress: 1, text };
  return { phase: 'init', progress, text };
}

// ---------------------------------------------------------------- reports

/**
 * The JSON schema of a self-report: exactly the attribute names, each an
 * integer in [-100, 100], all required, nothing else. Sent as
 * `response_format: {type: "json_object", schema: JSON.stringify(schema)}`;
 * XGrammar also fixes the key order to the order of `properties`.
 */
export function reportSchema(names: readonly string[]) {
  if (new Set(names).size !== names.length) throw new EngineError('unsupported', 'attribute names must be distinct');
  return {
    type: 'object' as const,
    properties: Object.fromEntries(names.map((n) => [n, { type: 'integer' as const, minimum: REPORT_MIN, maximum: REPORT_MAX }])),
    required: [...names],
    additionalProperties: false as const,
  };
}

/**
 * Whether XGrammar 0.1.27 (bundled in web-llm 0.2.86) handles these names in a
 * JSON schema. Its schema-to-grammar conversion does not escape property
 * names: a `"`, `\` or newline aborts the WASM module (which then stays
 * broken for the session), and a tab or other control character compiles to a
 * grammar that cannot produce the name's JSON form. Such names go through
 * reportGrammar instead, which escapes them (test/webllm-schema.test.ts).
 */
export function schemaSafeNames(names: readonly string[]): boolean {
  return names.every((n) => !/[\u0000-\u001f"\\]/.test(n));
}

/**
 * An EBNF string literal (XGrammar syntax: C-style escapes), as a sequence of
 * literals with each non-ASCII character on its own: XGrammar 0.1.27's token
 * matcher rejects a token holding a multi-byte character that is followed by
 * more text inside the same literal ("éb"), although a string-level check
 * accepts it (test/webllm-schema.test.ts).
 */
function ebnfLiteral(s: string): string {
  const quote = (t: string) => `"${t.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
  const parts = s.match(/[\x00-\x7f]+|[^\x00-\x7f]/gu) ?? [''];
  return parts.map(quote).join(' ');
}

/**
 * The same report as an EBNF grammar on one line with fixed separators:
 * `{"a": 12, "b": -3}`. XGrammar's JSON-schema grammar allows unlimited
 * whitespace between tokens, and a small model can loop on whitespace until
 * max_tokens; this grammar leaves no such room. Used when a schema-constrained
 * reply ran out of tokens (or when chosen outright).
 */
export function reportGrammar(names: readonly string[]): string {
  reportSchema(names); // same validation
  if (!names.length) return 'root ::= "{}"\n';
  const fields = names.map((n, i) => `${ebnfLiteral(i === 0 ? '{' : ', ')} ${ebnfLiteral(JSON.stringify(n))} ": " value`);
  return `root ::= ${fields.join(' ')} "}"\nvalue ::= "0" | "-"? [1-9] [0-9]? | "-"? "100"\n`;
}

/** Generous token budget of a constrained report (keys, values, separators, pretty-printing). */
export function constrainedBudget(names: readonly string[]): number {
  return 48 + names.reduce((s, n) => s + 16 + n.length, 0);
}

/** Qwen3 with thinking off prefixes the reply with an empty `<think></think>` block: drop it. */
export function stripThinking(text: string): string {
  return text.replace(/^\s*<think>[\s\S]*?<\/think>\s*/, '');
}

/** Templates without a system turn (Gemma 2): fold the system prompt into the first user turn, as the transformers engine does. */
export function foldSystem(messages: readonly ChatMessage[]): ChatMessage[] {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const rest = messages.filter((m) => m.role !== 'system').map((m) => ({ ...m }));
  if (!system.length) return rest;
  const first = rest.findIndex((m) => m.role === 'user');
  if (first < 0) return [{ role: 'user', content: system.join('\n\n') }, ...rest];
  rest[first] = { ...rest[first], content: `${system.join('\n\n')}\n\n${rest[first].content}` };
  return rest;
}

// ---------------------------------------------------------------- decisions

function logSumExp(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/** A decision from the labels' log-probabilities (of the full softmax, or top-k estimates). */
export function scoreFromLabelLogprobs(labels: string[], logprobs: number[], basis: ChoiceScore['basis']): ChoiceScore {
  return finish(labels, logprobs, basis);
}

function finish(labels: string[], logprobs: number[], basis: ChoiceScore['basis']): ChoiceScore {
  const labelMass = logprobs.reduce((s, l) => s + Math.exp(l), 0);
  // Normalise in log space so tiny masses still give exact relative probabilities.
  const lmax = Math.max(...logprobs);
  const rel = logprobs.map((l) => Math.exp(l - lmax));
  const z = rel.reduce((a, b) => a + b, 0);
  const probs = rel.map((r) => r / z);
  const best = probs.indexOf(Math.max(...probs));
  return { labels, logprobs, probs, labelMass, choice: labels[best], basis };
}

/** A decision from the full next-token logits (softmax over the whole vocabulary). */
export function scoreFromLogits(labels: string[], labelIds: number[], logits: ArrayLike<number>): ChoiceScore {
  const lse = logSumExp(logits);
  return finish(labels, labelIds.map((id) => logits[id] - lse), 'full');
}

export interface TopLogprob {
  token: string;
  logprob: number;
}

/**
 * A decision from WebLLM's top-k log-probabilities (k ≤ 5). A label is found
 * by its token text (exactly, else ignoring surrounding spaces). A label
 * missing from the top k gets an upper bound, not a measurement: its
 * probability is at most the k-th listed one and at most the mass left
 * outside the list, shared among the missing labels —
 * min(p_k, (1 − Σ listed) / missing). Such labels are named in `estimated`.
 */
export function scoreFromTopLogprobs(labels: string[], top: readonly TopLogprob[]): ChoiceScore & { estimated: string[] } {
  if (!top.length) throw new EngineError('unknown', 'WebLLM returned no log-probabilities');
  const used = new Set<number>();
  const found = labels.map((label) => {
    let i = top.findIndex((t, j) => !used.has(j) && t.token === label);
    if (i < 0) i = top.findIndex((t, j) => !used.has(j) && t.token.trim() === label.trim() && t.token.trim() !== '');
    if (i >= 0) used.add(i);
    return i;
  });
  const listed = top.map((t) => Math.exp(t.logprob));
  const remaining = Math.max(0, 1 - listed.reduce((a, b) => a + b, 0));
  const floor = Math.min(...listed);
  const missing = found.filter((i) => i < 0).length;
  const bound = missing ? Math.max(Number.MIN_VALUE, Math.min(floor, remaining / missing)) : 0;
  const logprobs = found.map((i) => (i >= 0 ? Math.min(0, top[i].logprob) : Math.log(bound)));
  return { ...finish(labels, logprobs, 'top-k'), estimated: labels.filter((_, k) => found[k] < 0) };
}

/**
 * How far the log-softmax of captured logits is from WebLLM's own top-k
 * log-probabilities of the same step (compared by rank, so no token ids are
 * needed): a check that the logit processor saw the logits WebLLM sampled
 * from, at the right position.
 */
export function topLogprobsAgreement(logits: ArrayLike<number>, top: readonly TopLogprob[]): number {
  const k = top.length;
  if (!k) return 0;
  const best: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (best.length < k || x > best[best.length - 1]) {
      let j = best.length < k ? best.length : k - 1;
      best[j] = x;
      while (j > 0 && best[j] > best[j - 1]) {
        [best[j], best[j - 1]] = [best[j - 1], best[j]];
        j--;
      }
    }
  }
  const lse = logSumExp(logits);
  let worst = 0;
  for (let i = 0; i < k; i++) worst = Math.max(worst, Math.abs(best[i] - lse - top[i].logprob));
  return worst;
}

// ---------------------------------------------------------------- models

/**
 * A dtype request as the precision of a WebLLM build: true for 16-bit (q4f16_1, q0f16), false
 * for 32-bit (q4f32_1, q0f32, and plain "q4"), null for 'auto'. The family's build of that
 * precision is loaded, whatever its weight quantisation (SmolLM2-135M has q0 builds only).
 */
function requestedHalf(dtype: string | undefined): boolean | null {
  if (!dtype || dtype === 'auto') return null;
  if (/^q[04]f16(_1)?$/.test(dtype)) return true;
  if (/^(q[04]f32(_1)?|q4)$/.test(dtype)) return false;
  throw new EngineError('unsupported', `WebLLM builds are q4f16_1 / q0f16 (16-bit) or q4f32_1 / q0f32 (32-bit), not ${dtype}`);
}

/**
 * The catalog build to load for a model id (a WebLLM `model_id`, or any id of
 * a catalog family, e.g. the paired transformers.js repository) and a dtype.
 */
export function resolveWebLLMModel(model: string, dtype: string | undefined, shaderF16: boolean): WebLLMModelEntry {
  let entry = findWebLLMModel(model);
  if (!entry) {
    const family = webllmFamilyOf(model);
    if (!family) throw new EngineError('model_not_found', `"${model}" is not a WebLLM model of this lab's catalog`);
    entry = pickWebLLMModel(family.family, requestedHalf(dtype) ?? shaderF16);
    if (!entry) throw new EngineError('model_not_found', `no WebLLM build of ${family.name}`);
  }
  if (needsShaderF16(entry) && !shaderF16)
    throw new EngineError('unsupported', `${entry.modelId} needs the shader-f16 GPU feature, which this device lacks; use its 32-bit build`);
  return entry;
}

/** Our app config: the prebuilt records of the catalog's models (copies), with the chosen cache backend. */
export function buildAppConfig(prebuilt: AppConfig, modelIds: readonly string[], cacheBackend?: AppConfig['cacheBackend']): AppConfig {
  const wanted = new Set(modelIds);
  const model_list = prebuilt.model_list.filter((r) => wanted.has(r.model_id)).map((r) => JSON.parse(JSON.stringify(r)) as typeof r);
  return cacheBackend ? { model_list, cacheBackend } : { model_list };
}

// ---------------------------------------------------------------- errors

const BY_NAME: Record<string, EngineError['code']> = {
  ModelNotFoundError: 'model_not_found',
  WebGPUNotAvailableError: 'webgpu_unavailable',
  WebGPUNotFoundError: 'webgpu_unavailable',
  ShaderF16SupportError: 'unsupported',
  FeatureSupportError: 'unsupported',
  ContextWindowSizeExceededError: 'unsupported',
  MissingModelError: 'bad_model', // MissingModelWasmError's name
  UnsupportedTokenizerFilesError: 'bad_model',
  IntegrityError: 'bad_model',
  ArtifactManifestError: 'bad_model',
  AbortError: 'cancelled',
};

/**
 * Map a WebLLM error to an EngineError. WebLLM names its errors (`err.name`);
 * a lost device while loading is almost always memory (WebLLM's own message
 * says so). Fetch failures through the Cache API read "Request failed".
 */
export function webllmError(e: unknown, during: 'load' | 'run'): EngineError {
  if (e instanceof EngineError) return e;
  const name = (e as { name?: unknown })?.name;
  const message = e instanceof Error ? e.message : String(e);
  const detail = typeof name === 'string' && name !== 'Error' ? `${name}: ${message}` : message;
  if (name === 'DeviceLostError') return new EngineError(during === 'load' ? 'out_of_memory' : 'device_lost', detail);
  if (typeof name === 'string' && BY_NAME[name]) return new EngineError(BY_NAME[name], detail);
  if (/status 404|\b404\b/.test(message)) return new EngineError('model_not_found', detail);
  if (/request failed|failed to fetch|networkerror|network response was not ok|unable to fetch|failed to store|err_internet_disconnected/i.test(message))
    return new EngineError('network', detail);
  const generic = EngineError.from(e);
  return generic.code === 'unknown' ? new EngineError('unknown', detail) : generic;
}
