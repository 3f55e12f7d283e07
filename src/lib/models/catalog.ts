/**
 * Small instruct models the lab offers for transformers.js (ONNX weights on
 * the Hugging Face Hub), quickest first. Sizes are estimates from the parameter
 * count and the dtype's bytes per parameter, for planning a download, except
 * where an entry gives the measured bytes of its files (`fileBytes`).
 */

export interface ModelEntry {
  /** Hugging Face repository id (ONNX weights under onnx/). */
  id: string;
  label: string;
  /** Shared with the WebLLM catalog, to pair the same model across engines. */
  family: string;
  /** Parameters, in billions. */
  params: number;
  /** dtypes published in the repository, best first for a GPU. */
  dtypes: string[];
  contextLength: number;
  license: string;
  /**
   * Measured bytes of each dtype's ONNX file (onnx/model*.onnx), where known. The tokenizer
   * and config files add a few MB.
   */
  fileBytes?: Partial<Record<string, number>>;
}

/**
 * SmolLM2-135M-Instruct's files, measured on the export python/real_model.py makes of the model
 * (its GGUF dequantized, then Optimum + ONNX Runtime's quantizers as transformers.js's scripts
 * run them): the sizes of the onnx-community layout for this architecture. Protobuf sizes
 * depend on the shapes, not the values, so another export with the same tools matches within
 * a few kB.
 */
const SMOLLM2_135M_BYTES = { fp32: 539_285_833, fp16: 270_788_139, q8: 136_587_389, q4: 180_999_181, q4f16: 118_078_334 };

export const MODEL_CATALOG: readonly ModelEntry[] = [
  // The quickest: one real model the lab is tested on end to end (it answers "A" almost always untrained).
  { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', label: 'SmolLM2 135M Instruct', family: 'smollm2-135m', params: 0.135, dtypes: ['q4f16', 'fp16', 'q4', 'q8', 'fp32'], contextLength: 8192, license: 'Apache-2.0', fileBytes: SMOLLM2_135M_BYTES },
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', label: 'SmolLM2 360M Instruct', family: 'smollm2-360m', params: 0.36, dtypes: ['q4f16', 'fp16', 'q4', 'q8', 'fp32'], contextLength: 8192, license: 'Apache-2.0' },
  { id: 'onnx-community/Qwen2.5-0.5B-Instruct', label: 'Qwen2.5 0.5B Instruct', family: 'qwen2.5-0.5b', params: 0.49, dtypes: ['q4f16', 'fp16', 'q4', 'q8', 'fp32'], contextLength: 32768, license: 'Apache-2.0' },
  { id: 'onnx-community/Qwen3-0.6B-ONNX', label: 'Qwen3 0.6B', family: 'qwen3-0.6b', params: 0.6, dtypes: ['q4f16', 'fp16', 'q4', 'q8', 'fp32'], contextLength: 40960, license: 'Apache-2.0' },
  { id: 'onnx-community/Llama-3.2-1B-Instruct', label: 'Llama 3.2 1B Instruct', family: 'llama-3.2-1b', params: 1.24, dtypes: ['q4f16', 'fp16', 'q4', 'q8', 'fp32'], contextLength: 131072, license: 'Llama 3.2 Community' },
  { id: 'onnx-community/gemma-3-1b-it-ONNX', label: 'Gemma 3 1B it', family: 'gemma-3-1b', params: 1.0, dtypes: ['q4f16', 'fp16', 'q4', 'q8', 'fp32'], contextLength: 32768, license: 'Gemma' },
  { id: 'onnx-community/Qwen2.5-1.5B-Instruct', label: 'Qwen2.5 1.5B Instruct', family: 'qwen2.5-1.5b', params: 1.54, dtypes: ['q4f16', 'fp16', 'q4', 'q8'], contextLength: 32768, license: 'Apache-2.0' },
  { id: 'HuggingFaceTB/SmolLM2-1.7B-Instruct', label: 'SmolLM2 1.7B Instruct', family: 'smollm2-1.7b', params: 1.71, dtypes: ['q4f16', 'fp16', 'q4', 'q8'], contextLength: 8192, license: 'Apache-2.0' },
];

/** Bytes per parameter as stored (4-bit formats keep some tensors, e.g. embeddings, wider). */
const BYTES_PER_PARAM: Record<string, number> = { fp32: 4, fp16: 2, q8: 1.05, q4: 0.8, q4f16: 0.65 };

/** Download size in MB (2^20 bytes): measured where the entry has it, else estimated. */
export function approxSizeMB(entry: Pick<ModelEntry, 'params' | 'fileBytes'>, dtype: string): number {
  const measured = entry.fileBytes?.[dtype];
  if (measured !== undefined) return Math.round(measured / 2 ** 20);
  return Math.round((entry.params * 1e9 * (BYTES_PER_PARAM[dtype] ?? 4)) / 2 ** 20);
}

/** Rough working memory: weights plus runtime buffers and a modest KV cache. */
export function approxMemoryMB(entry: Pick<ModelEntry, 'params' | 'fileBytes'>, dtype: string): number {
  return Math.round(approxSizeMB(entry, dtype) * 1.25 + 150);
}

export function findModel(id: string): ModelEntry | undefined {
  return MODEL_CATALOG.find((m) => m.id === id);
}
