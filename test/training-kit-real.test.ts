/**
 * The training kit's CPU path on the real model (SmolLM2-135M-Instruct, test/support/real-model.ts):
 * a few dozen decisions from `cli training-set instill`, one short epoch with the CPU options
 * (`--device cpu --top-layers 4 --dropout 0 --counterbalance`). The answer loss falls within the epoch;
 * the adapter it writes loads in the lab's transformers.js engine (the ONNX build of the same model),
 * and the lab's P(A) with it equals PyTorch + PEFT's within 1e-4 on held-out prompts, while the
 * adapter moves P(A) by more than that. Nothing here asserts that the preferences took (one short
 * epoch cannot instil them): training/real-exp1.sh measures that. One run: 264 s on 2 cores at load
 * average ~10 (training 185 s, 32 examples, peak RSS 1.21 GB); on an idle 2-core machine about half.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPythonAsync } from './support/python';
import { realModel, realModelSkip, REAL_MODEL_TIMEOUT, type RealModel } from './support/real-model';
import { main as trainingSet } from '../cli/training-set';
import { readTrainingSet, type TrainingExample } from '../src/lib/training';
import { AutoTokenizer } from '@huggingface/transformers';
import { TransformersEngine } from '../workers/transformers-engine';

interface KitReport {
  step_loss: number[];
  examples: number;
  train_seconds: number;
  examples_per_second: number;
  peak_rss_gb: number;
  share_answered_A: number;
  label_rate_loss: number;
}

let m: RealModel;
let root = '';
let setDir = '';
let adapter = '';
let report: KitReport;

if (realModelSkip) console.log(`skipping the real-model training-kit test: ${realModelSkip}`);

beforeAll(async () => {
  if (realModelSkip) return;
  m = await realModel();
  root = mkdtempSync(join(tmpdir(), 'training-kit-real-'));
  setDir = join(root, 'set');
  adapter = join(setDir, 'adapter');
  const code = await trainingSet(['instill', '--scenarios', '4', '--decisions', '8', '--heldout', '2', '--seed', 'kit-real', '--model', m.onnx, '--out', setDir]);
  expect(code).toBe(0);
  const out = await runPythonAsync('../training/train_lora.py', [
    '--data', setDir, '--base', m.hf, '--base-name', m.onnx, '--out', adapter, '--device', 'cpu', '--epochs', '1', '--batch-size', '4',
    '--lr', '1e-3', '--warmup', '0', '--rank', '8', '--top-layers', '4', '--dropout', '0', '--counterbalance', '--eval-limit', '8',
  ]);
  report = JSON.parse(out.trim().split('\n').pop()!) as KitReport;
  console.log(
    `kit on the real model, CPU: ${report.examples} examples, one epoch in ${report.train_seconds.toFixed(0)} s ` +
      `(${report.examples_per_second.toFixed(2)} examples/s, peak RSS ${report.peak_rss_gb.toFixed(2)} GB); ` +
      `loss per step ${report.step_loss.map((x) => x.toFixed(3)).join(' ')}`,
  );
}, REAL_MODEL_TIMEOUT);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.skipIf(realModelSkip)('training kit on the real model (CPU path)', () => {
  it('trains one short epoch on a counterbalanced set: the answer loss falls, the adapter is written', () => {
    expect(report.examples).toBe(32);
    expect(report.share_answered_A).toBe(0.5);
    // The label-rate floor: ln 2 (half the answers "A") over the answer's 3 tokens ("A", <|im_end|>, "\n").
    expect(report.label_rate_loss).toBeCloseTo(Math.LN2 / 3, 9);
    const n = report.step_loss.length;
    expect(n).toBe(8);
    // Mean of the last quarter of steps below the first quarter's: the loss falls within the epoch.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(report.step_loss.slice(-2))).toBeLessThan(mean(report.step_loss.slice(0, 2)));
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'training_report.json']) expect(existsSync(join(adapter, f))).toBe(true);
  });

  it("the lab loads the adapter as is; its P(A) equals PyTorch + PEFT's within 1e-4", async () => {
    const prompts: TrainingExample['messages'][] = readTrainingSet(
      Object.fromEntries(['training-set.json', 'train.jsonl', 'heldout.jsonl', 'eval-spec.json', 'target_weights.csv'].map((f) => [f, readFileSync(join(setDir, f), 'utf8')])),
    ).heldout.slice(0, 6).map((e) => e.messages.slice(0, -1));
    const ref = JSON.parse(await runPythonAsync('reference_logits.py', ['--model', m.hf, '--adapter', adapter, '--prompts-json', JSON.stringify(prompts)])) as {
      prompts: Array<{ ids: number[]; logits: number[] }>;
    };
    const engine = new TransformersEngine({ allowRemoteModels: false });
    const base = new TransformersEngine({ allowRemoteModels: false });
    await engine.load({ model: m.onnx, device: 'cpu', dtype: 'fp32', adapter: { id: adapter } });
    await base.load({ model: m.onnx, device: 'cpu', dtype: 'fp32' });
    try {
      const tok = await AutoTokenizer.from_pretrained(m.onnx);
      const [ia, ib] = ['A', 'B'].map((l) => tok.encode(l, { add_special_tokens: false })[0]);
      let worst = 0;
      let moved = 0;
      for (let i = 0; i < prompts.length; i++) {
        expect(engine.promptIds(prompts[i])).toEqual(ref.prompts[i].ids);
        const lab = await engine.scoreChoice(prompts[i], ['A', 'B']);
        const l = ref.prompts[i].logits;
        const pA = 1 / (1 + Math.exp(l[ib] - l[ia]));
        worst = Math.max(worst, Math.abs(lab.probs[0] - pA));
        moved = Math.max(moved, Math.abs(lab.probs[0] - (await base.scoreChoice(prompts[i], ['A', 'B'])).probs[0]));
      }
      console.log(`real model, lab vs PyTorch + PEFT on ${prompts.length} held-out prompts: max |ΔP(A)| = ${worst.toExponential(2)}; the adapter moves P(A) by up to ${moved.toFixed(4)}`);
      expect(worst).toBeLessThan(1e-4);
      expect(moved).toBeGreaterThan(1e-3);
    } finally {
      await engine.unload();
      await base.unload();
    }
  }, 600_000);
});
