/**
 * A test double of @mlc-ai/web-llm 0.2.86's MLCEngine: the parts of
 * MLCEngineInterface the WebLLM engine uses, with the library's own semantics
 * read from node_modules/@mlc-ai/web-llm/lib/index.js (quoted per method).
 * Only the GPU is replaced: the "model" is a deterministic function of the
 * token ids (seeded pseudo-random logits plus a few behaviours a test can
 * switch on), over a small tokenizer with a ChatML conversation template.
 *
 * Real parts, not re-implementations:
 *  - request validation: web-llm's exported `postInitAndCheckFieldsChatCompletion`;
 *  - structured output: XGrammar (@mlc-ai/web-xgrammar 0.1.27, the version web-llm
 *    0.2.86 bundles) compiles `response_format` and masks every sampled token,
 *    exactly as LLMChatPipeline.prepareGrammarMatcherForSampling does;
 *  - the model records: web-llm's `prebuiltAppConfig`.
 * Ported and checked against the real (unexported) internals in
 * test/webllm-double.test.ts: the generation-config checks, the conversation
 * template, top-k selection (getTopProbs), the json_object-without-schema error.
 * Ported by reading only (the real versions need a GPU): the sampling order
 * (grammar mask → logit processor → logit_bias → penalties → temperature
 * softmax → top-p; the penalty and top-p kernels are compiled into the model
 * library, so their arithmetic here is the usual presence/frequency/repetition
 * rule, not checked against MLC's kernels), the stop rules, the KV-cache reuse
 * rule, the load progress texts.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as webllm from '@mlc-ai/web-llm';
import type {
  AppConfig,
  ChatCompletion,
  ChatCompletionMessageParam,
  ChatCompletionRequestNonStreaming,
  ChatCompletionTokenLogprob,
  ChatOptions,
  GenerationConfig,
  InitProgressReport,
  LogitProcessor,
  MLCEngineConfig,
  ModelRecord,
  ResponseFormat,
} from '@mlc-ai/web-llm';
import type * as XG from '@mlc-ai/web-xgrammar';
import type { MLCEngineLike, WebLLMLib } from '../../workers/webllm-engine';
import type { ChatMessage } from '../../src/lib/prompts';
import { mulberry32 } from '../fixture/weights';

const require = createRequire(import.meta.url);

// ------------------------------------------------------------------ XGrammar in Node

let xgrammar: Promise<typeof XG> | null = null;

/**
 * The real XGrammar (WASM, embedded as base64 in the package). The package is a
 * UMD bundle published under `"type": "module"`, so Node's ESM loader rejects
 * it ("require is not defined in ES module scope"). It is the CommonJS module
 * it looks like: a byte-identical copy named `.cjs` loads with Node's require
 * (native, so the bundle's own `await import('module')` works under vitest).
 */
export function loadXGrammar(): Promise<typeof XG> {
  xgrammar ??= (async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'web-xgrammar-')), 'index.cjs');
    copyFileSync(require.resolve('@mlc-ai/web-xgrammar'), file);
    return require(file) as typeof XG;
  })();
  return xgrammar;
}

/**
 * web-llm's unexported internals, for checking the double against them: a copy
 * of the bundle with an export line appended. Environment fixes only: the
 * bundled emscripten modules call `createRequire(...)` (rollup dropped the
 * import) with a placeholder path, so the copy imports createRequire and
 * passes its own URL; the source-map comment is dropped (the map is not copied).
 */
export interface WebLLMInternals {
  getTopProbs(k: number, probs: Float32Array): Array<[number, number]>;
  postInitAndCheckGenerationConfigValues(config: GenerationConfig): void;
  getConversation(template: unknown, config?: unknown): { getPromptArray(config?: unknown): Array<string | unknown[]> };
  getConversationFromChatCompletionRequest(request: unknown, config: unknown): {
    appendMessage(role: string, message: string): void;
    appendReplyHeader(role: string): void;
    getPromptArray(config?: unknown): Array<string | unknown[]>;
  };
  LLMChatPipeline: { prototype: Record<string, (...a: never[]) => unknown> };
}
let internals: Promise<WebLLMInternals> | null = null;
export function loadWebLLMInternals(): Promise<WebLLMInternals> {
  internals ??= (async () => {
    const src = readFileSync(require.resolve('@mlc-ai/web-llm'), 'utf8').replaceAll('"MLC_DUMMY_PATH"', 'import.meta.url').replace(/^\/\/# sourceMappingURL=.*$/gm, '');
    const file = join(mkdtempSync(join(tmpdir(), 'webllm-internals-')), 'index.mjs');
    writeFileSync(
      file,
      `import { createRequire } from 'node:module';\n${src}\nexport { getTopProbs as __getTopProbs, getConversation as __getConversation, ` +
        `getConversationFromChatCompletionRequest as __getConversationFromChatCompletionRequest, ` +
        `postInitAndCheckGenerationConfigValues as __postInitAndCheckGenerationConfigValues, LLMChatPipeline as __LLMChatPipeline };\n`,
    );
    const m = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    return {
      getTopProbs: m.__getTopProbs,
      postInitAndCheckGenerationConfigValues: m.__postInitAndCheckGenerationConfigValues,
      getConversation: m.__getConversation,
      getConversationFromChatCompletionRequest: m.__getConversationFromChatCompletionRequest,
      LLMChatPipeline: m.__LLMChatPipeline,
    } as WebLLMInternals;
  })();
  return internals;
}

// ------------------------------------------------------------------ errors (names and texts as in web-llm 0.2.86)

function named(name: string, message: string, cause?: unknown): Error {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.name = name;
  return e;
}
const Errors = {
  modelNotFound: (id: string) =>
    named('ModelNotFoundError', `Cannot find model record in appConfig for ${id}. Please check if the model ID is correct and included in the model_list configuration.`),
  webgpu: () =>
    named('WebGPUNotAvailableError', 'WebGPU is not supported in your current environment, but it is necessary to run the WebLLM engine. ' +
      'Please make sure that your browser supports WebGPU and that it is enabled in your browser settings. ' +
      "You can also consult your browser's compatibility chart to see if it supports WebGPU. " +
      'For more information about WebGPU support in your browser, visit https://webgpureport.org/'),
  shaderF16: () =>
    named('ShaderF16SupportError', 'This model requires WebGPU extension shader-f16, which is not enabled in this browser. ' +
      'You can try to launch Chrome Canary in command line with flag "--enable-dawn-features=allow_unsafe_apis".'),
  feature: (f: string) => named('FeatureSupportError', `This model requires feature ${f}, which is not yet supported by this browser.`),
  deviceLost: () =>
    named('DeviceLostError', 'The WebGPU device was lost while loading the model. This issue often occurs due to running out of memory (OOM). To resolve this, try reloading with a model that has fewer parameters or uses a smaller context length.'),
  notLoaded: (request: string) =>
    named('ModelNotLoadedError', `Model not loaded before trying to complete ${request}. Please ensure you have called ` +
      'MLCEngine.reload(model) to load the model before initiating APIs, ' +
      'or initialize your engine using CreateMLCEngine() with a valid model configuration.'),
  grammarInit: (type: string, cause: unknown) =>
    named('GrammarMatcherInitError', `Failed to initialize the grammar matcher for response format \`${type}\`: ${cause instanceof Error ? cause.message : String(cause)}`, cause),
  contextWindow: (n: number, w: number) =>
    named('ContextWindowSizeExceededError', `Prompt tokens exceed context window size: number of prompt tokens: ${n}; ` +
      `context window size: ${w}\nConsider shortening the prompt, or increase ` +
      '`context_window_size`, or using sliding window via `sliding_window_size`.'),
  range: (param: string, min: number, max: number, extra?: string) => named('RangeError', `Make sure ${min} < ${param} <= ${max}.${extra ? ' ' + extra : ''}`),
  minValue: (param: string, min: number) => named('MinValueError', `Make sure \`${param}\` > ${min}.`),
  nonNegative: (param: string) => named('NonNegativeError', `Make sure ${param} >= 0.`),
  dependency: (a: string, b: string, v: unknown) => named('DependencyError', `${a} requires ${b} to be ${v}.`),
  numberString: (param: string, v: string) => named('InvalidNumberStringError', `Make sure ${param} to be number represented in string. Got ${v}`),
  /** What Chrome's Cache.add rejects with when the fetch fails (WebLLM's default "cache" backend). */
  fetchFailed: () => new TypeError("Failed to execute 'add' on 'Cache': Request failed"),
};

// ------------------------------------------------------------------ tokenizer

const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<unk>', '<think>', '</think>'];
const PIECES = [
  ' A', ' B', '10', '100', '-1', '-10', '50', '{"', '":', '": ', ', "', '"}', ' "', '\n\n', '  ', 'system', 'user', 'assistant',
  'the', ' the', 'Option', ' Option', 'TASK', 'ing', 'er', ' a', ' of', ' to', ' and', 'Respond', ' with',
];

/**
 * A small tokenizer with the API of @mlc-ai/web-tokenizers' Tokenizer
 * (`encode(text): Int32Array`, `decode(ids: Int32Array): string`,
 * `getVocabSize()`, `idToToken(id)`): greedy longest match over special
 * tokens, printable ASCII and a few merged pieces; anything else is <unk>.
 */
export class ToyTokenizer {
  readonly vocab: string[];
  private readonly ids = new Map<string, number>();
  private readonly byLength: string[];
  readonly unk: number;
  constructor() {
    const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
    this.vocab = [...SPECIALS, ...ascii, '\n', '\t', ...PIECES];
    this.vocab.forEach((t, i) => this.ids.set(t, i));
    this.byLength = [...this.vocab].sort((a, b) => b.length - a.length);
    this.unk = this.ids.get('<unk>')!;
  }
  id(token: string): number {
    const id = this.ids.get(token);
    if (id === undefined) throw new Error(`no token ${JSON.stringify(token)}`);
    return id;
  }
  encode(text: string): Int32Array {
    const out: number[] = [];
    for (let i = 0; i < text.length; ) {
      const t = this.byLength.find((p) => text.startsWith(p, i));
      if (t) {
        out.push(this.ids.get(t)!);
        i += t.length;
      } else {
        out.push(this.unk);
        i += text.codePointAt(i)! > 0xffff ? 2 : 1;
      }
    }
    return Int32Array.from(out);
  }
  decode(ids: Int32Array | readonly number[]): string {
    let s = '';
    for (const id of ids) s += id === this.unk ? '\uFFFD' : (this.vocab[id] ?? '');
    return s;
  }
  getVocabSize(): number {
    return this.vocab.length;
  }
  idToToken(id: number): string {
    return this.vocab[id] ?? '';
  }
  /** The longest token that starts `text` (for scripted replies). */
  longestPrefix(text: string): number | null {
    const t = this.byLength.find((p) => text.startsWith(p) && !SPECIALS.includes(p));
    return t === undefined ? null : this.ids.get(t)!;
  }
}

// ------------------------------------------------------------------ chat config (mlc-chat-config.json fields the pipeline reads)

export interface ConvTemplate {
  name: string;
  system_template: string;
  system_message: string;
  system_prefix_token_ids?: number[] | null;
  add_role_after_system_message?: boolean;
  roles: Record<string, string>;
  role_templates?: Record<string, string>;
  seps: string[];
  role_content_sep?: string;
  role_empty_sep?: string;
  stop_str: string[];
  stop_token_ids: number[];
  render_empty_system_message?: boolean;
}

export interface FakeChatConfig {
  conv_template: ConvTemplate;
  conv_config?: Partial<ConvTemplate>;
  vocab_size: number;
  context_window_size: number;
  prefill_chunk_size: number;
  temperature: number;
  top_p: number;
  repetition_penalty: number;
  frequency_penalty: number;
  presence_penalty: number;
  bos_token_id?: number;
  tokenizer_info: { token_postproc_method: string; prepend_space_in_encode: boolean };
}

/** Qwen2.5's MLC conversation template ("qwen2", ChatML). */
export function chatmlConfig(tok: ToyTokenizer): FakeChatConfig {
  return {
    conv_template: {
      name: 'qwen2',
      system_template: '<|im_start|>system\n{system_message}<|im_end|>\n',
      system_message: 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.',
      system_prefix_token_ids: null,
      add_role_after_system_message: true,
      roles: { user: '<|im_start|>user', assistant: '<|im_start|>assistant', tool: '<|im_start|>user' },
      role_templates: { user: '{user_message}', assistant: '{assistant_message}', tool: '{tool_message}' },
      seps: ['<|im_end|>\n'],
      role_content_sep: '\n',
      role_empty_sep: '\n',
      stop_str: ['<|im_end|>'],
      stop_token_ids: [tok.id('<|endoftext|>'), tok.id('<|im_end|>')],
    },
    vocab_size: tok.getVocabSize(),
    context_window_size: 4096,
    prefill_chunk_size: 2048,
    temperature: 0.7,
    top_p: 0.8,
    repetition_penalty: 1.05,
    frequency_penalty: 0,
    presence_penalty: 0,
    bos_token_id: tok.id('<|endoftext|>'),
    tokenizer_info: { token_postproc_method: 'raw', prepend_space_in_encode: false },
  };
}

// ------------------------------------------------------------------ conversation (port of web-llm's Conversation, text only)

type Role = 'user' | 'assistant' | 'tool';
const EMPTY_THINKING = '<think>\n\n</think>\n\n';

/** Port of `class Conversation` (text messages only) and `getConversationFromChatCompletionRequest`. */
export class Conversation {
  messages: Array<[Role, string, string | undefined]> = [];
  override_system_message: string | undefined = undefined;
  isLastMessageEmptyThinkingReplyHeader = false;
  constructor(readonly config: ConvTemplate) {}

  static fromRequest(messages: readonly ChatCompletionMessageParam[], template: ConvTemplate): Conversation {
    const conv = new Conversation(template);
    for (let i = 0; i < messages.length - 1; i++) {
      const m = messages[i];
      if (m.role === 'system') conv.override_system_message = m.content as string;
      else conv.appendMessage(m.role as Role, m.content as string);
    }
    return conv;
  }
  getSystemPrompt(): string {
    const msg = this.override_system_message ?? this.config.system_message;
    if (msg === '' && this.config.render_empty_system_message === false) return '';
    return this.config.system_template.replace('{system_message}', msg);
  }
  /** `getPromptArrayInternal(addSystem, startPos)`. */
  promptArray(addSystem: boolean, startPos: number): string[] {
    const system = this.getSystemPrompt();
    const ret = addSystem && system !== '' ? [system] : [];
    for (let i = startPos; i < this.messages.length; i++) {
      const [role, roleStr, content] = this.messages[i];
      if (content === undefined) {
        ret.push(roleStr + (this.config.role_empty_sep ?? ': '));
        continue;
      }
      if (this.isLastMessageEmptyThinkingReplyHeader && i === this.messages.length - 1) {
        ret.push(roleStr + (this.config.role_content_sep ?? ': ') + content);
        continue;
      }
      let text = this.config.role_templates?.[role]?.replace(`{${role}_message}`, content) ?? content;
      text = text.replace('{function_string}', '');
      const prefix = this.config.add_role_after_system_message === false && system !== '' && i === 0 ? '' : roleStr + (this.config.role_content_sep ?? ': ');
      ret.push(prefix + text + this.config.seps[i % this.config.seps.length]);
    }
    return ret;
  }
  appendMessage(role: Role, message: string) {
    if (this.messages.length && this.messages[this.messages.length - 1][2] === undefined) throw Error('Have unfinished reply');
    this.messages.push([role, this.config.roles[role], message]);
  }
  appendReplyHeader(role: Role) {
    this.messages.push([role, this.config.roles[role], undefined]);
  }
  appendEmptyThinkingReplyHeader(role: Role, block: string) {
    this.isLastMessageEmptyThinkingReplyHeader = true;
    this.messages.push([role, this.config.roles[role], block]);
  }
  finishReply(message: string) {
    this.messages[this.messages.length - 1][2] = message;
    this.isLastMessageEmptyThinkingReplyHeader = false;
  }
  reset() {
    this.messages = [];
    this.override_system_message = undefined;
  }
  /** `compareConversationObject` for text conversations. */
  equals(other: Conversation): boolean {
    return (
      this.override_system_message === other.override_system_message &&
      this.messages.length === other.messages.length &&
      this.messages.every((m, i) => m.every((x, j) => x === other.messages[i][j]))
    );
  }
}

// ------------------------------------------------------------------ the "model"

function fnv(seed: number, ids: ArrayLike<number>): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < ids.length; i++) {
    h ^= ids[i] & 0xffff;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= ids[i] >>> 16;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface FakeModelOptions {
  seed?: number;
  /** Boost of "A" and "B" right after the assistant header (an instruction-following model). Default 6; 0 = none. */
  answerBias?: number;
  /** Boost of whitespace tokens in replies (a model that loops on whitespace inside JSON). Default 0. */
  whitespaceBias?: number;
  /** A scripted reply per prompt: the model then follows it token by token (strongly, not absolutely). */
  reply?: (prompt: string) => string | null | undefined;
}

const ASSISTANT_HEADER = '<|im_start|>assistant\n';
const WHITESPACE = [' ', '\n', '\t', '  ', '\n\n'];

/**
 * The model: next-token logits as a pure function of the token ids. Background
 * logits are uniform in [-4, 4], seeded by a hash of all ids (so every prompt
 * and every position differs); behaviours on top read the decoded text.
 */
export class FakeModel {
  readonly tokenizer = new ToyTokenizer();
  readonly chatConfig: FakeChatConfig;
  forwards = 0;
  constructor(readonly o: FakeModelOptions = {}) {
    this.chatConfig = chatmlConfig(this.tokenizer);
  }

  logits(ids: readonly number[]): Float32Array {
    this.forwards++;
    const tok = this.tokenizer;
    const V = tok.getVocabSize();
    const seed = this.o.seed ?? 1;
    const out = new Float32Array(V);
    const rng = mulberry32(fnv(seed, ids));
    for (let v = 0; v < V; v++) out[v] = (rng() * 2 - 1) * 4;
    const text = tok.decode(ids);
    const at = text.lastIndexOf(ASSISTANT_HEADER);
    if (at < 0) return out;
    const prompt = text.slice(0, at + ASSISTANT_HEADER.length);
    const generated = text.slice(at + ASSISTANT_HEADER.length).replace(/^<think>\n\n<\/think>\n\n/, '');
    const bias = this.o.answerBias ?? 6;
    if (generated === '' && bias) {
      const r = mulberry32(fnv(seed ^ 0x5bd1e995, tok.encode(prompt)));
      out[tok.id('A')] += bias + 3 * (r() - 0.5);
      out[tok.id('B')] += bias + 3 * (r() - 0.5);
    }
    if (this.o.whitespaceBias && generated !== '') for (const w of WHITESPACE) out[tok.id(w)] += this.o.whitespaceBias;
    const script = this.o.reply?.(prompt);
    if (typeof script === 'string' && script.startsWith(generated)) {
      const next = script.length > generated.length ? tok.longestPrefix(script.slice(generated.length)) : tok.id('<|im_end|>');
      if (next !== null) out[next] += 20;
    }
    return out;
  }

  /** The templated prompt's token ids, as the double's chat completion builds them from a fresh KV cache. */
  promptIds(messages: readonly ChatMessage[], options: { enableThinking?: boolean } = {}): number[] {
    const conv = Conversation.fromRequest(messages as ChatCompletionMessageParam[], this.chatConfig.conv_template);
    conv.appendMessage('user', messages[messages.length - 1].content);
    if (options.enableThinking === false) conv.appendEmptyThinkingReplyHeader('assistant', EMPTY_THINKING);
    else conv.appendReplyHeader('assistant');
    const ids = [...(this.chatConfig.conv_template.system_prefix_token_ids ?? [])];
    for (const piece of conv.promptArray(true, 0)) ids.push(...this.tokenizer.encode(piece));
    return ids;
  }

  private logSoftmaxAfter(messages: readonly ChatMessage[]): number[] {
    const logits = this.logits(this.promptIds(messages));
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let s = 0;
    for (const x of logits) s += Math.exp(x - max);
    const lse = max + Math.log(s);
    return Array.from(logits, (x) => x - lse);
  }

  /** An independent forward pass: log-probabilities of each label's first token after the templated prompt. */
  referenceLogprobs(messages: readonly ChatMessage[], labels: readonly string[]): number[] {
    const lp = this.logSoftmaxAfter(messages);
    return labels.map((l) => lp[this.tokenizer.encode(l)[0]]);
  }

  /**
   * What a top-k reader should report, computed independently from the full
   * distribution: the exact log-probability for a label among the k most
   * likely tokens, else the bound log(min(p_k, (1 − Σ top k) / missing)).
   * Also says how many labels were outside the top k.
   */
  referenceTopK(messages: readonly ChatMessage[], labels: readonly string[], k = 5): { logprobs: number[]; missing: number } {
    const lp = this.logSoftmaxAfter(messages);
    const top = lp.map((l, id) => ({ l, id })).sort((a, b) => b.l - a.l).slice(0, k);
    const ids = labels.map((l) => this.tokenizer.encode(l)[0]);
    const inTop = ids.map((id) => top.some((t) => t.id === id));
    const missing = inTop.filter((x) => !x).length;
    const listed = top.map((t) => Math.exp(t.l));
    const bound = Math.max(Number.MIN_VALUE, Math.min(Math.min(...listed), Math.max(0, 1 - listed.reduce((a, b) => a + b, 0)) / Math.max(1, missing)));
    return { logprobs: ids.map((id, i) => (inTop[i] ? lp[id] : Math.log(bound))), missing };
  }
}

// ------------------------------------------------------------------ generation-config checks (port of postInitAndCheckGenerationConfigValues)

const has = (v: unknown) => v !== undefined && v !== null;

export function checkGenerationConfig(config: GenerationConfig): void {
  if (has(config.frequency_penalty) && !(config.frequency_penalty! >= -2 && config.frequency_penalty! <= 2)) throw Errors.range('frequency_penalty', -2, 2);
  if (has(config.presence_penalty) && !(config.presence_penalty! >= -2 && config.presence_penalty! <= 2)) throw Errors.range('presence_penalty', -2, 2);
  if (has(config.repetition_penalty) && !(config.repetition_penalty! > 0)) throw Errors.minValue('repetition_penalty', 0);
  if (has(config.max_tokens) && !(config.max_tokens! > 0)) throw Errors.minValue('max_tokens', 0);
  if (has(config.top_p) && !(config.top_p! > 0 && config.top_p! <= 1)) throw Errors.range('top_p', 0, 1);
  if (has(config.temperature) && !(config.temperature! >= 0)) throw Errors.nonNegative('temperature');
  if (has(config.frequency_penalty) && !has(config.presence_penalty)) config.presence_penalty = 0;
  if (has(config.presence_penalty) && !has(config.frequency_penalty)) config.frequency_penalty = 0;
  if (has(config.logit_bias))
    for (const id in config.logit_bias!) {
      const b = config.logit_bias![id];
      if (!(b >= -100 && b <= 100)) throw Errors.range('logit_bias', -100, 100, `Got ${b} for tokenID ${id}`);
      if (isNaN(parseInt(id))) throw Errors.numberString("logit_bias's keys", id);
    }
  if (has(config.top_logprobs)) {
    // "If top_logprobs is non-null, logprobs must be true"
    if (!config.logprobs) throw Errors.dependency('top_logprobs', 'logprobs', true);
    if (!(config.top_logprobs! >= 0 && config.top_logprobs! <= 5)) throw Errors.range('top_logprobs', 0, 5, `Got ${config.top_logprobs}`);
  }
  // "If defined logprobs but not top_logprobs, simply make it 0" — so logprobs alone returns no alternatives.
  if (config.logprobs && !has(config.top_logprobs)) config.top_logprobs = 0;
}

/** Port of `getTopProbs(num_top_probs, p_prob)`: selection of the k largest, with its early exit. */
export function getTopProbs(k: number, probs: Float32Array): Array<[number, number]> {
  if (k === 0) return [];
  const top: Array<[number, number]> = Array.from({ length: k }, () => [-1, -1]);
  let sum = 0;
  for (let p = 0; p < probs.length; p++) {
    let i = k - 1;
    for (; i >= 0; --i) {
      if (probs[p] > top[i][1]) {
        if (i !== k - 1) top[i + 1] = top[i];
      } else break;
    }
    if (i !== k - 1) top[i + 1] = [p, probs[p]];
    sum += probs[p];
    if (1 - sum <= top[k - 1][1]) break;
  }
  return top;
}

// ------------------------------------------------------------------ pipeline

interface SamplingConfig {
  temperature: number;
  top_p: number;
  repetition_penalty: number;
  frequency_penalty: number;
  presence_penalty: number;
  logit_bias?: Record<string, number>;
  logprobs?: boolean;
  top_logprobs?: number;
  response_format?: ResponseFormat;
}

/** The double of LLMChatPipeline: KV cache as a token list, sampling and stopping as the real pipeline. */
export class FakePipeline {
  readonly tokenizer: ToyTokenizer;
  readonly bosTokenId: number;
  conversation: Conversation;
  kv: number[] = [];
  outputIds: number[] = [];
  outputMessage = '';
  stopTriggered = false;
  finishReason: 'stop' | 'length' | 'abort' | undefined = undefined;
  tokenLogprobArray: ChatCompletionTokenLogprob[] = [];
  appeared = new Map<number, number>();
  prefillTokens = 0;
  private matcher: XG.GrammarMatcher | null = null;
  private matcherKey: string | undefined = undefined;
  private compiler: XG.GrammarCompiler | null = null;
  private rng: () => number;

  constructor(
    readonly model: FakeModel,
    readonly config: FakeChatConfig,
    readonly logitProcessor: LogitProcessor | undefined,
    seed = 42,
  ) {
    this.tokenizer = model.tokenizer;
    this.bosTokenId = config.bos_token_id ?? 1;
    this.conversation = new Conversation({ ...config.conv_template, ...config.conv_config });
    this.rng = mulberry32(seed);
  }

  setSeed(seed: number) {
    this.rng = mulberry32(seed >>> 0);
  }

  /** `resetChat(keepStats)`: conversation, finish reason, KV cache, logit processor state. */
  resetChat() {
    this.conversation.reset();
    this.finishReason = undefined;
    this.kv = [];
    this.logitProcessor?.resetState();
  }

  private forward(ids: readonly number[]): Float32Array {
    this.kv.push(...ids);
    return this.model.logits(this.kv);
  }

  private isConstrained(rf?: ResponseFormat | null): boolean {
    return rf?.type === 'json_object' || rf?.type === 'grammar' || rf?.type === 'structural_tag';
  }

  /** `prepareGrammarMatcherForSampling`: reuse the matcher for the same format (reset), else compile with XGrammar. */
  private async prepareGrammar(rf?: ResponseFormat | null) {
    if (!rf || !this.isConstrained(rf)) return;
    const key = rf.type === 'json_object' ? (rf.schema ?? undefined) : rf.type === 'grammar' ? (rf.grammar ?? undefined) : JSON.stringify(rf.structural_tag);
    if (key === this.matcherKey && this.matcher) {
      this.matcher.reset();
      return;
    }
    try {
      this.matcher?.dispose();
      this.matcher = null;
      const xg = await loadXGrammar();
      if (!this.compiler) {
        const info = await xg.TokenizerInfo.createTokenizerInfo(
          this.tokenizer.vocab,
          this.config.tokenizer_info.token_postproc_method,
          this.config.tokenizer_info.prepend_space_in_encode,
          this.config.vocab_size,
          this.conversation.config.stop_token_ids,
        );
        this.compiler = await xg.GrammarCompiler.createGrammarCompiler(info);
      }
      const grammar =
        rf.type === 'json_object'
          ? await this.compiler.compileJSONSchema(rf.schema as string)
          : rf.type === 'grammar'
            ? await this.compiler.compileGrammar(rf.grammar as string)
            : await this.compiler.compileStructuralTag(rf.structural_tag as never);
      try {
        this.matcher = await xg.GrammarMatcher.createGrammarMatcher(grammar);
      } finally {
        grammar.dispose();
      }
      this.matcherKey = key;
    } catch (err) {
      throw Errors.grammarInit(rf.type ?? 'json_object', err);
    }
  }

  /** `sampleFromRawLogits`: grammar mask → logit processor → logit_bias → penalties → softmax(temperature) → top-p; logprobs. */
  async sample(raw: Float32Array, cfg: SamplingConfig): Promise<number> {
    if (!(cfg.top_p > 0 && cfg.top_p <= 1)) throw Errors.range('top_p', 0, 1);
    if (!(cfg.temperature >= 0)) throw Errors.minValue('temperature', 0);
    if (!(cfg.repetition_penalty > 0)) throw Errors.minValue('repetition_penalty', 0);
    let logits = Float32Array.from(raw);
    if (this.isConstrained(cfg.response_format)) {
      if (!this.matcher) throw Error('Expect grammar matcher to be initialized.');
      const mask = await this.matcher.getNextTokenBitmask();
      for (let v = 0; v < logits.length; v++) if (!((mask[v >> 5] >>> (v & 31)) & 1)) logits[v] = -Infinity;
    }
    if (this.logitProcessor) logits = Float32Array.from(this.logitProcessor.processLogits(Float32Array.from(logits)));
    if (cfg.logit_bias) for (const id of Object.keys(cfg.logit_bias)) logits[parseInt(id)] += cfg.logit_bias[id];
    if (cfg.frequency_penalty !== 0 || cfg.presence_penalty !== 0 || cfg.repetition_penalty !== 1)
      for (const [id, count] of this.appeared) {
        // The usual rule (not checked against MLC's kernel): presence and frequency subtract; repetition divides positive and multiplies negative logits.
        let x = logits[id] - cfg.presence_penalty - cfg.frequency_penalty * count;
        x = x > 0 ? x / cfg.repetition_penalty : x * cfg.repetition_penalty;
        logits[id] = x;
      }
    const temperature = Math.max(1e-6, cfg.temperature);
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x / temperature);
    const probs = new Float32Array(logits.length);
    let z = 0;
    for (let v = 0; v < logits.length; v++) z += probs[v] = Math.exp(logits[v] / temperature - max);
    for (let v = 0; v < probs.length; v++) probs[v] /= z;
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
    let nucleus = 0;
    let cut = 0;
    while (cut < order.length && (cut === 0 || nucleus < Math.max(cfg.top_p, 1e-5))) nucleus += probs[order[cut++]];
    let u = this.rng() * nucleus;
    let token = order[cut - 1];
    for (let i = 0; i < cut; i++) {
      u -= probs[order[i]];
      if (u <= 0) {
        token = order[i];
        break;
      }
    }
    if (cfg.logprobs && (cfg.top_logprobs ?? 0) > 0) this.tokenLogprobArray.push(this.tokenLogprob(token, cfg.top_logprobs!, probs));
    return token;
  }

  /** `getTokenLogprob(sampledToken, top_logprobs)`. */
  private tokenLogprob(token: number, k: number, probs: Float32Array): ChatCompletionTokenLogprob {
    const enc = new TextEncoder();
    const str = this.tokenizer.decode([token]);
    return {
      token: str,
      bytes: Array.from(enc.encode(str)),
      logprob: Math.log(probs[token]),
      top_logprobs: getTopProbs(k, probs).map(([id, p]) => {
        const s = this.tokenizer.decode([id]);
        return { token: s, bytes: Array.from(enc.encode(s)), logprob: Math.log(p) };
      }),
    };
  }

  /** `commitSamplerState` + `processNextToken`. */
  commit(token: number, gen: GenerationConfig | undefined, cfg: SamplingConfig) {
    this.logitProcessor?.processSampledToken(token);
    if (this.isConstrained(cfg.response_format) && !this.matcher!.acceptToken(token)) throw Error('Grammar matcher rejected the newly sampled token.');
    const maxTokens = gen?.max_tokens ?? Infinity;
    let stopStrs = this.conversation.config.stop_str;
    if (gen?.stop) stopStrs = stopStrs.concat(gen.stop);
    let stopTokens = this.conversation.config.stop_token_ids;
    if (gen?.ignore_eos) {
      stopStrs = [];
      stopTokens = [];
    }
    if (stopTokens.includes(token)) {
      this.stopTriggered = true;
      this.finishReason = 'stop';
    }
    if (!this.stopTriggered) {
      this.outputIds.push(token);
      this.appeared.set(token, (this.appeared.get(token) ?? 0) + 1);
    }
    let message = this.tokenizer.decode(this.outputIds);
    for (const s of stopStrs) {
      const pos = message.lastIndexOf(s);
      if (pos !== -1) {
        message = message.substring(0, pos);
        this.stopTriggered = true;
        this.finishReason = 'stop';
        break;
      }
    }
    this.outputMessage = message;
    if (this.outputIds.length >= maxTokens) {
      this.stopTriggered = true;
      this.finishReason = 'length';
    }
    if (this.kv.length === this.config.context_window_size) {
      this.stopTriggered = true;
      this.finishReason = 'length';
    }
    if (this.stopTriggered) this.conversation.finishReply(this.outputMessage);
  }

  samplingConfig(gen?: GenerationConfig): SamplingConfig {
    const c = this.config;
    const cfg: SamplingConfig = {
      temperature: c.temperature,
      top_p: c.top_p,
      repetition_penalty: c.repetition_penalty,
      frequency_penalty: c.frequency_penalty,
      presence_penalty: c.presence_penalty,
    };
    if (gen) {
      if (has(gen.temperature)) cfg.temperature = gen.temperature!;
      if (has(gen.top_p)) cfg.top_p = gen.top_p!;
      if (!has(cfg.top_p)) cfg.top_p = 1;
      if (has(gen.repetition_penalty)) cfg.repetition_penalty = gen.repetition_penalty!;
      if (has(gen.frequency_penalty)) cfg.frequency_penalty = gen.frequency_penalty!;
      if (has(gen.presence_penalty)) cfg.presence_penalty = gen.presence_penalty!;
      if (has(gen.logit_bias)) cfg.logit_bias = gen.logit_bias!;
      if (has(gen.logprobs)) cfg.logprobs = gen.logprobs!;
      if (has(gen.top_logprobs)) cfg.top_logprobs = gen.top_logprobs!;
      if (has(gen.response_format)) cfg.response_format = gen.response_format!;
    }
    return cfg;
  }

  /** `prefillStep(inp, role, roleStr, genConfig)`. */
  async prefill(input: string, gen: GenerationConfig, enableThinking: boolean | null | undefined) {
    this.outputIds = [];
    this.appeared.clear();
    this.outputMessage = '';
    this.tokenLogprobArray = [];
    this.stopTriggered = false;
    const grammarInit = this.prepareGrammar(gen.response_format);
    grammarInit.catch(() => undefined);
    this.conversation.appendMessage('user', input);
    if (enableThinking === false) {
      const ids = Array.from(this.tokenizer.encode(EMPTY_THINKING));
      this.outputIds.push(...ids);
      this.conversation.appendEmptyThinkingReplyHeader('assistant', EMPTY_THINKING);
    } else this.conversation.appendReplyHeader('assistant');
    const pieces = this.kv.length === 0 ? this.conversation.promptArray(true, 0) : this.conversation.promptArray(false, this.conversation.messages.length - 2);
    const ids = this.kv.length === 0 ? [...(this.conversation.config.system_prefix_token_ids ?? [])] : [];
    for (const p of pieces) ids.push(...this.tokenizer.encode(p));
    if (ids.length + this.kv.length > this.config.context_window_size) throw Errors.contextWindow(ids.length, this.config.context_window_size);
    this.prefillTokens = ids.length;
    const logits = this.forward(ids);
    await grammarInit;
    const cfg = this.samplingConfig(gen);
    const token = await this.sample(logits, cfg);
    this.commit(token, gen, cfg);
  }

  /** `decodeStep(genConfig)`. */
  async decode(gen: GenerationConfig) {
    if (this.stopTriggered) throw Error('Cannot run decode when stopped');
    const logits = this.forward([this.outputIds[this.outputIds.length - 1]]);
    const cfg = this.samplingConfig(gen);
    const token = await this.sample(logits, cfg);
    this.commit(token, gen, cfg);
  }

  triggerStop() {
    if (this.stopTriggered) return;
    this.stopTriggered = true;
    this.finishReason = 'abort';
    this.conversation.finishReply(this.outputMessage);
  }

  /** `forwardTokensAndSample(inputIds, isPrefill)`: feed ids, sample with the chat config's defaults, no output bookkeeping. */
  async forwardTokensAndSample(inputIds: number[]): Promise<number> {
    const logits = this.forward(inputIds);
    const cfg = this.samplingConfig(undefined);
    const token = await this.sample(logits, cfg);
    this.logitProcessor?.processSampledToken(token);
    return token;
  }

  dispose() {
    this.matcher?.dispose();
    this.matcher = null;
  }
}

// ------------------------------------------------------------------ the world and the engine

/** What the double's browser and GPU look like; shared by engines made from one `createFakeWebLLM`. */
export interface FakeWorld {
  /** null: no WebGPU adapter. */
  gpu: { shaderF16: boolean; vramMB: number; label: string } | null;
  online: boolean;
  /** Cached model URLs (the tensor cache). */
  cache: Set<string>;
  model: FakeModel;
  /** Keep `loadedModelIdToPipeline` / `loadedModelIdToChatConfig` reachable, as the real MLCEngine does. */
  exposeInternals: boolean;
  /** Milliseconds each decode step takes (0: a microtask). */
  stepDelayMs: number;
  /** Every call the engine made, in order, for assertions. */
  calls: string[];
  /** Every chat completion request, as received. */
  requests: ChatCompletionRequestNonStreaming[];
  /** Every progress report, as sent. */
  progress: InitProgressReport[];
}

const SHARDS = 4;

/**
 * The double of `class MLCEngine` (web-llm 0.2.86 lib/index.js). Signatures of
 * the real methods it stands in for are quoted above each.
 */
export class FakeMLCEngine implements MLCEngineLike {
  private readonly pipelineMap = new Map<string, FakePipeline>();
  private readonly configMap = new Map<string, FakeChatConfig>();
  private appConfig: AppConfig;
  private initProgressCallback?: (r: InitProgressReport) => void;
  readonly logitProcessorRegistry?: Map<string, LogitProcessor>;
  private interruptSignal = false;
  private reloadController: AbortController | undefined;
  private lock: Promise<void> = Promise.resolve();
  readonly chat: { completions: { create(request: ChatCompletionRequestNonStreaming): Promise<ChatCompletion> } };

  /** `constructor(engineConfig?: MLCEngineConfig)`: appConfig (default prebuiltAppConfig), initProgressCallback, logitProcessorRegistry. */
  constructor(
    config: MLCEngineConfig | undefined,
    readonly world: FakeWorld,
  ) {
    this.appConfig = config?.appConfig ?? webllm.prebuiltAppConfig;
    this.initProgressCallback = config?.initProgressCallback;
    this.logitProcessorRegistry = config?.logitProcessorRegistry;
    this.chat = { completions: { create: (request) => this.chatCompletion(request) } };
    // The real MLCEngine keeps these as (TypeScript-private) fields; the WebLLM engine reads the tokenizer from them.
    if (world.exposeInternals) Object.assign(this, { loadedModelIdToPipeline: this.pipelineMap, loadedModelIdToChatConfig: this.configMap });
  }

  private pipelines(): Map<string, FakePipeline> {
    return this.pipelineMap;
  }
  private configs(): Map<string, FakeChatConfig> {
    return this.configMap;
  }

  private report(progress: number, timeElapsed: number, text: string) {
    const r = { progress, timeElapsed, text };
    this.world.progress.push(r);
    this.initProgressCallback?.(r);
  }

  private async tick(signal?: AbortSignal) {
    await new Promise((r) => setTimeout(r, 0));
    if (signal?.aborted) throw new DOMException('Engine.unload() is called.', 'AbortError');
  }

  /**
   * `reload(modelId: string | string[], chatOpts?: ChatOptions | ChatOptions[]): Promise<void>`:
   * unloads, then loads; an unload() during the load aborts it and reload()
   * returns quietly ("Reload() is aborted.").
   */
  async reload(modelId: string, chatOpts?: ChatOptions): Promise<void> {
    this.world.calls.push(`reload ${modelId}`);
    await this.unload();
    this.reloadController = new AbortController();
    try {
      await this.reloadInternal(modelId, chatOpts, this.reloadController.signal);
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') return;
      throw e;
    } finally {
      this.reloadController = undefined;
    }
  }

  private async reloadInternal(modelId: string, chatOpts: ChatOptions | undefined, signal: AbortSignal) {
    const processor = this.logitProcessorRegistry?.get(modelId);
    const record = findModelRecord(modelId, this.appConfig);
    const model = this.world.model;
    const config: FakeChatConfig = { ...model.chatConfig, ...(record.overrides as Partial<FakeChatConfig>), ...(chatOpts as Partial<FakeChatConfig>) };
    const gpu = this.world.gpu;
    if (!gpu) throw Errors.webgpu();
    for (const f of record.required_features ?? []) if (!(f === 'shader-f16' ? gpu.shaderF16 : false)) throw f === 'shader-f16' ? Errors.shaderF16() : Errors.feature(f);

    // tvm.fetchTensorCache: "Start to fetch params", then fetch (if not cached), then load from cache.
    const total = Math.round((record.vram_required_MB ?? 500) * 0.8 * 1024 * 1024);
    const shard = Math.ceil(total / SHARDS);
    const line = (bytes: number) => `${Math.ceil(bytes / (1024 * 1024))}MB`;
    const pct = (bytes: number) => `${Math.floor((bytes * 100) / total)}% completed`;
    this.report(0, 0, 'Start to fetch params');
    const url = record.model;
    if (!this.world.cache.has(url)) {
      if (!this.world.online) throw Errors.fetchFailed();
      for (let i = 1; i <= SHARDS; i++) {
        await this.tick(signal);
        const bytes = Math.min(total, i * shard);
        this.report(bytes / total, i, `Fetching param cache[${i}/${SHARDS}]: ${line(bytes)} fetched. ${pct(bytes)}, ${i} secs elapsed. It can take a while when we first visit this page to populate the cache. Later refreshes will become faster.`);
      }
      this.world.cache.add(url);
    }
    for (let i = 1; i <= SHARDS; i++) {
      await this.tick(signal);
      const bytes = Math.min(total, i * shard);
      this.report(bytes / total, i, `Loading model from cache[${i}/${SHARDS}]: ${line(bytes)} loaded. ${pct(bytes)}, ${i} secs elapsed.`);
    }
    if ((record.vram_required_MB ?? 0) > gpu.vramMB) throw Errors.deviceLost();
    const shaders = 3;
    for (let i = 1; i <= shaders; i++) {
      await this.tick(signal);
      this.report(i / shaders, i, `Loading GPU shader modules[${i}/${shaders}]: ${Math.floor((i / shaders) * 100)}% completed, ${i} secs elapsed.`);
    }
    this.pipelines().set(modelId, new FakePipeline(model, config, processor));
    this.configs().set(modelId, config);
    this.report(1, 1, `Finish loading on WebGPU - ${gpu.label}`);
  }

  /** `unload(): Promise<void>`: disposes pipelines, clears the maps, aborts a reload in progress. */
  async unload(): Promise<void> {
    this.world.calls.push('unload');
    for (const p of this.pipelines().values()) p.dispose();
    this.pipelines().clear();
    this.configs().clear();
    if (this.reloadController) {
      this.reloadController.abort('Engine.unload() is called.');
      this.reloadController = undefined;
    }
  }

  /** `getLLMStates(requestName, modelId?)`: the one loaded model (or the named one). */
  private states(request: string, modelId?: string | null): [string, FakePipeline, FakeChatConfig] {
    const loaded = [...this.pipelines().keys()];
    if (!loaded.length) throw Errors.notLoaded(request);
    const id = modelId ?? loaded[0];
    const p = this.pipelines().get(id);
    if (!p) throw named('SpecifiedModelNotFoundError', `Specified model ${id} for ${request} is not found in loaded models.`);
    return [id, p, this.configs().get(id)!];
  }

  /** `resetChat(keepStats = false, modelId?): Promise<void>`: a no-op when nothing is loaded. */
  async resetChat(_keepStats = false, modelId?: string): Promise<void> {
    this.world.calls.push('resetChat');
    if (!this.pipelines().size) return;
    this.states('resetChat', modelId)[1].resetChat();
  }

  /** `interruptGenerate(): void` (async in the implementation): stops the generation in flight after its current token. */
  interruptGenerate(): void {
    this.world.calls.push('interruptGenerate');
    this.interruptSignal = true;
  }

  /** `forwardTokensAndSample(inputIds: Array<number>, isPrefill: boolean, modelId?: string): Promise<number>`. */
  async forwardTokensAndSample(inputIds: number[], _isPrefill: boolean, modelId?: string): Promise<number> {
    this.world.calls.push('forwardTokensAndSample');
    return this.states('forwardTokensAndSample', modelId)[1].forwardTokensAndSample(inputIds);
  }

  private async acquire(): Promise<() => void> {
    let release!: () => void;
    const prev = this.lock;
    this.lock = new Promise((r) => (release = r));
    await prev;
    return release;
  }

  /**
   * `chat.completions.create(request: ChatCompletionRequestNonStreaming): Promise<ChatCompletion>`
   * (MLCEngine.chatCompletion): validate, lock, reset the interrupt flag,
   * prefill (resetting the KV cache unless the request continues the current
   * conversation), decode until a stop, max_tokens or an interrupt.
   */
  async chatCompletion(request: ChatCompletionRequestNonStreaming): Promise<ChatCompletion> {
    this.world.calls.push('chatCompletion');
    this.world.requests.push(JSON.parse(JSON.stringify(request)));
    const [modelId, pipeline] = this.states('ChatCompletionRequest', request.model);
    webllm.postInitAndCheckFieldsChatCompletion(request, modelId, webllm.ModelType.LLM);
    if (request.stream) throw new Error('FakeMLCEngine: streaming is not part of the double');
    const gen: GenerationConfig = {
      frequency_penalty: request.frequency_penalty,
      presence_penalty: request.presence_penalty,
      repetition_penalty: request.repetition_penalty,
      max_tokens: request.max_tokens,
      stop: request.stop,
      top_p: request.top_p,
      temperature: request.temperature,
      logit_bias: request.logit_bias,
      logprobs: request.logprobs,
      top_logprobs: request.top_logprobs,
      response_format: request.response_format,
      ignore_eos: request.ignore_eos,
      enable_thinking: request.extra_body?.enable_thinking,
    };
    const release = await this.acquire();
    try {
      this.interruptSignal = false;
      if (request.seed !== null && request.seed !== undefined) pipeline.setSeed(request.seed);
      let content = '';
      if (this.interruptSignal) pipeline.triggerStop();
      else content = await this.generate(request, pipeline, gen);
      const choice = {
        finish_reason: pipeline.finishReason!,
        index: 0,
        logprobs: request.logprobs ? { content: pipeline.tokenLogprobArray } : null,
        message: { content, role: 'assistant' as const },
      };
      const completionTokens = pipeline.outputIds.length;
      return {
        id: `fake-${this.world.requests.length}`,
        choices: [choice],
        model: modelId,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        usage: { completion_tokens: completionTokens, prompt_tokens: pipeline.prefillTokens, total_tokens: completionTokens + pipeline.prefillTokens },
      } as ChatCompletion;
    } finally {
      release();
    }
  }

  /** `_generate`: checks, prefill, decode loop (interrupt → triggerStop, finish "abort"). */
  private async generate(request: ChatCompletionRequestNonStreaming, pipeline: FakePipeline, gen: GenerationConfig): Promise<string> {
    checkGenerationConfig(gen);
    // preparePrefillInput: a new conversation unless this request continues the current one.
    const newConv = Conversation.fromRequest(request.messages, pipeline.conversation.config);
    const prev = pipeline.finishReason;
    if (prev === 'abort' || prev === 'length' || !pipeline.conversation.equals(newConv) || newConv.messages.length === 0) {
      pipeline.resetChat();
      pipeline.conversation = newConv;
    }
    const last = request.messages[request.messages.length - 1];
    await pipeline.prefill(last.content as string, gen, gen.enable_thinking);
    while (!pipeline.stopTriggered) {
      if (this.interruptSignal) {
        pipeline.triggerStop();
        break;
      }
      if (this.world.stepDelayMs > 0) await new Promise((r) => setTimeout(r, this.world.stepDelayMs));
      else await Promise.resolve();
      if (this.interruptSignal) {
        pipeline.triggerStop();
        break;
      }
      await pipeline.decode(gen);
    }
    return pipeline.outputMessage;
  }
}

/** `findModelRecord(modelId, appConfig)`. */
function findModelRecord(modelId: string, appConfig: AppConfig | undefined): ModelRecord {
  const r = appConfig?.model_list.find((x) => x.model_id === modelId);
  if (!r) throw Errors.modelNotFound(modelId);
  return r;
}

export interface FakeWebLLM {
  lib: WebLLMLib;
  world: FakeWorld;
  engines: FakeMLCEngine[];
}

/**
 * A fake library for WebLLMEngine's `lib` option: the real prebuiltAppConfig,
 * engines made by `createEngine`, cache helpers over the world's cache
 * (`hasModelInCache(modelId, appConfig?)`, `deleteModelAllInfoInCache(modelId, appConfig?)`,
 * both throwing ModelNotFoundError for a model outside appConfig, as the real ones).
 */
export function createFakeWebLLM(world: Partial<FakeWorld> & { modelOptions?: FakeModelOptions } = {}): FakeWebLLM {
  const { modelOptions, ...rest } = world;
  const w: FakeWorld = {
    gpu: { shaderF16: true, vramMB: 8192, label: 'Fake adapter' },
    online: true,
    cache: new Set(),
    model: new FakeModel(modelOptions),
    exposeInternals: true,
    stepDelayMs: 0,
    calls: [],
    requests: [],
    progress: [],
    ...rest,
  };
  const engines: FakeMLCEngine[] = [];
  const lib: WebLLMLib = {
    prebuiltAppConfig: webllm.prebuiltAppConfig,
    createEngine: (config) => {
      const e = new FakeMLCEngine(config, w);
      engines.push(e);
      return e;
    },
    async hasModelInCache(modelId, appConfig) {
      return w.cache.has(findModelRecord(modelId, appConfig ?? webllm.prebuiltAppConfig).model);
    },
    async deleteModelAllInfoInCache(modelId, appConfig) {
      w.cache.delete(findModelRecord(modelId, appConfig ?? webllm.prebuiltAppConfig).model);
    },
  };
  return { lib, world: w, engines };
}
