/**
 * A LoRA adapter made by PEFT on the real model (SmolLM2-135M-Instruct, DIR/hf; B drawn at
 * random so that it matters): the lab's transformers.js engine (fp32, the adapter patched into
 * the exported graph at load) gives PyTorch + PEFT's P(A) within 1e-4, on decisions in both
 * option orders and on the other prompt kinds, and so does `cli run --adapter` on every
 * decision of its run, whose record names the adapter and the sha-256 of its weights.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionResult, RunRecord } from '../src/lib/experiment/runs';
import { trialMessages } from '../src/lib/experiment/runner';
import type { ChatMessage } from '../src/lib/prompts';
import { TransformersEngine } from '../workers/transformers-engine';
import { realModel, realModelSkip, realPrompts, realReference, pAOf, REAL_MODEL_TIMEOUT, type RealModel, type RealPrompt, type RealReference } from './support/real-model';
import { makePeftAdapter, type PeftAdapter } from './support/real-models';

const TOLERANCE = 1e-4;
const root = join(import.meta.dirname, '..');

/** `cli run` of the classroom preset, shrunk: resolves with the run record (rejects with stderr). */
function cliRun(out: string, args: string[]): Promise<{ record: RunRecord; stderr: string }> {
  const argv = ['--import', 'tsx', 'cli/main.ts', 'run', '--preset', 'classroom', '--scenarios', '1', '--decisions', '3', '--reports', '1', '--dtype', 'fp32', '--out', out, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: root });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ record: JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord, stderr }) : reject(new Error(`cli run failed (${code}):\n${stderr}`)),
    );
  });
}

describe.skipIf(realModelSkip)('a PEFT adapter on the real model: the lab vs PyTorch + PEFT', () => {
  let m: RealModel;
  let tmp: string;
  let adapter: PeftAdapter;
  let prompts: RealPrompt[];
  let cli: { record: RunRecord; stderr: string };
  let cliMessages: ChatMessage[][];
  let cliDecisions: DecisionResult[];
  /** Per job (base, adapter): the engine's prompts, then the CLI run's decisions. */
  let ref: { base: RealReference[]; adapted: RealReference[] };
  const engine = new TransformersEngine({ allowRemoteModels: false });

  beforeAll(async () => {
    m = await realModel();
    tmp = await mkdtemp(join(tmpdir(), 'real-peft-'));
    // all-linear, rank 8, alpha 16; B ~ N(0, 0.02²). base_model_name_or_path names the folder the lab loads.
    adapter = await makePeftAdapter(m.hf, join(tmp, 'adapter'), { rank: 8, alpha: 16, bStd: 0.02, seed: 7, baseName: m.onnx });
    prompts = realPrompts(m.onnx, { scenarios: 2, decisions: 1 });
    cli = await cliRun(join(tmp, 'run'), ['--model', m.onnx, '--adapter', adapter.dir]);
    const scenarios = new Map(cli.record.plan.scenarios.map((p) => [p.scenario.id, p]));
    const byId = new Map(cli.record.plan.trials.map((t) => [t.id, t]));
    cliDecisions = cli.record.results.filter((r): r is DecisionResult => r.kind === 'decision');
    cliMessages = cliDecisions.map((r) => {
      const t = byId.get(r.trialId)!;
      return trialMessages(t, scenarios.get(t.scenarioId)!, cli.record);
    });
    const tok = await AutoTokenizer.from_pretrained(m.onnx);
    const ab = ['A', 'B'].map((l) => tok.encode(l, { add_special_tokens: false })[0]);
    const [base, adapted] = await realReference(m.hf, [...prompts.map((p) => p.messages), ...cliMessages], ab, [{}, { adapter: adapter.dir }]);
    ref = { base, adapted };
  }, REAL_MODEL_TIMEOUT);
  afterAll(async () => {
    await engine.unload();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const refPA = (r: RealReference[]) => r.map((x) => pAOf(x.logprobs[0], x.logprobs[1]));

  it(`the engine with the adapter (fp32): P(A) within ${TOLERANCE} of PyTorch + PEFT on every prompt kind`, async () => {
    const caps = await engine.load({ model: m.onnx, device: 'cpu', dtype: 'fp32', adapter: { id: adapter.dir } });
    expect(caps.adapterInfo?.sha256).toBe(adapter.sha256);
    expect(caps.adapterInfo?.modules.length).toBe(30 * 7); // all-linear: seven projections in each of 30 layers
    const want = refPA(ref.adapted);
    const base = refPA(ref.base);
    let worst = 0;
    let moved = 0;
    for (const [i, p] of prompts.entries()) {
      const s = await engine.scoreChoice(p.messages, ['A', 'B']);
      worst = Math.max(worst, Math.abs(s.probs[0] - want[i]));
      moved = Math.max(moved, Math.abs(want[i] - base[i]));
    }
    console.info(`engine + adapter, ${prompts.length} prompts (${[...new Set(prompts.map((p) => p.kind))].join(', ')}): max |Δ P(A)| vs PyTorch + PEFT = ${worst.toExponential(2)}; the adapter moves PyTorch's P(A) by up to ${moved.toFixed(3)}`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    // The adapter matters: without it P(A) differs by far more than the tolerance.
    expect(moved).toBeGreaterThan(100 * TOLERANCE);
  }, 300_000);

  it(`cli run --adapter: every decision's P(A) within ${TOLERANCE} of PyTorch + PEFT; the record names the adapter and its hash`, () => {
    const self = cli.record.engines.self;
    expect(self.adapter).toBe(adapter.dir);
    expect(self.adapterInfo?.sha256).toBe(adapter.sha256);
    expect(cli.stderr).toContain(`sha-256 ${adapter.sha256}`);
    expect(cli.record.status).toBe('done');
    // 1 scenario × 3 decisions, each also shown with A and B swapped.
    expect(cliDecisions).toHaveLength(6);
    const n = prompts.length;
    const want = refPA(ref.adapted.slice(n));
    const base = refPA(ref.base.slice(n));
    let worst = 0;
    let moved = 0;
    cliDecisions.forEach((r, i) => {
      worst = Math.max(worst, Math.abs(r.pA - want[i]));
      moved = Math.max(moved, Math.abs(want[i] - base[i]));
    });
    console.info(`cli run --adapter, ${cliDecisions.length} decisions: max |Δ P(A)| vs PyTorch + PEFT = ${worst.toExponential(2)}; vs the base model up to ${moved.toFixed(3)}`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    expect(moved).toBeGreaterThan(100 * TOLERANCE);
  });
});
