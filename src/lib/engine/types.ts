/**
 * The one small interface every engine implements (transformers.js, WebLLM,
 * test doubles). It is shaped by the experiment, not by a library: a decision
 * needs the next-token distribution over the answer labels, a self-report
 * needs integers under exact keys.
 */
import type { ChatMessage, ObservedDecision } from '../prompts';
import type { ReportParse } from '../reports';
import type { AdapterRef, DeviceChoice, ReportMode } from '../experiment/spec';
import type { OptionValues, Scenario, Weights } from '../scenarios/types';
import type { TrialIntervention } from '../experiment/intervention';

/** 'simulated': a `sim:` model (src/lib/experiment/simulated.ts), no weights at all; 'openai': an OpenAI-compatible server. */
export type EngineName = 'transformers' | 'webllm' | 'openai' | 'simulated';
export type Device = 'webgpu' | 'wasm' | 'cpu';

export interface LoadOptions {
  /** Hugging Face id, URL, or local folder (Node) / served folder URL (browser). */
  model: string;
  device?: DeviceChoice;
  /** 'auto' picks what the device supports (q4f16 needs shader-f16). */
  dtype?: string;
  /**
   * PEFT LoRA adapter applied at load time (transformers.js only; see
   * src/lib/adapters/source.ts for the id forms). WebLLM refuses it.
   */
  adapter?: AdapterRef;
}

export type LoadPhase = 'download' | 'cache' | 'compile' | 'init' | 'ready';

export interface LoadProgress {
  phase: LoadPhase;
  /** File being fetched, when known. */
  file?: string;
  loadedBytes?: number;
  totalBytes?: number;
  /** 0..1 within the phase, when known. */
  progress?: number;
  /** The library's own words, for display. */
  text?: string;
}

export interface EngineCapabilities {
  engine: EngineName;
  model: string;
  /** 'server': the model runs on an OpenAI-compatible server the user named (on its hardware). */
  device: Device | 'server';
  dtype: string;
  /** Max tokens of prompt + reply. */
  contextLength: number;
  adapter: string | null;
  /** What was applied, when an adapter was (recorded with a run). */
  adapterInfo?: AdapterInfo;
  /** True when decision probabilities come from top-k logprobs rather than full logits. */
  approximateChoice?: boolean;
  /** How this engine was chosen for the model, when the app chose it (recorded with the run). */
  choice?: EngineChoiceRecord;
  /** How many calls may be in flight at once (a server batches them); 1 when absent. */
  maxConcurrency?: number;
  /** What an OpenAI-compatible server showed it supports, probed at load (engine 'openai'). */
  server?: ServerCapabilities;
}

export type ConstrainedFormat = 'json_schema' | 'grammar' | 'json_object_schema' | 'ollama_format';

export interface ServerCapabilities {
  baseUrl: string;
  /** Model names the server lists at /models. */
  models: string[];
  /** The served model name requests go to (the adapter's name when one is used). */
  servedModel: string;
  /** Whether a one-token completion came back with top_logprobs, and how many. */
  logprobs: boolean;
  topLogprobs: number;
  /**
   * Whether the labels' own log-probabilities come back directly (vLLM: the label as an open final
   * assistant message, `prompt_logprobs`): decisions are then exact (basis 'full'), not top-k.
   */
  exactLabels?: boolean;
  /** How constrained reports are asked for, or null when no format was enforced. */
  constrained: ConstrainedFormat | null;
  /** 'named': the adapter is a served model; 'runtime': loaded through the server's load endpoint. */
  adapter: 'named' | 'runtime' | null;
  /** What the server supports and lacks, in words, for the user before a run. */
  notes: string[];
}

export interface AdapterInfo {
  id: string;
  /** AdapterRef.scale as applied (1 = as trained). */
  scale: number;
  /** sha-256 of adapter_model.safetensors, hex. */
  sha256: string;
  /** PyTorch module names that got a LoRA branch. */
  modules: string[];
  /** Time to read and patch the ONNX graph, ms. */
  patchMs: number;
}

export interface EngineChoiceRecord {
  requested: 'auto' | Exclude<EngineName, 'simulated'>;
  /** The engine chosen before loading, and why, in plain words. */
  planned: EngineName;
  reason: string;
  userChoiceHonored: boolean;
  /** The WebLLM build that was tried, when WebLLM was chosen. */
  webllmModel?: string;
  /** Set when WebLLM failed to load and transformers.js ran instead. */
  fallback?: { reason: string; code: EngineErrorCode; detail: string };
}

export interface ChoiceScore {
  labels: string[];
  /** Log-probability of each label's first token at the next position (full vocabulary softmax). */
  logprobs: number[];
  /** P(label), normalised over the labels (sums to 1). */
  probs: number[];
  /** Total probability the model puts on the labels: how well it follows the answer format. */
  labelMass: number;
  /** Argmax label: the paper's temperature-0 answer. */
  choice: string;
  /** 'full' when read from the whole softmax, 'top-k' when only top-k logprobs were available. */
  basis: 'full' | 'top-k';
}

export interface ReportResult {
  mode: ReportMode;
  /** The reply as the model wrote it (text, never HTML). */
  text: string;
  /** Parsed weights aligned with the attribute names, or null when invalid. */
  weights: number[] | null;
  parse: ReportParse;
}

/**
 * The trial a call belongs to, as data. Engines that run a language model
 * ignore it (they see only the messages); the simulated engine decides from it
 * rather than parsing the prompt, which users may edit.
 */
export interface TrialContext {
  trialId: string;
  scenario: Scenario;
  /** The spec's target weights of the scenario. */
  target: Weights;
  a: OptionValues;
  b: OptionValues;
  /** The decisions shown in an observer's prompt; absent for decisions and self-reports. */
  examples?: ObservedDecision[];
  /** The trial's intervention (issue 18): engines that read no prompt (simulated models) apply it from here. */
  intervention?: TrialIntervention;
  /** A self-prediction trial (issue 18): what is predicted; absent for decisions and reports. */
  predict?: 'probability' | 'choice';
}

export interface Engine {
  load(options: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<EngineCapabilities>;
  /** Next-token log-probabilities of each label's first token after the templated prompt. */
  scoreChoice(messages: ChatMessage[], labels: string[], context?: TrialContext): Promise<ChoiceScore>;
  /** A self-report: reply text and the weights it gives each attribute. */
  report(messages: ChatMessage[], attributeNames: string[], mode: ReportMode, context?: TrialContext): Promise<ReportResult>;
  /**
   * Optional hint: the messages of the call likely to come next, so the engine
   * can prepare them (tokenize) while the current call computes.
   */
  prepare?(messages: ChatMessage[]): Promise<void>;
  /** Abort the call in flight (it rejects with code 'cancelled'); the engine stays loaded. */
  cancel(): Promise<void>;
  unload(): Promise<void>;
  capabilities(): Promise<EngineCapabilities | null>;
}

export type EngineErrorCode =
  | 'model_not_found'
  | 'network'
  | 'out_of_memory'
  | 'webgpu_unavailable'
  | 'device_lost'
  | 'cancelled'
  | 'not_loaded'
  | 'unsupported'
  | 'bad_model'
  | 'bad_adapter'
  | 'server_unreachable'
  | 'server_error'
  | 'unknown';

const USER_MESSAGES: Record<EngineErrorCode, string> = {
  model_not_found: 'The model could not be found. Check the model id, the folder or the server.',
  network: 'The model could not be downloaded: the network or the model host is unreachable. Models already in the browser cache still work offline.',
  out_of_memory: 'The model does not fit in memory on this device. Try a smaller model or a smaller dtype (q4).',
  webgpu_unavailable: 'WebGPU is not available in this browser. The lab can run on the CPU (WASM) instead, more slowly.',
  device_lost: 'The GPU device was lost (driver reset or memory pressure). Reload the model to continue; finished trials are kept.',
  cancelled: 'Cancelled.',
  not_loaded: 'No model is loaded.',
  unsupported: 'This engine does not support that.',
  bad_model: 'The model files are not in a format this engine can run.',
  bad_adapter: 'The LoRA adapter cannot be applied to this model; the model that was loaded is unchanged.',
  server_unreachable: 'The model server could not be reached. Check its address, that it is running, and (in the browser) that it allows this page (CORS).',
  server_error: 'The model server refused or failed the request. Finished trials are kept.',
  unknown: 'The engine failed unexpectedly.',
};

/** What a person reads: the message without its "[code]" prefix (the prefix is for code, across workers). */
export function readableError(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/^\[\w+\]\s*/, '');
}

/**
 * An error with a code the UI can act on and a message a user can read. The
 * code travels in the message text so it survives comlink's error transfer.
 */
export class EngineError extends Error {
  override name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    /** What went wrong in this case (the user message says what the code means in general). */
    readonly detail?: string,
  ) {
    super(`[${code}] ${USER_MESSAGES[code]}${detail ? ` (${detail})` : ''}`);
  }

  get userMessage(): string {
    return USER_MESSAGES[this.code];
  }

  /** Rebuild an EngineError from anything thrown, including one that crossed a worker boundary. */
  static from(e: unknown): EngineError {
    if (e instanceof EngineError) return e;
    const message = e instanceof Error ? e.message : String(e);
    const m = /^\[(\w+)\] .*?(?: \((.*)\))?$/s.exec(message);
    if (m && m[1] in USER_MESSAGES) return new EngineError(m[1] as EngineErrorCode, m[2]);
    return new EngineError(classify(message), message);
  }
}

/** Map library error texts to our codes (onnxruntime, WebGPU, fetch). */
export function classify(message: string): EngineErrorCode {
  const m = message.toLowerCase();
  if (/device (was )?lost|devicelost|gpudevicelost/.test(m)) return 'device_lost';
  if (/out of memory|\boom\b|failed to allocate|allocation failed|bad_alloc|memory access out of bounds/.test(m)) return 'out_of_memory';
  if (/webgpu.*(not (available|supported)|no adapter)|navigator\.gpu|requestadapter/.test(m)) return 'webgpu_unavailable';
  if (/not found|404|could not locate|no such file|enoent|unauthorized|401|file missing|invalid model id/.test(m)) return 'model_not_found';
  if (/\bcancel|aborterror|operation was aborted/.test(m)) return 'cancelled';
  if (/fetch failed|failed to fetch|networkerror|err_internet_disconnected|enotfound|econnrefused/.test(m)) return 'network';
  if (/protobuf|invalid model|onnx|load model/.test(m)) return 'bad_model';
  return 'unknown';
}
