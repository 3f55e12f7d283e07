/**
 * The small models WebLLM 0.2.86 ships prebuilt (`prebuiltAppConfig.model_list`),
 * as pure data, so the UI can list them without loading the 7 MB library.
 * The ids, VRAM figures, low-resource flags and required features are copied
 * from node_modules/@mlc-ai/web-llm@0.2.86; test/webllm-catalog.test.ts checks
 * every field against the installed package, so a version bump that changes
 * them fails the tests instead of drifting silently.
 *
 * Each WebLLM model belongs to a family: the upstream Hugging Face model it was
 * converted from, keyed like `ModelEntry.family` in the transformers.js
 * catalog (./catalog). The key pairs a WebLLM build with the transformers.js
 * (ONNX) build of the same model, so a run can fall back from one engine to the
 * other on the same weights' origin (the quantisations differ).
 */

/**
 * WebLLM's quantisations: 4-bit weights (q4…), or none (q0…: SmolLM2-135M, too small to need it),
 * computing in 16-bit floats (…f16, needs the WebGPU shader-f16 feature) or 32-bit (…f32).
 */
export type WebLLMQuant = 'q4f16_1' | 'q4f32_1' | 'q0f16' | 'q0f32';

/** Whether a build computes in 16-bit floats (needs shader-f16). */
export const isHalfQuant = (quant: WebLLMQuant): boolean => /f16/.test(quant);

export interface WebLLMFamily {
  /** The key shared with the transformers.js catalog (`ModelEntry.family` in ./catalog), e.g. "qwen2.5-0.5b". */
  family: string;
  /** The upstream model name, e.g. "Qwen2.5-0.5B-Instruct" (WebLLM ids start with it). */
  name: string;
  /** Upstream Hugging Face repository. */
  upstream: string;
  /**
   * A transformers.js (ONNX) repository of the same model, when one is known to
   * exist; null where none was found. Pairing also works by name
   * (webllmFamilyOf), so any other ONNX conversion of the model pairs too.
   */
  transformersJs: string | null;
  /** Parameter count, for display. */
  params: string;
  /** Qwen3-style reasoning models: the engine turns thinking off (`enable_thinking: false`). */
  thinking?: boolean;
  /** False when the chat template has no system turn (Gemma 2): the system prompt is folded into the user turn. */
  systemRole?: boolean;
}

export interface WebLLMModelEntry {
  /** WebLLM `model_id`. */
  modelId: string;
  family: string;
  quant: WebLLMQuant;
  /** `vram_required_MB` of the prebuilt record. */
  vramMB: number;
  /** `low_resource_required` of the prebuilt record. */
  lowResource: boolean;
  /** `overrides.context_window_size` of the prebuilt record. */
  contextWindow: number;
  /** `required_features` of the prebuilt record (WebLLM checks these before loading). */
  requiredFeatures: string[];
}

export const WEBLLM_FAMILIES: readonly WebLLMFamily[] = [
  { family: 'qwen2.5-0.5b', name: 'Qwen2.5-0.5B-Instruct', upstream: 'Qwen/Qwen2.5-0.5B-Instruct', transformersJs: 'onnx-community/Qwen2.5-0.5B-Instruct', params: '0.5B' },
  { family: 'qwen2.5-1.5b', name: 'Qwen2.5-1.5B-Instruct', upstream: 'Qwen/Qwen2.5-1.5B-Instruct', transformersJs: 'onnx-community/Qwen2.5-1.5B-Instruct', params: '1.5B' },
  { family: 'qwen3-0.6b', name: 'Qwen3-0.6B', upstream: 'Qwen/Qwen3-0.6B', transformersJs: 'onnx-community/Qwen3-0.6B-ONNX', params: '0.6B', thinking: true },
  { family: 'qwen3-1.7b', name: 'Qwen3-1.7B', upstream: 'Qwen/Qwen3-1.7B', transformersJs: null, params: '1.7B', thinking: true },
  { family: 'llama-3.2-1b', name: 'Llama-3.2-1B-Instruct', upstream: 'meta-llama/Llama-3.2-1B-Instruct', transformersJs: 'onnx-community/Llama-3.2-1B-Instruct', params: '1B' },
  { family: 'llama-3.2-3b', name: 'Llama-3.2-3B-Instruct', upstream: 'meta-llama/Llama-3.2-3B-Instruct', transformersJs: null, params: '3B' },
  { family: 'smollm2-135m', name: 'SmolLM2-135M-Instruct', upstream: 'HuggingFaceTB/SmolLM2-135M-Instruct', transformersJs: 'HuggingFaceTB/SmolLM2-135M-Instruct', params: '135M' },
  { family: 'smollm2-360m', name: 'SmolLM2-360M-Instruct', upstream: 'HuggingFaceTB/SmolLM2-360M-Instruct', transformersJs: 'HuggingFaceTB/SmolLM2-360M-Instruct', params: '360M' },
  { family: 'smollm2-1.7b', name: 'SmolLM2-1.7B-Instruct', upstream: 'HuggingFaceTB/SmolLM2-1.7B-Instruct', transformersJs: 'HuggingFaceTB/SmolLM2-1.7B-Instruct', params: '1.7B' },
  { family: 'gemma-2-2b', name: 'gemma-2-2b-it', upstream: 'google/gemma-2-2b-it', transformersJs: null, params: '2B', systemRole: false },
  { family: 'phi-3.5-mini', name: 'Phi-3.5-mini-instruct', upstream: 'microsoft/Phi-3.5-mini-instruct', transformersJs: 'onnx-community/Phi-3.5-mini-instruct-onnx-web', params: '3.8B' },
];

const m = (modelId: string, family: string, quant: WebLLMQuant, vramMB: number, lowResource: boolean, contextWindow = 4096, requiredFeatures: string[] = []): WebLLMModelEntry => ({
  modelId,
  family,
  quant,
  vramMB,
  lowResource,
  contextWindow,
  requiredFeatures,
});

/**
 * A 16-bit and a 32-bit build of each family (q4, or q0 for SmolLM2-135M, which WebLLM ships
 * unquantised only); Gemma 2 and Phi 3.5 also have 1k-context builds that need less memory.
 */
export const WEBLLM_MODELS: readonly WebLLMModelEntry[] = [
  m('Qwen2.5-0.5B-Instruct-q4f16_1-MLC', 'qwen2.5-0.5b', 'q4f16_1', 944.62, true),
  m('Qwen2.5-0.5B-Instruct-q4f32_1-MLC', 'qwen2.5-0.5b', 'q4f32_1', 1060.2, true),
  m('Qwen2.5-1.5B-Instruct-q4f16_1-MLC', 'qwen2.5-1.5b', 'q4f16_1', 1629.75, true),
  m('Qwen2.5-1.5B-Instruct-q4f32_1-MLC', 'qwen2.5-1.5b', 'q4f32_1', 1888.97, true),
  m('Qwen3-0.6B-q4f16_1-MLC', 'qwen3-0.6b', 'q4f16_1', 1403.34, true),
  m('Qwen3-0.6B-q4f32_1-MLC', 'qwen3-0.6b', 'q4f32_1', 1924.98, true),
  m('Qwen3-1.7B-q4f16_1-MLC', 'qwen3-1.7b', 'q4f16_1', 2036.66, true),
  m('Qwen3-1.7B-q4f32_1-MLC', 'qwen3-1.7b', 'q4f32_1', 2635.44, true),
  m('Llama-3.2-1B-Instruct-q4f16_1-MLC', 'llama-3.2-1b', 'q4f16_1', 879.04, true),
  m('Llama-3.2-1B-Instruct-q4f32_1-MLC', 'llama-3.2-1b', 'q4f32_1', 1128.82, true),
  m('Llama-3.2-3B-Instruct-q4f16_1-MLC', 'llama-3.2-3b', 'q4f16_1', 2263.69, true),
  m('Llama-3.2-3B-Instruct-q4f32_1-MLC', 'llama-3.2-3b', 'q4f32_1', 2951.51, true),
  m('SmolLM2-135M-Instruct-q0f16-MLC', 'smollm2-135m', 'q0f16', 359.69, true, 4096, ['shader-f16']),
  m('SmolLM2-135M-Instruct-q0f32-MLC', 'smollm2-135m', 'q0f32', 719.38, true),
  m('SmolLM2-360M-Instruct-q4f16_1-MLC', 'smollm2-360m', 'q4f16_1', 376.06, true, 4096, ['shader-f16']),
  m('SmolLM2-360M-Instruct-q4f32_1-MLC', 'smollm2-360m', 'q4f32_1', 579.61, true),
  m('SmolLM2-1.7B-Instruct-q4f16_1-MLC', 'smollm2-1.7b', 'q4f16_1', 1774.19, true, 4096, ['shader-f16']),
  m('SmolLM2-1.7B-Instruct-q4f32_1-MLC', 'smollm2-1.7b', 'q4f32_1', 2692.38, true),
  m('gemma-2-2b-it-q4f16_1-MLC', 'gemma-2-2b', 'q4f16_1', 1895.3, false, 4096, ['shader-f16']),
  m('gemma-2-2b-it-q4f32_1-MLC', 'gemma-2-2b', 'q4f32_1', 2508.75, false),
  m('gemma-2-2b-it-q4f16_1-MLC-1k', 'gemma-2-2b', 'q4f16_1', 1583.3, true, 1024, ['shader-f16']),
  m('gemma-2-2b-it-q4f32_1-MLC-1k', 'gemma-2-2b', 'q4f32_1', 1884.75, true, 1024),
  m('Phi-3.5-mini-instruct-q4f16_1-MLC', 'phi-3.5-mini', 'q4f16_1', 3672.07, false),
  m('Phi-3.5-mini-instruct-q4f32_1-MLC', 'phi-3.5-mini', 'q4f32_1', 5483.12, false),
  m('Phi-3.5-mini-instruct-q4f16_1-MLC-1k', 'phi-3.5-mini', 'q4f16_1', 2520.07, true, 1024),
  m('Phi-3.5-mini-instruct-q4f32_1-MLC-1k', 'phi-3.5-mini', 'q4f32_1', 3179.12, true, 1024),
];

/** The `model_id`s of the catalog: the filter applied to `prebuiltAppConfig.model_list`. */
export const WEBLLM_MODEL_IDS: readonly string[] = WEBLLM_MODELS.map((x) => x.modelId);

/** …f16 builds run f16 arithmetic in shaders: they need the WebGPU `shader-f16` feature. */
export function needsShaderF16(entry: WebLLMModelEntry): boolean {
  return isHalfQuant(entry.quant) || entry.requiredFeatures.includes('shader-f16');
}

export function findWebLLMModel(modelId: string): WebLLMModelEntry | null {
  return WEBLLM_MODELS.find((x) => x.modelId === modelId) ?? null;
}

/** Reduce any id of a model (WebLLM, upstream, ONNX conversion) to its bare lower-case name. */
function bareName(id: string): string {
  const last = id.trim().replace(/\/+$/, '').split('/').pop() ?? '';
  return last
    .toLowerCase()
    .replace(/-q[04]f(16|32)(_1)?-mlc(-1k)?$/, '')
    .replace(/-onnx(-web)?$/, '')
    .replace(/-q4f16$/, '');
}

/**
 * The family of any id that names one of the catalog's models: the shared
 * family key ("qwen2.5-0.5b"), a WebLLM `model_id`, the upstream repository,
 * a transformers.js repository, or the bare name ("SmolLM2-360M-Instruct").
 */
export function webllmFamilyOf(id: string): WebLLMFamily | null {
  const entry = findWebLLMModel(id);
  if (entry) return WEBLLM_FAMILIES.find((f) => f.family === entry.family) ?? null;
  const lower = id.trim().toLowerCase();
  const name = bareName(id);
  if (!name) return null;
  return (
    WEBLLM_FAMILIES.find((f) => f.family === lower) ??
    WEBLLM_FAMILIES.find((f) => f.name.toLowerCase() === name || f.upstream.toLowerCase() === lower) ??
    null
  );
}

/** Whether WebLLM has a build of the model this id names. */
export function webllmAvailableFor(id: string): boolean {
  return webllmFamilyOf(id) !== null;
}

export interface PickOptions {
  /** Prefer a build needing at most this much GPU memory (a 1k-context build, where one exists). */
  maxVramMB?: number;
}

/**
 * The WebLLM build of a family (key, or any id webllmFamilyOf understands) for this device: the
 * 16-bit build (q4f16_1, or q0f16) when the GPU has shader-f16 (smaller and faster), the 32-bit
 * one otherwise. The full-context build unless `maxVramMB` asks for a smaller one. Null for an
 * unknown family.
 */
export function pickWebLLMModel(family: string, shaderF16: boolean, options: PickOptions = {}): WebLLMModelEntry | null {
  const fam = webllmFamilyOf(family);
  if (!fam) return null;
  const builds = WEBLLM_MODELS.filter((x) => x.family === fam.family && isHalfQuant(x.quant) === shaderF16).sort((a, b) => b.contextWindow - a.contextWindow);
  if (!builds.length) return null;
  if (options.maxVramMB !== undefined) return builds.find((b) => b.vramMB <= options.maxVramMB!) ?? builds[builds.length - 1];
  return builds[0];
}

/** The transformers.js repository paired with a WebLLM model (or any id of its family), when one is known. */
export function transformersPairOf(id: string): string | null {
  return webllmFamilyOf(id)?.transformersJs ?? null;
}
