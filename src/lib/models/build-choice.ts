/**
 * Which build (dtype) of a transformers.js model a device loads when the spec says "auto",
 * and why, in words the Models view shows. On WebGPU: the smallest build the GPU runs. On the
 * CPU (WASM), chosen by measurement (`npm run bench:browser`, SmolLM2-135M-Instruct in
 * Chromium on a 2-core CPU, WASM_MEASURED): the fastest build that gives the model's own
 * numbers. fp32 is the only one that does (q8 and q4 moved P(A) by up to 0.18) and, with
 * ONNX Runtime Web on every core, runs within 20 % of q8 and 1.4× q4; so fp32 wherever its
 * file is small enough for the browser's CPU path, else q8 (faster than q4 on WASM), else q4.
 * Pure.
 */

export type BuildDevice = 'webgpu' | 'wasm' | 'cpu';

export interface BuildChoice {
  dtype: string;
  /** Why, in a few words ("the model's own numbers; …"). */
  reason: string;
}

/** bench:browser, real model, Chromium WASM with 2 threads: trials/s and max |ΔP(A)| from Node fp32. */
export const WASM_MEASURED = {
  fp32: { trialsPerS: 0.91, maxDeltaPA: 2.3e-6 },
  q8: { trialsPerS: 1.08, maxDeltaPA: 0.18 },
  q4: { trialsPerS: 0.65, maxDeltaPA: 0.16 },
} as const;

/**
 * Largest fp32 file the CPU path takes: WASM has at most 4 GB of memory, and the browser
 * held 3.5 GB running SmolLM2-135M's 539 MB fp32 file (issue 20's measurement).
 */
export const WASM_FP32_MAX_MB = 600;

/** Largest fp32 file the CLI loads by default in Node (a 1B model's fp32 is ~4 GB; above, q8). */
export const NODE_FP32_MAX_MB = 4500;

export interface BuildInputs {
  shaderF16?: boolean;
  /** Builds the model publishes; unknown: any. */
  available?: readonly string[];
  /** Download size per build in MB, where known. */
  sizeMB?: Partial<Record<string, number>>;
}

const has = (o: BuildInputs, d: string) => !o.available || o.available.includes(d);

export function chooseBuild(device: BuildDevice, o: BuildInputs = {}): BuildChoice {
  if (device === 'webgpu') {
    const preference = o.shaderF16 ? ['q4f16', 'fp16', 'q4', 'fp32'] : ['q4', 'fp32'];
    const dtype = preference.find((d) => has(o, d)) ?? o.available?.[0] ?? 'fp32';
    const why = dtype === 'q4f16' ? 'the smallest build, and this GPU runs 16-bit shaders' : dtype === preference[0] ? 'the smallest build this GPU runs' : 'the model has no smaller build this GPU runs';
    return { dtype, reason: why };
  }
  if (device === 'cpu') {
    // Node (onnxruntime-node, the CLI): fp32 gives the model's own numbers, and an adapter trained on
    // the PyTorch weights is evaluated on the weights it was trained on. q8 moved SmolLM2-135M's P(A)
    // by up to 0.4 in Node (test/real-exact.test.ts) — enough to turn a trained adapter's choices
    // around (Exp 1 on the real model: 5 % "A" on q8) — for at most 1.3× the speed (bench:real).
    const fp32MB = o.sizeMB?.fp32;
    if (has(o, 'fp32') && (fp32MB === undefined || fp32MB <= NODE_FP32_MAX_MB))
      return { dtype: 'fp32', reason: "the model's own numbers; q8/q4 moved P(A) by up to 0.4 in Node for at most 1.3× the speed (measured)" };
    const dtype = ['q8', 'q4'].find((d) => has(o, d)) ?? o.available?.[0] ?? 'fp32';
    return { dtype, reason: !has(o, 'fp32') ? 'the model has no fp32 build' : `fp32 (≈ ${Math.round(fp32MB!)} MB) is too large for this machine's memory` };
  }
  const fp32MB = o.sizeMB?.fp32;
  if (has(o, 'fp32') && fp32MB !== undefined && fp32MB <= WASM_FP32_MAX_MB)
    return { dtype: 'fp32', reason: "the model's own numbers; q8/q4 moved P(A) by up to 0.18 for at most 1.2× the speed on WASM (measured)" };
  const why = !has(o, 'fp32') ? 'the model has no fp32 build' : fp32MB === undefined ? 'fp32’s size is unknown' : `fp32 (≈ ${Math.round(fp32MB)} MB) is too large for the CPU path`;
  if (has(o, 'q8')) return { dtype: 'q8', reason: `the fastest build on WASM (measured: 1.7× q4); ${why}` };
  if (has(o, 'q4')) return { dtype: 'q4', reason: `the model has no q8 build; ${why}` };
  const dtype = has(o, 'fp32') ? 'fp32' : (o.available?.[0] ?? 'fp32');
  return { dtype, reason: dtype === 'fp32' ? "the model's own numbers (no smaller build)" : 'the only build the model has' };
}
