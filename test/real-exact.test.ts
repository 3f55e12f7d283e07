/**
 * The real model (SmolLM2-135M-Instruct, python/real_model.py) in the lab's transformers.js
 * engine in Node against PyTorch on the same weights (DIR/hf), for prompts of every kind the
 * lab sends, made by the runner's own code: decisions in both option orders, self-reports,
 * observer prompts and in-context self-reports.
 * - The prompt token ids equal Python's tokenizer.apply_chat_template(…, add_generation_prompt=True).
 * - fp32: P(A) and the next-token log-probabilities of single-character labels within 1e-4
 *   (the engine as the lab runs it, prefix reuse on).
 * - fp16 within a measured, stated tolerance; q8/q4/q4f16 (quantized again from the dequantized
 *   Q4_1 weights, so they really differ) run and choose as fp32 does on a stated share.
 * - Constrained self-reports (every report kind) are 100 % valid.
 */
import { AutoTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEngine } from '../workers/transformers-engine';
import { realModel, realModelSkip, realPrompts, realReference, pAOf, REAL_MODEL_TIMEOUT, type RealModel, type RealPrompt, type RealReference } from './support/real-model';

/** Labels scored on every prompt: "A" and "B" first, then other single-token characters. */
const LABELS = ['A', 'B', '{', '"', '0', '1', '5', '-', 'I', 'T', 'a', 'x'];
/** fp32 against PyTorch: float rounding only (measured 2.0e-5–2.8e-5 on log-probabilities, 3.2e-6 on P(A)). */
const FP32_TOLERANCE = 1e-4;
/** fp16 (weights and activations in half precision): measured max |Δ P(A)| 2.8e-3–5.5e-3, |Δ log p| 1.1e-1. */
const FP16_TOLERANCE = { pA: 2e-2, logp: 0.25 };
/**
 * q8/q4/q4f16 on the decisions: the share whose choice (P(A) > .5) equals fp32's, at least
 * (measured: q4 and q4f16 8/8, q8 5/8 — q8 moves P(A) by up to ~0.4, to either side of .5, on these prompts).
 */
const QUANTIZED_AGREEMENT: Record<string, number> = { q8: 0.5, q4: 0.85, q4f16: 0.85 };

describe.skipIf(realModelSkip)('the real model: the lab (Node) vs PyTorch on the same weights and prompts', () => {
  let m: RealModel;
  let prompts: RealPrompt[];
  let labelIds: number[];
  let ref: RealReference[];
  let fp32: { pA: number[]; logprobs: number[][] } | null = null;
  const engine = new TransformersEngine({ allowRemoteModels: false });

  beforeAll(async () => {
    m = await realModel();
    prompts = realPrompts(m.onnx);
    const tok = await AutoTokenizer.from_pretrained(m.onnx);
    labelIds = LABELS.map((l) => {
      const ids = tok.encode(l, { add_special_tokens: false });
      if (ids.length !== 1) throw new Error(`label "${l}" is ${ids.length} tokens`);
      return ids[0];
    });
    const t0 = Date.now();
    [ref] = await realReference(m.hf, prompts.map((p) => p.messages), labelIds);
    console.info(`PyTorch reference for ${prompts.length} prompts: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, REAL_MODEL_TIMEOUT);
  afterAll(() => engine.unload());

  async function labRun(dtype: string, only?: number[]) {
    await engine.load({ model: m.onnx, device: 'cpu', dtype });
    const pA: number[] = [];
    const logprobs: number[][] = [];
    for (const p of only ? only.map((i) => prompts[i]) : prompts) {
      const s = await engine.scoreChoice(p.messages, LABELS);
      logprobs.push(s.logprobs);
      pA.push(pAOf(s.logprobs[0], s.logprobs[1]));
    }
    return { pA, logprobs };
  }
  const refPA = () => ref.map((r) => pAOf(r.logprobs[0], r.logprobs[1]));
  const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  const decisions = () => prompts.flatMap((p, i) => (p.kind === 'decision' ? [i] : []));

  it('covers every prompt kind, decisions in both option orders', () => {
    const kinds = new Set(prompts.map((p) => p.kind));
    expect([...kinds].sort()).toEqual(['decision', 'in-context', 'observation', 'report']);
    expect(prompts.filter((p) => p.id.endsWith('-swapped')).length).toBe(decisions().length / 2);
    // An in-context prompt has an earlier answered turn; an observer's k = 3 prompt shows both letters chosen.
    expect(prompts.find((p) => p.kind === 'in-context')!.messages.some((x) => x.role === 'assistant')).toBe(true);
    expect(prompts.find((p) => p.id.startsWith('observe-k3'))!.messages.at(-1)!.content).toMatch(/Chosen: A[\s\S]*Chosen: B/);
  });

  it("renders and tokenizes every prompt as Python's apply_chat_template(add_generation_prompt=True)", async () => {
    await engine.load({ model: m.onnx, device: 'cpu', dtype: 'fp32' });
    prompts.forEach((p, i) => {
      const lab = engine.promptIds(p.messages);
      expect(lab, `${p.id} (${p.kind})`).toEqual(ref[i].template_ids);
      expect(lab, p.id).toEqual(ref[i].ids);
    });
    const lengths = ref.map((r) => r.ids.length);
    console.info(`prompt token ids equal Python's for ${prompts.length} prompts (${Math.min(...lengths)}–${Math.max(...lengths)} tokens)`);
  }, 300_000);

  it(`fp32: P(A) and label log-probabilities within ${FP32_TOLERANCE} of PyTorch, for every prompt kind`, async () => {
    fp32 = await labRun('fp32');
    const dPA = maxDiff(fp32.pA, refPA());
    const dLog = Math.max(...fp32.logprobs.map((l, i) => maxDiff(l, ref[i].logprobs)));
    for (const kind of ['decision', 'report', 'observation', 'in-context']) {
      const idx = prompts.flatMap((p, i) => (p.kind === kind ? [i] : []));
      const d = Math.max(...idx.map((i) => Math.abs(fp32!.pA[i] - refPA()[i])));
      console.info(`fp32 ${kind} (${idx.length} prompts): max |Δ P(A)| = ${d.toExponential(2)}`);
    }
    console.info(`fp32: max |Δ P(A)| = ${dPA.toExponential(2)}, max |Δ log p| over ${LABELS.length} labels = ${dLog.toExponential(2)}; decisions' P(A) ${decisions().map((i) => fp32!.pA[i].toFixed(3)).join(' ')}`);
    expect(dPA).toBeLessThanOrEqual(FP32_TOLERANCE);
    expect(dLog).toBeLessThanOrEqual(FP32_TOLERANCE);
    // Not vacuous: P(A) varies between prompts (the option order moves it) by far more than the tolerance.
    expect(Math.max(...fp32.pA) - Math.min(...fp32.pA)).toBeGreaterThan(100 * FP32_TOLERANCE);
  }, 300_000);

  it(`fp16 within the measured tolerance (P(A) ${FP16_TOLERANCE.pA}, log p ${FP16_TOLERANCE.logp})`, async () => {
    const lab = await labRun('fp16');
    const dPA = maxDiff(lab.pA, refPA());
    const dLog = Math.max(...lab.logprobs.map((l, i) => maxDiff(l, ref[i].logprobs)));
    console.info(`fp16: max |Δ P(A)| = ${dPA.toExponential(2)}, max |Δ log p| = ${dLog.toExponential(2)}`);
    expect(dPA).toBeLessThanOrEqual(FP16_TOLERANCE.pA);
    expect(dLog).toBeLessThanOrEqual(FP16_TOLERANCE.logp);
  }, 300_000);

  for (const dtype of ['q8', 'q4', 'q4f16']) {
    it(`${dtype} runs and chooses as fp32 on at least ${QUANTIZED_AGREEMENT[dtype] * 100} % of decisions`, async () => {
      const idx = decisions();
      const base = (fp32 ?? (await labRun('fp32'))).pA.filter((_, i) => idx.includes(i));
      const lab = await labRun(dtype, idx);
      const same = lab.pA.filter((p, j) => p > 0.5 === base[j] > 0.5).length;
      const d = maxDiff(lab.pA, base);
      console.info(`${dtype}: choice equals fp32's on ${same}/${idx.length} decisions; max |Δ P(A)| vs fp32 = ${d.toExponential(2)}; P(A) ${lab.pA.map((p) => p.toFixed(3)).join(' ')}`);
      for (const p of lab.pA) expect(p).toBeGreaterThan(0);
      expect(same / idx.length).toBeGreaterThanOrEqual(QUANTIZED_AGREEMENT[dtype]);
      // Quantized again from the dequantized Q4_1 weights: it really is another model (issue 15, point 4).
      expect(d).toBeGreaterThan(FP32_TOLERANCE);
    }, 300_000);
  }

  it('constrained self-reports, observer reports and in-context reports are 100 % valid (fp32)', async () => {
    await engine.load({ model: m.onnx, device: 'cpu', dtype: 'fp32' });
    const reports = prompts.filter((p) => p.kind !== 'decision');
    let valid = 0;
    for (const p of reports) {
      const r = await engine.report(p.messages, p.names, 'constrained');
      expect(r.parse.ok, `${p.id}: ${r.text}`).toBe(true);
      expect(r.weights, p.id).toHaveLength(p.names.length);
      for (const w of r.weights!) expect(Math.abs(w)).toBeLessThanOrEqual(100);
      valid++;
    }
    console.info(`constrained reports on the real model (Node, fp32): ${valid}/${reports.length} valid`);
  }, 300_000);
});
