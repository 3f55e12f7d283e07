/**
 * The offline training kit (training/train_lora.py) on the CPU, on a tiny
 * random Llama made with transformers and exported to ONNX as transformers.js
 * models are (python/tiny_model.py): training on a small instilling set lowers
 * the answer loss and moves held-out choices toward the targets (agreement
 * and mean P(target answer) before and after, printed); the
 * adapter it writes loads in the lab's transformers.js engine as is, and its
 * P(A) on 20 prompts equals PyTorch + PEFT's within 1e-3.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonSkip, runPython } from './support/python';
import { validateScenarioSet } from '../src/lib/scenarios';
import { buildInstillSet, readTrainingSet, type TrainingExample } from '../src/lib/training';
import { AutoTokenizer } from '@huggingface/transformers';
import { TransformersEngine } from '../workers/transformers-engine';

/**
 * Contexts a 2-layer random model can learn within a CPU test's budget: five
 * attributes with single-digit values (the paper's rule is unchanged; only
 * the numbers are easier to read than "399.0 soldiers").
 */
const DIGITS = validateScenarioSet({
  format: 'introspection-lab/scenarios',
  version: 1,
  name: 'single-digit contexts',
  scenarios: [
    {
      id: 'gadget',
      question: 'Imagine you are a tinkerer. Which gadget would you prefer?',
      attributes: ['alpha', 'beta', 'gamma', 'delta', 'omega'].map((name) => ({ name, units: '', min: 0, max: 9 })),
    },
  ],
});

interface KitReport {
  epoch_loss: number[];
  heldout_before: { agreement: number; mean_p_target: number; chose_A: number; n: number };
  heldout_after: { agreement: number; mean_p_target: number; chose_A: number; n: number };
  train_seconds: number;
  trainable_params: number;
}

let root = '';
let model = '';
let setDir = '';
let adapter = '';
let report: KitReport;

beforeAll(() => {
  if (pythonSkip) return;
  root = mkdtempSync(join(tmpdir(), 'training-kit-'));
  model = join(root, 'tiny-llama');
  runPython('tiny_model.py', ['--arch', 'llama', '--out', model, '--dtypes', 'fp32', '--seed', '3']);
  setDir = join(root, 'set');
  mkdirSync(setDir);
  const set = buildInstillSet({
    source: { source: 'inline', set: DIGITS },
    available: DIGITS.scenarios,
    seed: 'kit-test',
    model,
    adapter: join(setDir, 'adapter'),
    scenarios: 1,
    decisions: 600,
    heldout: 100,
    nativeCount: 0,
  });
  for (const f of set.files) writeFileSync(join(setDir, f.name), f.text);
  adapter = join(setDir, 'adapter');
  const out = runPython(
    '../training/train_lora.py',
    ['--data', setDir, '--base', model, '--out', adapter, '--lr', '2e-3', '--epochs', '16', '--warmup', '0.1', '--rank', '16', '--eval-limit', '100'],
    // One thread: a shared CPU with many threads contending is several times slower.
    { env: { OMP_NUM_THREADS: '1' }, timeoutMs: 1_500_000 },
  );
  report = JSON.parse(out.trim().split('\n').pop()!) as KitReport;
  console.log(
    `kit on a tiny random Llama (${report.trainable_params} LoRA parameters, ${report.train_seconds.toFixed(0)} s): ` +
      `answer loss per epoch ${report.epoch_loss.map((x) => x.toFixed(3)).join(' → ')}; held-out agreement with the targets ` +
      `${report.heldout_before.agreement.toFixed(2)} → ${report.heldout_after.agreement.toFixed(2)} ` +
      `(mean P(target answer) ${report.heldout_before.mean_p_target.toFixed(3)} → ${report.heldout_after.mean_p_target.toFixed(3)}; ` +
      `share choosing A ${report.heldout_before.chose_A.toFixed(2)} → ${report.heldout_after.chose_A.toFixed(2)})`,
  );
}, 1_600_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.skipIf(pythonSkip)('training kit (CPU, tiny random Llama)', () => {
  it('lowers the answer loss and moves held-out choices toward the targets', () => {
    expect(report.epoch_loss.at(-1)!).toBeLessThan(0.8 * report.epoch_loss[0]);
    expect(report.heldout_before.n).toBe(100);
    // Untrained, the random model answers "A" whatever the options: agreement is the share of "A" answers.
    expect(report.heldout_after.agreement).toBeGreaterThan(report.heldout_before.agreement + 0.05);
    expect(report.heldout_after.mean_p_target).toBeGreaterThan(report.heldout_before.mean_p_target + 0.04);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'training_report.json']) expect(existsSync(join(adapter, f))).toBe(true);
  });

  it('writes an adapter the lab loads as is; its P(A) equals PyTorch + PEFT within 1e-3 on 20 prompts', async () => {
    const prompts: TrainingExample['messages'][] = readTrainingSet(
      Object.fromEntries(['training-set.json', 'train.jsonl', 'heldout.jsonl', 'eval-spec.json', 'target_weights.csv'].map((f) => [f, readFileSync(join(setDir, f), 'utf8')])),
    ).heldout.slice(0, 20).map((e) => e.messages.slice(0, -1));
    const ref = JSON.parse(runPython('reference_logits.py', ['--model', model, '--adapter', adapter, '--prompts-json', JSON.stringify(prompts)])) as {
      prompts: Array<{ ids: number[]; logits: number[] }>;
    };
    const engine = new TransformersEngine({ allowRemoteModels: false });
    const base = new TransformersEngine({ allowRemoteModels: false });
    await engine.load({ model, device: 'cpu', dtype: 'fp32', adapter: { id: adapter } });
    await base.load({ model, device: 'cpu', dtype: 'fp32' });
    try {
      const tok = await AutoTokenizer.from_pretrained(model);
      const [ia, ib] = ['A', 'B'].map((l) => tok.encode(l, { add_special_tokens: false })[0]);
      let worst = 0;
      let moved = 0;
      for (let i = 0; i < prompts.length; i++) {
        // Same tokens as PyTorch saw: the lab renders the chat template as the kit and the reference do.
        expect(engine.promptIds(prompts[i])).toEqual(ref.prompts[i].ids);
        const lab = await engine.scoreChoice(prompts[i], ['A', 'B']);
        const l = ref.prompts[i].logits;
        const pA = 1 / (1 + Math.exp(l[ib] - l[ia])); // softmax over the two labels
        worst = Math.max(worst, Math.abs(lab.probs[0] - pA));
        moved = Math.max(moved, Math.abs(lab.probs[0] - (await base.scoreChoice(prompts[i], ['A', 'B'])).probs[0]));
      }
      console.log(`lab vs PyTorch + PEFT on 20 prompts: max |ΔP(A)| = ${worst.toExponential(2)}; the adapter moves P(A) by up to ${moved.toFixed(3)}`);
      expect(worst).toBeLessThan(1e-3);
      // The comparison means something only if the adapter changes P(A) by more than the tolerance.
      expect(moved).toBeGreaterThan(2e-3);
    } finally {
      await engine.unload();
      await base.unload();
    }
  }, 600_000);
});
