/**
 * The Engine on @mlc-ai/web-llm 0.2.86 (MLC's precompiled WebGPU kernels).
 *
 * Where it runs: directly inside our engine worker, as `new MLCEngine(config)`.
 * We are already in a worker, so WebLLM's own worker pair
 * (WebWorkerMLCEngineHandler / CreateWebWorkerMLCEngine) would only add a
 * second message hop and a second protocol; worse, its page-side proxy cannot
 * carry a LogitProcessor (a function) across postMessage, and it hides the
 * pipeline internals the full-logit path reads (the tokenizer). The engine is
 * built through an injectable factory (`lib`), so tests pass a test double.
 *
 * Decisions, two paths, chosen by what the loaded engine exposes:
 *  - full: a LogitProcessor registered for the model id (MLCEngineConfig.
 *    logitProcessorRegistry, before loading) copies the raw next-token logits
 *    WebLLM samples from. One chat completion of one token runs the prompt
 *    through the model's own conversation template (the same template the
 *    reports use), and the processor captures the logits at that position.
 *    Label token ids come from the pipeline's tokenizer, which WebLLM does not
 *    export but keeps at `engine.loadedModelIdToPipeline.get(id).tokenizer`
 *    (a @mlc-ai/web-tokenizers Tokenizer: encode(text) → Int32Array). The same
 *    call asks for WebLLM's top-5 log-probabilities and checks them against
 *    the captured logits, so a processor that saw the wrong step is caught.
 *    (forwardTokensAndSample(ids, isPrefill) would need the prompt's token ids,
 *    i.e. a re-implementation of WebLLM's conversation templates; the one-token
 *    completion gives the same logits with WebLLM's own template.)
 *  - top-k: when the tokenizer is not reachable (or `decisions: 'top-k'`):
 *    `logprobs: true, top_logprobs: 5` (logprobs alone returns an empty list),
 *    temperature 1 and penalties off, so the values are the model's own
 *    probabilities; basis 'top-k', capabilities().approximateChoice = true.
 *    A label outside the top 5 gets an upper bound (see scoreFromTopLogprobs).
 *
 * Reports: constrained = `response_format: {type: "json_object", schema}`
 * (XGrammar), greedy; if the reply ran out of tokens (XGrammar's JSON grammar
 * allows unlimited whitespace, a known loop for small models) it is retried
 * once under an equivalent whitespace-free EBNF grammar. Attribute names that
 * XGrammar's schema conversion mishandles (quotes, backslashes, control
 * characters) go straight to that grammar. Free = greedy, no format, parsed
 * with parseReport.
 */
import type {
  AppConfig,
  ChatCompletion,
  ChatCompletionMessageParam,
  ChatCompletionRequestNonStreaming,
  ChatOptions,
  LogitProcessor,
  LogLevel,
  MLCEngineConfig,
} from '@mlc-ai/web-llm';
import type { ChatMessage } from '../src/lib/prompts';
import { parseReport } from '../src/lib/reports';
import type { ReportMode } from '../src/lib/experiment/spec';
import type { ChoiceScore, Engine, EngineCapabilities, LoadOptions, LoadProgress, ReportResult } from '../src/lib/engine/types';
import { EngineError } from '../src/lib/engine/types';
import { WEBLLM_MODEL_IDS, findWebLLMModel, webllmFamilyOf, type WebLLMFamily, type WebLLMModelEntry } from '../src/lib/models/webllm-catalog';
import { probeDevice, type DeviceReport } from './device';
import {
  buildAppConfig,
  constrainedBudget,
  foldSystem,
  parseWebLLMProgress,
  reportGrammar,
  reportSchema,
  resolveWebLLMModel,
  schemaSafeNames,
  scoreFromLogits,
  scoreFromTopLogprobs,
  stripThinking,
  topLogprobsAgreement,
  webllmError,
} from './webllm-helpers';

export { reportSchema, reportGrammar } from './webllm-helpers';

/**
 * The parts of WebLLM's MLCEngineInterface the engine uses (signatures as in
 * @mlc-ai/web-llm 0.2.86 lib/types.d.ts; the real MLCEngine satisfies this).
 */
export interface MLCEngineLike {
  reload(modelId: string, chatOpts?: ChatOptions): Promise<void>;
  unload(): Promise<void>;
  resetChat(keepStats?: boolean, modelId?: string): Promise<void>;
  interruptGenerate(): void;
  forwardTokensAndSample(inputIds: number[], isPrefill: boolean, modelId?: string): Promise<number>;
  chat: { completions: { create(request: ChatCompletionRequestNonStreaming): Promise<ChatCompletion> } };
}

/** What the engine takes from the library: injectable, so tests can pass a double. */
export interface WebLLMLib {
  prebuiltAppConfig: AppConfig;
  createEngine(config: MLCEngineConfig): MLCEngineLike;
  hasModelInCache(modelId: string, appConfig?: AppConfig): Promise<boolean>;
  deleteModelAllInfoInCache(modelId: string, appConfig?: AppConfig): Promise<void>;
}

/** The real library, imported on demand (it is large). */
export async function loadWebLLMLib(): Promise<WebLLMLib> {
  const w = await import('@mlc-ai/web-llm');
  return {
    prebuiltAppConfig: w.prebuiltAppConfig,
    createEngine: (config) => new w.MLCEngine(config),
    hasModelInCache: w.hasModelInCache,
    deleteModelAllInfoInCache: w.deleteModelAllInfoInCache,
  };
}

export interface WebLLMEngineOptions {
  /** The library (default: @mlc-ai/web-llm). */
  lib?: () => Promise<WebLLMLib>;
  /** Device probe (default: probeDevice). */
  probe?: () => Promise<DeviceReport>;
  /** 'auto' (default): full logits when the engine exposes its tokenizer, else top-k. */
  decisions?: 'auto' | 'full' | 'top-k';
  /** 'schema' (default): json_object + JSON schema, grammar retry on overrun; 'grammar': the EBNF grammar only. */
  constrainedFormat?: 'schema' | 'grammar';
  /** WebLLM cache backend ('cache' by default in WebLLM). */
  cacheBackend?: AppConfig['cacheBackend'];
  /** Token budget of a free-mode reply (default 160, as the transformers engine). */
  maxReplyTokens?: number;
  /** Let Qwen3-style models think before answering (default false: `enable_thinking: false`). */
  thinking?: boolean;
  logLevel?: LogLevel;
}

/** The options that can cross into the worker (no functions). */
export type WebLLMWorkerOptions = Omit<WebLLMEngineOptions, 'lib' | 'probe'>;

export interface WebLLMStats {
  completions: number;
  fullDecisions: number;
  topKDecisions: number;
  /** Constrained reports retried under the whitespace-free grammar. */
  constrainedRetries: number;
  /** Largest gap between captured logits and WebLLM's top-5 log-probabilities. */
  maxTopAgreementDiff: number;
}

interface TokenizerLike {
  encode(text: string): Int32Array | number[];
}

/** Pipeline internals that WebLLM does not export but keeps on the engine object (0.2.86). */
function reachInternals(mlc: MLCEngineLike, modelId: string): { tokenizer: TokenizerLike | null; bos?: number; contextWindow?: number } {
  const e = mlc as unknown as {
    loadedModelIdToPipeline?: unknown;
    loadedModelIdToChatConfig?: unknown;
  };
  const pipeline = e.loadedModelIdToPipeline instanceof Map ? (e.loadedModelIdToPipeline.get(modelId) as { tokenizer?: unknown; bosTokenId?: unknown } | undefined) : undefined;
  const tok = pipeline?.tokenizer as TokenizerLike | undefined;
  const config = e.loadedModelIdToChatConfig instanceof Map ? (e.loadedModelIdToChatConfig.get(modelId) as { context_window_size?: unknown } | undefined) : undefined;
  return {
    tokenizer: tok && typeof tok.encode === 'function' ? tok : null,
    bos: typeof pipeline?.bosTokenId === 'number' ? pipeline.bosTokenId : undefined,
    contextWindow: typeof config?.context_window_size === 'number' && config.context_window_size > 0 ? config.context_window_size : undefined,
  };
}

/** Copies the raw logits of the next sampled position when armed; never changes them. */
class CaptureProcessor implements LogitProcessor {
  private armed = false;
  private captured: Float32Array | null = null;
  calls = 0;
  arm() {
    this.armed = true;
    this.captured = null;
  }
  take(): Float32Array | null {
    const c = this.captured;
    this.armed = false;
    this.captured = null;
    return c;
  }
  processLogits = (logits: Float32Array): Float32Array => {
    this.calls++;
    if (this.armed) {
      this.captured = logits.slice();
      this.armed = false;
    }
    return logits;
  };
  processSampledToken = (_token: number): void => {};
  resetState = (): void => {};
}

type Completion = { text: string; finish: string | null };
type RequestExtras = Omit<ChatCompletionRequestNonStreaming, 'messages' | 'stream'>;

export class WebLLMEngine implements Engine {
  private mlc: MLCEngineLike | null = null;
  private lib: WebLLMLib | null = null;
  private appConfig: AppConfig | null = null;
  private entry: WebLLMModelEntry | null = null;
  private family: WebLLMFamily | null = null;
  private caps: EngineCapabilities | null = null;
  private tokenizer: TokenizerLike | null = null;
  private bos: number | undefined;
  private mode: 'full' | 'top-k' = 'top-k';
  private readonly capture = new CaptureProcessor();
  private readonly labelIds = new Map<string, number>();
  private cancelRequested = false;
  private generation = 0;
  readonly stats: WebLLMStats = { completions: 0, fullDecisions: 0, topKDecisions: 0, constrainedRetries: 0, maxTopAgreementDiff: 0 };

  constructor(private readonly o: WebLLMEngineOptions = {}) {}

  private async getLib(): Promise<WebLLMLib> {
    this.lib ??= await (this.o.lib ?? loadWebLLMLib)();
    return this.lib;
  }

  /** The app config: prebuilt records filtered to the lab's catalog. */
  async appConfigFor(): Promise<AppConfig> {
    this.appConfig ??= buildAppConfig((await this.getLib()).prebuiltAppConfig, WEBLLM_MODEL_IDS, this.o.cacheBackend);
    return this.appConfig;
  }

  async load(opts: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<EngineCapabilities> {
    if (opts.adapter) throw new EngineError('unsupported', 'LoRA adapters are not supported by the WebLLM engine');
    if (opts.device === 'wasm' || opts.device === 'cpu') throw new EngineError('unsupported', 'WebLLM runs only on WebGPU');
    await this.unload();
    const generation = ++this.generation;
    const report = await (this.o.probe ?? probeDevice)();
    if (!report.webgpu) throw new EngineError('webgpu_unavailable', 'WebLLM needs WebGPU');
    const entry = resolveWebLLMModel(opts.model, opts.dtype, report.shaderF16);
    const lib = await this.getLib();
    const appConfig = await this.appConfigFor();
    if (!appConfig.model_list.some((r) => r.model_id === entry.modelId))
      throw new EngineError('model_not_found', `the installed WebLLM has no record of ${entry.modelId}`);

    if (generation !== this.generation) throw new EngineError('cancelled', 'the model was unloaded while loading');
    onProgress?.({ phase: 'init', text: `Loading ${entry.modelId}` });
    const want = this.o.decisions ?? 'auto';
    const mlc = lib.createEngine({
      appConfig,
      initProgressCallback: (r) => onProgress?.(parseWebLLMProgress(r)),
      // A registered processor costs a GPU→CPU→GPU copy of the logits per sampled token, so only when it is used.
      logitProcessorRegistry: want === 'top-k' ? undefined : new Map([[entry.modelId, this.capture]]),
      logLevel: this.o.logLevel ?? 'WARN',
    });
    this.mlc = mlc;
    try {
      await mlc.reload(entry.modelId);
    } catch (e) {
      if (this.mlc === mlc) this.mlc = null;
      await mlc.unload().catch(() => undefined);
      throw webllmError(e, 'load');
    }
    // WebLLM's reload() returns quietly when unload() aborted it.
    if (generation !== this.generation || this.mlc !== mlc) {
      if (this.mlc === mlc) this.mlc = null;
      await mlc.unload().catch(() => undefined);
      throw new EngineError('cancelled', 'the model was unloaded while loading');
    }

    const inside = reachInternals(mlc, entry.modelId);
    if (want === 'full' && !inside.tokenizer) {
      await this.unload();
      throw new EngineError('unsupported', 'this WebLLM build does not expose its tokenizer, so decisions cannot read full logits');
    }
    this.entry = entry;
    this.family = webllmFamilyOf(entry.modelId);
    this.tokenizer = inside.tokenizer;
    this.bos = inside.bos;
    this.mode = want !== 'top-k' && inside.tokenizer ? 'full' : 'top-k';
    this.caps = {
      engine: 'webllm',
      model: entry.modelId,
      device: 'webgpu',
      dtype: entry.quant,
      contextLength: inside.contextWindow ?? entry.contextWindow,
      adapter: null,
      approximateChoice: this.mode === 'top-k',
    };
    onProgress?.({ phase: 'ready', progress: 1 });
    return { ...this.caps };
  }

  private need(): MLCEngineLike {
    if (!this.mlc || !this.caps) throw new EngineError('not_loaded');
    return this.mlc;
  }

  private checkCancelled() {
    if (this.cancelRequested) {
      this.cancelRequested = false;
      throw new EngineError('cancelled');
    }
  }

  /** Which decision path is in use: 'full' logits or 'top-k' log-probabilities. */
  decisionBasis(): 'full' | 'top-k' {
    return this.mode;
  }

  private requestMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
    const ms = this.family?.systemRole === false ? foldSystem(messages) : messages;
    return ms.map((m) => ({ role: m.role, content: m.content }) as ChatCompletionMessageParam);
  }

  private thinkingOff(): Pick<RequestExtras, 'extra_body'> {
    return this.family?.thinking && !this.o.thinking ? { extra_body: { enable_thinking: false } } : {};
  }

  /** One chat completion from a fresh KV cache. */
  private async complete(messages: ChatMessage[], extras: RequestExtras): Promise<{ completion: Completion; response: ChatCompletion }> {
    const mlc = this.need();
    let response: ChatCompletion;
    try {
      await mlc.resetChat();
      response = await mlc.chat.completions.create({
        messages: this.requestMessages(messages),
        stream: false,
        top_p: 1,
        presence_penalty: 0,
        frequency_penalty: 0,
        repetition_penalty: 1,
        ...this.thinkingOff(),
        ...extras,
      });
    } catch (e) {
      throw webllmError(e, 'run');
    }
    this.stats.completions++;
    const choice = response.choices[0];
    if (choice?.finish_reason === 'abort') this.cancelRequested = true;
    this.checkCancelled();
    return { completion: { text: stripThinking(choice?.message?.content ?? ''), finish: choice?.finish_reason ?? null }, response };
  }

  private labelTokenIds(labels: string[]): number[] {
    const ids = labels.map((l) => {
      let id = this.labelIds.get(l);
      if (id === undefined) {
        const enc = Array.from(this.tokenizer!.encode(l));
        if (enc.length > 1 && this.bos !== undefined && enc[0] === this.bos) enc.shift();
        if (!enc.length) throw new EngineError('unsupported', `label "${l}" has no tokens`);
        id = enc[0];
        this.labelIds.set(l, id);
      }
      return id;
    });
    if (new Set(ids).size !== ids.length) throw new EngineError('unsupported', 'labels share their first token');
    return ids;
  }

  private fallBackToTopK(why: string) {
    console.warn(`WebLLM engine: full-logit decisions unavailable (${why}); using top-5 log-probabilities.`);
    this.mode = 'top-k';
    if (this.caps) this.caps.approximateChoice = true;
  }

  async scoreChoice(messages: ChatMessage[], labels: string[]): Promise<ChoiceScore> {
    this.need();
    this.cancelRequested = false;
    const labelIds = this.mode === 'full' ? this.labelTokenIds(labels) : null;
    if (labelIds) this.capture.arm();
    let captured: Float32Array | null = null;
    let response: ChatCompletion;
    try {
      ({ response } = await this.complete(messages, { max_tokens: 1, temperature: 1, logprobs: true, top_logprobs: 5 }));
    } finally {
      captured = this.capture.take();
    }
    const top = response.choices[0]?.logprobs?.content?.[0]?.top_logprobs ?? [];
    if (labelIds) {
      if (captured) {
        const diff = top.length ? topLogprobsAgreement(captured, top) : 0;
        this.stats.maxTopAgreementDiff = Math.max(this.stats.maxTopAgreementDiff, diff);
        if (diff <= 1e-3) {
          this.stats.fullDecisions++;
          return scoreFromLogits(labels, labelIds, captured);
        }
        this.fallBackToTopK(`captured logits differ from WebLLM's log-probabilities by ${diff.toFixed(4)}`);
      } else this.fallBackToTopK('the logit processor was not called');
    }
    this.stats.topKDecisions++;
    return scoreFromTopLogprobs(labels, top);
  }

  async report(messages: ChatMessage[], attributeNames: string[], mode: ReportMode): Promise<ReportResult> {
    this.need();
    this.cancelRequested = false;
    let completion: Completion;
    if (mode === 'constrained') {
      const budget = constrainedBudget(attributeNames) + (this.family?.thinking ? 8 : 0);
      const grammar = { type: 'grammar' as const, grammar: reportGrammar(attributeNames) };
      if ((this.o.constrainedFormat ?? 'schema') === 'schema' && schemaSafeNames(attributeNames)) {
        const schema = { type: 'json_object' as const, schema: JSON.stringify(reportSchema(attributeNames)) };
        ({ completion } = await this.complete(messages, { temperature: 0, max_tokens: budget, response_format: schema }));
        if (completion.finish === 'length') {
          this.stats.constrainedRetries++;
          ({ completion } = await this.complete(messages, { temperature: 0, max_tokens: budget, response_format: grammar }));
        }
      } else ({ completion } = await this.complete(messages, { temperature: 0, max_tokens: budget, response_format: grammar }));
    } else {
      ({ completion } = await this.complete(messages, { temperature: 0, max_tokens: this.o.maxReplyTokens ?? 160 }));
    }
    const parse = parseReport(completion.text, attributeNames);
    return { mode, text: completion.text, weights: parse.ok ? parse.weights : null, parse };
  }

  async cancel(): Promise<void> {
    this.cancelRequested = true;
    this.mlc?.interruptGenerate();
  }

  async unload(): Promise<void> {
    this.generation++;
    const mlc = this.mlc;
    this.mlc = null;
    this.caps = null;
    this.entry = null;
    this.family = null;
    this.tokenizer = null;
    this.bos = undefined;
    this.labelIds.clear();
    if (mlc) await mlc.unload().catch(() => undefined);
  }

  async capabilities(): Promise<EngineCapabilities | null> {
    return this.caps ? { ...this.caps } : null;
  }

  /** Whether a catalog model's weights are in the browser cache (false for models outside the catalog). */
  async isCached(modelId: string): Promise<boolean> {
    if (!findWebLLMModel(modelId)) return false;
    return (await this.getLib()).hasModelInCache(modelId, await this.appConfigFor());
  }

  /** Delete a catalog model's weights, tokenizer, library and config from the browser cache. */
  async deleteFromCache(modelId: string): Promise<void> {
    if (!findWebLLMModel(modelId)) throw new EngineError('model_not_found', `"${modelId}" is not a WebLLM model of this lab's catalog`);
    if (this.entry?.modelId === modelId) await this.unload();
    await (await this.getLib()).deleteModelAllInfoInCache(modelId, await this.appConfigFor());
  }
}

/** Cache status of a catalog model, without an engine (page or worker). */
export async function webllmModelCached(modelId: string, options: Pick<WebLLMEngineOptions, 'lib' | 'cacheBackend'> = {}): Promise<boolean> {
  return new WebLLMEngine(options).isCached(modelId);
}

/** Delete a catalog model from the browser cache, without an engine. */
export async function deleteWebLLMModel(modelId: string, options: Pick<WebLLMEngineOptions, 'lib' | 'cacheBackend'> = {}): Promise<void> {
  return new WebLLMEngine(options).deleteFromCache(modelId);
}
