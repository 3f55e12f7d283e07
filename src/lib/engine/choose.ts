/**
 * Which engine runs a model: WebLLM (precompiled WebGPU kernels, fast, only
 * for the models it ships) or transformers.js (any ONNX model, WebGPU or the
 * CPU). Pure: the caller supplies what the device and the catalog say, and
 * gets back the engine and a reason in plain words to show the user.
 */
import type { EngineName } from './types';
import { EngineError, type EngineErrorCode } from './types';

export type EngineUserChoice = 'auto' | 'transformers' | 'webllm';

export interface ChooseEngineInput {
  /** The model, for the reason text: a family ("qwen2.5-0.5b") or a model id ... */
  family?: string;
  /** ... or a catalog entry (transformers.js `ModelEntry` or a WebLLM entry); its label is shown when it has one. */
  model?: string | { family: string; label?: string; name?: string; id?: string; modelId?: string };
  /** Whether WebLLM ships a build of this model (webllmAvailableFor in the WebLLM catalog). */
  webllmAvailableForModel: boolean;
  /** Whether the browser gave a WebGPU adapter. */
  webgpu: boolean;
  /** Whether that adapter has the shader-f16 feature (WebLLM then uses its q4f16 builds). */
  shaderF16: boolean;
  /** The user's explicit choice; 'auto' or absent lets the lab decide. */
  userChoice?: EngineUserChoice;
  /** The LoRA adapter to apply (its id or name), if any: only transformers.js can. */
  adapter?: string;
}

/** Why WebLLM cannot run a model with an adapter (engine-facts: no adapter support; MLC merges adapters only offline). */
export const WEBLLM_ADAPTER_REASON =
  'WebLLM cannot apply LoRA adapters (its weights are precompiled builds; adapters can only be merged into them offline), while transformers.js applies them exactly at load time';

export interface EngineDecision {
  engine: EngineName;
  /** Plain words, shown to the user. */
  reason: string;
  /** False when the user asked for an engine that cannot run here. */
  userChoiceHonored: boolean;
}

function modelName(input: ChooseEngineInput): string {
  const m = input.model;
  if (m && typeof m === 'object') return m.label ?? m.name ?? m.family;
  const id = input.family ?? m;
  if (!id) return 'this model';
  return id.split('/').pop() || id;
}

export function chooseEngine(input: ChooseEngineInput): EngineDecision {
  const name = modelName(input);
  const choice = input.userChoice ?? 'auto';
  const quantNote = input.shaderF16 ? '' : ' This GPU lacks 16-bit shader support (shader-f16), so WebLLM uses its larger q4f32 build.';
  const webllmBlocker = !input.webgpu
    ? 'this browser has no WebGPU, which WebLLM needs'
    : !input.webllmAvailableForModel
      ? `WebLLM has no build of ${name}`
      : null;

  if (choice === 'transformers')
    return { engine: 'transformers', reason: `You chose transformers.js for ${name}.`, userChoiceHonored: true };
  if (input.adapter) {
    const adapted = `${name} with the adapter ${input.adapter}`;
    return choice === 'webllm'
      ? { engine: 'transformers', reason: `You chose WebLLM, but ${WEBLLM_ADAPTER_REASON}; ${adapted} runs with transformers.js instead.`, userChoiceHonored: false }
      : { engine: 'transformers', reason: `${adapted} runs with transformers.js: ${WEBLLM_ADAPTER_REASON}.`, userChoiceHonored: true };
  }
  if (choice === 'webllm') {
    if (webllmBlocker)
      return {
        engine: 'transformers',
        reason: `You chose WebLLM, but ${webllmBlocker}; ${name} runs with transformers.js instead.`,
        userChoiceHonored: false,
      };
    return { engine: 'webllm', reason: `You chose WebLLM for ${name}.${quantNote}`, userChoiceHonored: true };
  }
  if (!webllmBlocker)
    return {
      engine: 'webllm',
      reason: `${name} runs with WebLLM: its precompiled GPU kernels are usually faster than transformers.js.${quantNote}`,
      userChoiceHonored: true,
    };
  return {
    engine: 'transformers',
    reason: !input.webgpu
      ? `This browser has no WebGPU, so ${name} runs with transformers.js on the CPU (WASM), more slowly.`
      : `WebLLM has no build of ${name}, so it runs with transformers.js on the GPU.`,
    userChoiceHonored: true,
  };
}

const LOAD_FAILURE_WORDS: Partial<Record<EngineErrorCode, string>> = {
  out_of_memory: 'the model does not fit in GPU memory',
  device_lost: 'the GPU stopped responding while loading',
  webgpu_unavailable: 'WebGPU is not available',
  network: 'its files could not be downloaded',
  model_not_found: 'WebLLM has no such model',
  unsupported: 'this GPU lacks a feature the model needs',
  bad_model: 'its files are damaged',
  cancelled: 'loading was cancelled',
};

/**
 * After WebLLM failed to load a model: continue with transformers.js, so the
 * run still completes, and say why in plain words.
 */
export function fallbackAfterLoadFailure(error: unknown, modelName = 'the model'): { engine: 'transformers'; reason: string; code: EngineErrorCode } {
  const code = EngineError.from(error).code;
  const why = LOAD_FAILURE_WORDS[code] ?? 'it failed unexpectedly';
  return { engine: 'transformers', reason: `WebLLM could not load ${modelName} (${why}): running on transformers.js instead.`, code };
}
