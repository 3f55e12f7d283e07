/**
 * The Engine on @huggingface/transformers (ONNX Runtime: WebGPU or WASM in the
 * browser, onnxruntime-node in Node). Decisions read the next-token logits of
 * one forward pass; reports decode under a constraint or greedily. The KV cache
 * of the prompt prefix that consecutive trials share (system prompt, task,
 * scenario question) is computed once and reused.
 */
import { AutoConfig, AutoModelForCausalLM, AutoTokenizer, ModelRegistry, Tensor, env } from '@huggingface/transformers';
import type { ChatMessage } from '../src/lib/prompts';
import { parseReport } from '../src/lib/reports';
import type { ReportMode } from '../src/lib/experiment/spec';
import { decodeConstrainedReport, IntegerMask, numericCandidates } from '../src/lib/engine/constrained';
import type { ChoiceScore, Engine, EngineCapabilities, LoadOptions, LoadProgress, ReportResult } from '../src/lib/engine/types';
import { EngineError } from '../src/lib/engine/types';
import { pickDevice, pickDtype, probeDevice, wasmThreadsFor } from './device';
import { AdapterError, adaptedModelId, buildLoraAdapter } from '../src/lib/adapters';
import type { AdapterInfo } from '../src/lib/engine/types';
import { readAdapterFiles } from './adapter-files';
import { onnxFileFor, preparePatchedGraph, registerAdaptedModel, type AdaptedModel } from './adapter-model';
import { CHAT_TEMPLATE_FILES, missingTemplateMessage, parseChatTemplateFile, PROBE_CONVERSATION, type ChatTemplate } from '../src/lib/engine/chat-template';
import { fp32SizeMBOnDisk, readModelText } from './model-files';

type Past = Record<string, Tensor>;
/* The library's model and tokenizer classes are loosely typed; these are the parts we use. */
interface CausalLM {
  forward(inputs: Record<string, unknown>): Promise<Record<string, Tensor>>;
  dispose(): Promise<unknown>;
  config: { max_position_embeddings?: number; model_type?: string };
  generation_config?: { eos_token_id?: number | number[] };
  sessions: Record<string, { inputNames: string[] }>;
}
interface Tok {
  apply_chat_template(m: ChatMessage[], o: Record<string, unknown>): string;
  /** Set from tokenizer_config.json; the lab fills it from the template files when that has none. */
  chat_template: ChatTemplate | null;
  encode(text: string, o?: Record<string, unknown>): number[];
  decode(ids: number[], o?: Record<string, unknown>): string;
  get_vocab(): Map<string, number>;
  eos_token_id?: number;
}

/**
 * The prompt text from the model's own chat template. Thinking is off, as the
 * WebLLM engine turns it off (`enable_thinking: false`): Qwen3-style templates
 * then close an empty think block after the assistant header, so both engines
 * see the same text; templates without the variable ignore it.
 */
export function renderPrompt(tok: Pick<Tok, 'apply_chat_template'>, messages: ChatMessage[]): string {
  const options = { add_generation_prompt: true, tokenize: false, enable_thinking: false };
  try {
    return tok.apply_chat_template(messages, options);
  } catch {
    // Some templates (Gemma's) reject a system turn: fold it into the user turn.
    const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const rest = messages.filter((m) => m.role !== 'system');
    rest[0] = { ...rest[0], content: `${system}\n\n${rest[0].content}` };
    return tok.apply_chat_template(rest, options);
  }
}

/**
 * Gives the tokenizer the model's chat template wherever the folder keeps it (transformers.js
 * reads only tokenizer_config.json; today's transformers and Optimum write chat_template.jinja),
 * then renders a probe conversation, so a model without a usable template fails here, at load,
 * naming the files looked in, and not at its first trial.
 */
export async function ensureChatTemplate(tok: Tok, model: string): Promise<void> {
  for (const file of CHAT_TEMPLATE_FILES) {
    if (tok.chat_template) break;
    const text = await readModelText(model, file);
    if (text === null) continue;
    try {
      tok.chat_template = parseChatTemplateFile(file, text);
    } catch (e) {
      throw new EngineError('bad_model', missingTemplateMessage(model, (e as Error).message));
    }
  }
  if (!tok.chat_template) throw new EngineError('bad_model', missingTemplateMessage(model));
  try {
    renderPrompt(tok, [...PROBE_CONVERSATION]);
  } catch (e) {
    throw new EngineError('bad_model', missingTemplateMessage(model, (e as Error).message));
  }
}

/** A missing file of a transformers.js model: say what such a model folder holds. */
function withLayoutHint(e: EngineError): EngineError {
  if (e.code !== 'model_not_found') return e;
  return new EngineError(e.code, `${e.detail ?? ''}. A transformers.js model has config.json, tokenizer.json, tokenizer_config.json and ONNX weights under onnx/`);
}

export interface TransformersEngineOptions {
  /** Where local model folders are served from (browser) — env.localModelPath. */
  localModelPath?: string;
  allowRemoteModels?: boolean;
  /** Same-origin paths of onnxruntime-web's WASM files (never a CDN). */
  wasmPaths?: { mjs: string; wasm: string };
  /** ONNX Runtime Web's WASM threads (browser); unset, wasmThreadsFor (all cores, at most 4). */
  wasmThreads?: number;
  /** Reuse the KV cache of the shared prompt prefix (default true). */
  prefixReuse?: boolean;
  /** Shortest shared prefix worth caching, in tokens. */
  minPrefix?: number;
  /** Token budget of a free-mode reply. */
  maxReplyTokens?: number;
}

export interface EngineStats {
  forwards: number;
  tokensFed: number;
  prefixHits: number;
  /** Time inside ONNX Runtime's forward passes, and tokenising prompts (for benchmarks: where the time goes). */
  forwardMs: number;
  tokenizeMs: number;
}

/**
 * Let queued messages (a cancel from the page) run between decoding steps:
 * in a worker, ONNX Runtime's WASM steps can complete without ever yielding
 * to the message loop. A MessageChannel hop avoids setTimeout's 4 ms clamp.
 */
const yieldToEventLoop: () => Promise<void> = (() => {
  if (typeof setImmediate === 'function') return () => new Promise<void>((r) => setImmediate(r));
  if (typeof MessageChannel === 'undefined') return () => Promise.resolve();
  const channel = new MessageChannel();
  const waiting: Array<() => void> = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return () =>
    new Promise<void>((r) => {
      waiting.push(r);
      channel.port2.postMessage(0);
    });
})();

const STOP_TOKENS = ['<|im_end|>', '<|eot_id|>', '<|end_of_text|>', '<end_of_turn>', '<|endoftext|>', '</s>', '<|end|>'];

export class TransformersEngine implements Engine {
  private model: CausalLM | null = null;
  private tokenizer: Tok | null = null;
  private caps: EngineCapabilities | null = null;
  private mask: IntegerMask | null = null;
  private stopIds = new Set<number>();
  private keepLogitsInput = false;
  private cancelRequested = false;
  /** KV cache of the last shared prefix, and the ids of the last prompt (to find the next shared prefix). */
  private prefix: { ids: number[]; past: Past } | null = null;
  private lastIds: number[] | null = null;
  /** The hinted next prompt, and prompts already tokenised (tokenising is pure JS and costs ~1 ms). */
  private upcoming: ChatMessage[] | null = null;
  private readonly tokenized = new Map<string, number[]>();
  /** First token id of each answer label ("A", "B"), per loaded tokenizer. */
  private readonly labelIds = new Map<string, number>();
  readonly stats: EngineStats = { forwards: 0, tokensFed: 0, prefixHits: 0, forwardMs: 0, tokenizeMs: 0 };

  constructor(private readonly o: TransformersEngineOptions = {}) {}

  setPrefixReuse(on: boolean) {
    this.o.prefixReuse = on;
    void this.dropPrefix();
  }

  async load(opts: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<EngineCapabilities> {
    env.allowRemoteModels = this.o.allowRemoteModels ?? true;
    if (this.o.localModelPath) {
      env.allowLocalModels = true;
      env.localModelPath = this.o.localModelPath;
    }
    const onnxWasm = (env.backends.onnx as { wasm?: { wasmPaths?: unknown } }).wasm;
    if (this.o.wasmPaths && onnxWasm) onnxWasm.wasmPaths = this.o.wasmPaths;
    const report = await probeDevice();
    // Read once, when ONNX Runtime Web starts (the first session of this worker).
    if (onnxWasm && !report.node) {
      const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
      (onnxWasm as { numThreads?: number }).numThreads = this.o.wasmThreads ?? wasmThreadsFor(nav?.hardwareConcurrency, report.wasmThreads);
    }
    const device = pickDevice(opts.device, report);
    const progress_callback = (info: { status: string; file?: string; loaded?: number; total?: number; progress?: number }) => {
      if (info.status === 'progress_total')
        onProgress?.({ phase: 'download', loadedBytes: info.loaded, totalBytes: info.total, progress: (info.progress ?? 0) / 100 });
      else if (info.status === 'progress')
        onProgress?.({ phase: 'download', file: info.file, loadedBytes: info.loaded, totalBytes: info.total, progress: (info.progress ?? 0) / 100 });
      else if (info.status === 'initiate') onProgress?.({ phase: 'download', file: info.file, text: `Fetching ${info.file}` });
    };
    let config: Record<string, unknown>;
    try {
      // The config first: a missing model then fails with "not found", not deep inside the tokenizer.
      config = (await AutoConfig.from_pretrained(opts.model, { progress_callback })) as unknown as Record<string, unknown>;
    } catch (e) {
      throw withLayoutHint(EngineError.from(e));
    }
    // 'auto' picks among the ONNX files the model actually publishes.
    const available = !opts.dtype || opts.dtype === 'auto' ? await ModelRegistry.get_available_dtypes(opts.model).catch(() => undefined) : undefined;
    const sizeMB = available && device === 'cpu' ? { fp32: await fp32SizeMBOnDisk(opts.model).catch(() => undefined) } : undefined;
    const dtype = pickDtype(opts.dtype, device, report, available, sizeMB);
    // The adapter is read, checked and patched into the graph before the loaded model is let go.
    const adapted = opts.adapter ? await this.prepareAdapter(opts, dtype, config, onProgress) : null;
    await this.unload();
    try {
      this.tokenizer = (await AutoTokenizer.from_pretrained(opts.model, { progress_callback })) as unknown as Tok;
      await ensureChatTemplate(this.tokenizer, opts.model);
      this.model = (await AutoModelForCausalLM.from_pretrained(adapted?.model.id ?? opts.model, {
        device,
        dtype: dtype as 'fp32',
        progress_callback,
      })) as unknown as CausalLM;
    } catch (e) {
      this.model = null;
      this.tokenizer = null;
      throw withLayoutHint(EngineError.from(e));
    } finally {
      await adapted?.release();
    }
    onProgress?.({ phase: 'init', text: 'Preparing the tokenizer tables' });
    this.prepareTables();
    const session = this.model.sessions.model ?? Object.values(this.model.sessions)[0];
    this.keepLogitsInput = session.inputNames.includes('num_logits_to_keep');
    this.caps = {
      engine: 'transformers',
      model: opts.model,
      device,
      dtype,
      contextLength: this.model.config.max_position_embeddings ?? 2048,
      adapter: adapted ? adapted.info.id : null,
      ...(adapted ? { adapterInfo: adapted.info } : {}),
    };
    onProgress?.({ phase: 'ready', progress: 1 });
    return this.caps;
  }

  /** Reads and checks the adapter and patches the graph; any problem is EngineError('bad_adapter'). */
  private async prepareAdapter(
    opts: LoadOptions,
    dtype: string,
    config: Record<string, unknown>,
    onProgress?: (p: LoadProgress) => void,
  ): Promise<{ model: AdaptedModel; info: AdapterInfo; release: () => Promise<void> }> {
    const ref = opts.adapter!;
    const scale = ref.scale ?? 1;
    onProgress?.({ phase: 'init', text: `Applying the LoRA adapter ${ref.id}` });
    let release: (() => Promise<void>) | null = null;
    try {
      const files = await readAdapterFiles(ref.id);
      const adapter = buildLoraAdapter(files, { scale, baseModel: opts.model });
      const model: AdaptedModel = {
        id: adaptedModelId(opts.model, ref.id, scale, files.sha256),
        base: opts.model,
        onnxFile: onnxFileFor(dtype),
        adapter,
        config: config as AdaptedModel['config'],
      };
      release = registerAdaptedModel(model);
      await preparePatchedGraph(model);
      const info: AdapterInfo = { id: ref.id, scale, sha256: files.sha256, modules: adapter.modules.map((m) => m.name), patchMs: model.result!.ms };
      return { model, info, release };
    } catch (e) {
      await release?.();
      if (e instanceof AdapterError) throw new EngineError('bad_adapter', e.message);
      throw EngineError.from(e);
    }
  }

  private prepareTables() {
    const tok = this.tokenizer!;
    const vocab = tok.get_vocab();
    // Decode only the pieces that can be part of a number; decoding a 150k vocabulary would take seconds.
    const numeric = numericCandidates(vocab).map((id) => ({ id, text: tok.decode([id]) }));
    this.mask = new IntegerMask(numeric);
    const eos = this.model!.generation_config?.eos_token_id;
    for (const id of [eos, tok.eos_token_id].flat()) if (typeof id === 'number') this.stopIds.add(id);
    for (const t of STOP_TOKENS) {
      const id = vocab.get(t);
      if (id !== undefined) this.stopIds.add(id);
    }
  }

  private need(): { model: CausalLM; tok: Tok } {
    if (!this.model || !this.tokenizer) throw new EngineError('not_loaded');
    return { model: this.model, tok: this.tokenizer };
  }

  private checkCancelled = () => {
    if (this.cancelRequested) {
      this.cancelRequested = false;
      throw new EngineError('cancelled');
    }
  };

  async prepare(messages: ChatMessage[]): Promise<void> {
    this.upcoming = messages;
  }

  /** Prompt token ids from the model's own chat template. */
  promptIds(messages: ChatMessage[]): number[] {
    const key = JSON.stringify(messages);
    const ready = this.tokenized.get(key);
    if (ready) {
      this.tokenized.delete(key);
      return ready;
    }
    return this.tokenize(messages);
  }

  private tokenize(messages: ChatMessage[]): number[] {
    const { tok } = this.need();
    const t0 = performance.now();
    const ids = tok.encode(renderPrompt(tok, messages), { add_special_tokens: false });
    this.stats.tokenizeMs += performance.now() - t0;
    return ids;
  }

  /** Runs while ONNX Runtime computes a forward pass on its own threads. */
  private tokenizeUpcoming() {
    const next = this.upcoming;
    this.upcoming = null;
    if (!next) return;
    if (this.tokenized.size > 8) this.tokenized.clear();
    this.tokenized.set(JSON.stringify(next), this.tokenize(next));
  }

  private encodePiece = (text: string): number[] => this.need().tok.encode(text, { add_special_tokens: false });

  /** One forward pass over `ids` after `past`; returns the last position's logits and the new cache. */
  private async forward(ids: number[], past: Past | null, pastLength: number): Promise<{ logits: Float32Array; present: Past }> {
    const { model } = this.need();
    await yieldToEventLoop();
    this.checkCancelled();
    const total = pastLength + ids.length;
    const inputs: Record<string, unknown> = {
      input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    };
    if (past) inputs.past_key_values = past;
    // Only the last position's logits are needed; a full [seq, vocab] block is large for real vocabularies.
    if (this.keepLogitsInput) inputs.num_logits_to_keep = new Tensor('int64', [1n], []);
    let out: Record<string, Tensor>;
    const t0 = performance.now();
    try {
      const running = model.forward(inputs);
      this.tokenizeUpcoming();
      out = await running;
      this.stats.forwardMs += performance.now() - t0;
    } catch (e) {
      throw EngineError.from(e);
    }
    this.stats.forwards++;
    this.stats.tokensFed += ids.length;
    const present: Past = {};
    for (const [name, t] of Object.entries(out)) if (name.startsWith('present')) present[name.replace('present', 'past_key_values')] = t;
    const [, seq, vocab] = out.logits.dims as number[];
    const data = out.logits.data as Float32Array;
    return { logits: data.slice((seq - 1) * vocab, seq * vocab), present };
  }

  private static release(past: Past | null, keep?: Past | null) {
    if (!past) return;
    const kept = new Set(keep ? Object.values(keep) : []);
    for (const t of Object.values(past)) if (!kept.has(t) && t.location === 'gpu-buffer') t.dispose();
  }

  private async dropPrefix() {
    TransformersEngine.release(this.prefix?.past ?? null);
    this.prefix = null;
    this.lastIds = null;
  }

  /**
   * Run the prompt, reusing the cached prefix when it matches; when this
   * prompt shares a long enough prefix with the previous one, cache that
   * prefix first so the following trials start from it.
   */
  private async prefill(ids: number[]): Promise<{ logits: Float32Array; present: Past }> {
    const reuse = this.o.prefixReuse ?? true;
    const last = this.lastIds;
    this.lastIds = ids;
    if (!reuse) return this.forward(ids, null, 0);
    if (!(this.prefix && this.prefix.ids.length < ids.length && this.prefix.ids.every((t, i) => ids[i] === t))) {
      let shared = 0;
      if (last) while (shared < last.length && shared < ids.length - 1 && last[shared] === ids[shared]) shared++;
      if (shared < (this.o.minPrefix ?? 16)) return this.forward(ids, null, 0);
      TransformersEngine.release(this.prefix?.past ?? null);
      this.prefix = null;
      const head = ids.slice(0, shared);
      const { present } = await this.forward(head, null, 0);
      this.prefix = { ids: head, past: present };
    } else this.stats.prefixHits++;
    return this.forward(ids.slice(this.prefix.ids.length), this.prefix.past, this.prefix.ids.length);
  }

  /** Raw next-token logits after `ids` (no cache): for tests and benchmarks that compare with a reference. */
  async nextTokenLogits(ids: number[]): Promise<Float32Array> {
    const { logits, present } = await this.forward(ids, null, 0);
    TransformersEngine.release(present);
    return logits;
  }

  async scoreChoice(messages: ChatMessage[], labels: string[]): Promise<ChoiceScore> {
    const { tok } = this.need();
    this.cancelRequested = false;
    const labelIds = labels.map((l) => {
      let id = this.labelIds.get(l);
      if (id === undefined) {
        const ids = tok.encode(l, { add_special_tokens: false });
        if (!ids.length) throw new EngineError('unsupported', `label "${l}" has no tokens`);
        this.labelIds.set(l, (id = ids[0]));
      }
      return id;
    });
    if (new Set(labelIds).size !== labelIds.length) throw new EngineError('unsupported', 'labels share their first token');
    const { logits, present } = await this.prefill(this.promptIds(messages));
    TransformersEngine.release(present, this.prefix?.past);
    let max = -Infinity;
    for (const x of logits) if (x > max) max = x;
    let sum = 0;
    for (const x of logits) sum += Math.exp(x - max);
    const lse = max + Math.log(sum);
    const logprobs = labelIds.map((id) => logits[id] - lse);
    const raw = logprobs.map(Math.exp);
    const labelMass = raw.reduce((a, b) => a + b, 0);
    // Normalise in log space so tiny masses still give exact relative probabilities.
    const lmax = Math.max(...logprobs);
    const rel = logprobs.map((l) => Math.exp(l - lmax));
    const z = rel.reduce((a, b) => a + b, 0);
    const probs = rel.map((r) => r / z);
    const best = probs.indexOf(Math.max(...probs));
    return { labels, logprobs, probs, labelMass, choice: labels[best], basis: 'full' };
  }

  async report(messages: ChatMessage[], attributeNames: string[], mode: ReportMode): Promise<ReportResult> {
    const { tok } = this.need();
    this.cancelRequested = false;
    const start = await this.prefill(this.promptIds(messages));
    let past: Past = start.present;
    let length = this.lastIds!.length;
    const step = async (ids: number[]) => {
      const r = await this.forward(ids, past, length);
      TransformersEngine.release(past, this.prefix?.past);
      past = r.present;
      length += ids.length;
      return r.logits;
    };
    try {
      if (mode === 'constrained') {
        const { text, weights } = await decodeConstrainedReport({
          names: attributeNames,
          mask: this.mask!,
          encode: this.encodePiece,
          step,
          first: start.logits,
          checkCancelled: this.checkCancelled,
        });
        return { mode, text, weights, parse: parseReport(text, attributeNames) };
      }
      const out: number[] = [];
      let logits = start.logits;
      for (let i = 0; i < (this.o.maxReplyTokens ?? 160); i++) {
        let best = 0;
        for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
        if (this.stopIds.has(best)) break;
        out.push(best);
        logits = await step([best]);
      }
      const text = tok.decode(out, { skip_special_tokens: true });
      const parse = parseReport(text, attributeNames);
      return { mode, text, weights: parse.ok ? parse.weights : null, parse };
    } finally {
      TransformersEngine.release(past, this.prefix?.past);
    }
  }

  /** ONNX Runtime Web's WASM settings as it resolved them, and the page's isolation (for benchmarks). */
  runtime() {
    const wasm = (env.backends.onnx as { wasm?: { numThreads?: number; simd?: boolean; proxy?: boolean } }).wasm;
    const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
    return {
      device: this.caps?.device ?? null,
      stats: { ...this.stats },
      numThreads: wasm?.numThreads ?? null,
      simd: wasm?.simd ?? null,
      proxy: wasm?.proxy ?? null,
      crossOriginIsolated: g.crossOriginIsolated ?? null,
      hardwareConcurrency: g.navigator?.hardwareConcurrency ?? null,
    };
  }

  async cancel(): Promise<void> {
    this.cancelRequested = true;
  }

  async unload(): Promise<void> {
    await this.dropPrefix();
    this.tokenized.clear();
    this.labelIds.clear();
    this.upcoming = null;
    const m = this.model;
    this.model = null;
    this.tokenizer = null;
    this.caps = null;
    this.mask = null;
    this.stopIds.clear();
    if (m) await m.dispose();
  }

  async capabilities(): Promise<EngineCapabilities | null> {
    return this.caps;
  }
}
