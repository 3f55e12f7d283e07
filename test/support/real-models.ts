/**
 * Tiny random models and LoRA adapters made by the real tools (transformers, Optimum, ONNX
 * Runtime's quantizers, ModelBuilder, PEFT) through python/, and PyTorch's reference logits,
 * for tests that check the lab against them. Needs the project venv (see python.ts).
 */
import { join } from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import type { TransformersEngine } from '../../workers/transformers-engine';
import { runPythonAsync } from './python';

export type Arch = 'llama' | 'qwen2';
export const OPTIMUM_DTYPES = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'] as const;
export type OptimumDtype = (typeof OPTIMUM_DTYPES)[number];
/** transformers.js's file for each dtype. */
export const ONNX_FILE: Record<OptimumDtype, string> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
  q4: 'model_q4.onnx',
  q4f16: 'model_q4f16.onnx',
};

export interface TinyModel {
  dir: string;
  arch: Arch;
  /** ModelBuilder exports (transformers.js folders of their own), by precision. */
  modelBuilder: Record<string, string>;
}

/** `python/tiny_model.py`: a Hugging Face + transformers.js folder at `dir`. */
export async function makeTinyModel(
  dir: string,
  arch: Arch,
  opts: { dtypes?: readonly string[]; modelBuilder?: string[]; seed?: number } = {},
): Promise<TinyModel> {
  const args = ['--arch', arch, '--out', dir, '--seed', String(opts.seed ?? 0), '--dtypes', (opts.dtypes ?? OPTIMUM_DTYPES).join(',')];
  if (opts.modelBuilder?.length) args.push('--modelbuilder', opts.modelBuilder.join(','));
  await runPythonAsync('tiny_model.py', args);
  const modelBuilder = Object.fromEntries((opts.modelBuilder ?? []).map((p) => [p, join(dir, `modelbuilder-${p}`)]));
  return { dir, arch, modelBuilder };
}

/** `python/tiny_model.py --from`: export an existing Hugging Face folder (e.g. a merged model). */
export async function exportModel(src: string, dir: string, dtypes: readonly string[] = ['fp32']): Promise<string> {
  await runPythonAsync('tiny_model.py', ['--from', src, '--out', dir, '--dtypes', dtypes.join(',')]);
  return dir;
}

export interface PeftOptions {
  rank?: number;
  alpha?: number;
  rslora?: boolean;
  /** all-linear (default), a comma list, or a regex. */
  targets?: string;
  rankPattern?: Record<string, number>;
  alphaPattern?: Record<string, number>;
  layers?: number[];
  seed?: number;
  zeroB?: boolean;
  bStd?: number;
  /** base_model_name_or_path written into adapter_config.json (default: the model folder). */
  baseName?: string;
}

export interface PeftAdapter {
  dir: string;
  sha256: string;
  tensors: string[];
}

/** `python/peft_adapter.py`: an adapter saved by PEFT's save_pretrained. */
export async function makePeftAdapter(model: string, dir: string, o: PeftOptions = {}): Promise<PeftAdapter> {
  const args = ['--model', model, '--out', dir, '--rank', String(o.rank ?? 8), '--alpha', String(o.alpha ?? 16), '--seed', String(o.seed ?? 1)];
  if (o.rslora) args.push('--rslora');
  if (o.targets) args.push('--targets', o.targets);
  if (o.rankPattern) args.push('--rank-pattern', JSON.stringify(o.rankPattern));
  if (o.alphaPattern) args.push('--alpha-pattern', JSON.stringify(o.alphaPattern));
  if (o.layers) args.push('--layers', o.layers.join(','));
  if (o.zeroB) args.push('--zero-b');
  if (o.bStd !== undefined) args.push('--b-std', String(o.bStd));
  if (o.baseName) args.push('--base-name', o.baseName);
  const out = JSON.parse(await runPythonAsync('peft_adapter.py', args)) as { dir: string; sha256: string; tensors: string[] };
  return { dir: out.dir, sha256: out.sha256, tensors: out.tensors };
}

export type Prompt = string | { role: 'system' | 'user' | 'assistant'; content: string }[];

export interface Reference {
  ids: number[];
  logits: number[];
}

export interface ReferenceJob {
  /** A PEFT adapter folder applied to the base. */
  adapter?: string;
  /** Multiplier on every LoRA scaling (the lab's adapter.scale). */
  scale?: number;
  /** A quantized ONNX file whose base arithmetic PyTorch then runs (q4: dequantized weights; q8: emulated). */
  quantized?: string;
  /** Also save the merged model (merge_and_unload) in this folder. */
  mergeTo?: string;
}

/**
 * `python/reference_logits.py`: PyTorch's last-position logits for each prompt, for each job,
 * in one Python process (torch loads once).
 */
export async function referenceLogits(model: string, prompts: Prompt[], jobs: ReferenceJob[]): Promise<Reference[][]> {
  const spec = jobs.map((j) => ({ adapter: j.adapter, scale: j.scale, dequantize: j.quantized, merge_to: j.mergeTo }));
  const out = JSON.parse(await runPythonAsync('reference_logits.py', ['--model', model, '--prompts-json', JSON.stringify(prompts), '--jobs', JSON.stringify(spec)]));
  return (out as { jobs: { prompts: Reference[] }[] }).jobs.map((j) => j.prompts);
}

/** log-softmax in float64 (what the lab's scoreChoice computes from the logits). */
export function logSoftmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  return Array.from(logits, (x) => x - lse);
}

/** The largest absolute difference between two equally long vectors. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Chat prompts as the lab sends them (system + user, generation prompt added by the template). */
export const PROMPTS: Extract<Prompt, unknown[]>[] = [
  [
    { role: 'system', content: 'Imagine you are choosing between two options. Answer with A or B.' },
    { role: 'user', content: 'Option A: price 42, size 7. Option B: price -13, size 19. Which do you choose?' },
  ],
  [{ role: 'user', content: 'Rate your confidence from 0 to 100 and give a short answer: is the capital of France Paris?' }],
];
/** Single-character labels: scoreChoice returns their log-probabilities under the full softmax. */
export const LABELS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];

/**
 * Tolerances on log-probabilities (measured maxima in the comments, on logits of magnitude ~3).
 * fp32, and q4/q8 against PyTorch running the same quantized base: float rounding only.
 * fp16, q4f16: weights and activations in half precision (ORT's float16 conversion).
 * ModelBuilder int4: its CPU default accuracy_level 4 also quantizes activations to int8 per block.
 */
export const TOLERANCE: Record<OptimumDtype | 'mb-fp32' | 'mb-int4', number> = {
  fp32: 1e-4, // ~2e-6
  q4: 1e-4, // ~2e-6
  q8: 1e-4, // ~1e-6
  fp16: 2e-2, // ~5e-3
  q4f16: 2e-2, // ~5e-3
  'mb-fp32': 1e-4, // ~2e-6
  'mb-int4': 2e-1, // ~6e-2
};

export interface Scored {
  ids: number[];
  logprobs: number[];
}

/** The lab's engine on `model`: prompt ids and the labels' log-probabilities, per prompt. */
export async function labScores(engine: TransformersEngine, prompts: typeof PROMPTS): Promise<Scored[]> {
  const out: Scored[] = [];
  for (const p of prompts) {
    const ids = engine.promptIds(p);
    const score = await engine.scoreChoice(p, LABELS);
    out.push({ ids, logprobs: score.logprobs });
  }
  return out;
}

/** The token id the lab scores for each label: its first token (all the tiny models share one tokenizer). */
export async function labelIds(model: string): Promise<number[]> {
  const tok = await AutoTokenizer.from_pretrained(model);
  return LABELS.map((l) => tok.encode(l, { add_special_tokens: false })[0]);
}

/** The reference's log-probabilities at the labels' token ids. */
export function referenceScores(ids: number[], refs: Reference[]): Scored[] {
  return refs.map((r) => {
    const lp = logSoftmax(r.logits);
    return { ids: r.ids, logprobs: ids.map((id) => lp[id]) };
  });
}

export function compareScores(lab: Scored[], ref: Scored[]): number {
  let worst = 0;
  lab.forEach((l, i) => {
    if (JSON.stringify(l.ids) !== JSON.stringify(ref[i].ids))
      throw new Error(`the lab tokenizes prompt ${i} differently from transformers: ${l.ids} vs ${ref[i].ids}`);
    worst = Math.max(worst, maxAbsDiff(l.logprobs, ref[i].logprobs));
  });
  return worst;
}

