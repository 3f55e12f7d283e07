/**
 * `cli run --adapter`: a model merged offline with a PEFT adapter (merge_and_unload, then the
 * same Optimum export) gives the same P(A) on every decision trial as the base model with
 * `--adapter`, and the run record names the adapter and the sha-256 of its weights file.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionResult, RunRecord } from '../src/lib/experiment/runs';
import { pythonSkip } from './support/python';
import { exportModel, makePeftAdapter, makeTinyModel, PROMPTS, referenceLogits, type PeftAdapter, type TinyModel } from './support/real-models';

const root = join(import.meta.dirname, '..');
let tmp: string;
let base: TinyModel;
let adapter: PeftAdapter;
let merged: string;

function cli(out: string, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'run', '--preset', 'classroom', '--scenarios', '3', '--decisions', '8', '--reports', '1', '--dtype', 'fp32', '--out', out, ...args], {
    cwd: root,
    encoding: 'utf8',
  });
}
function cliRun(out: string, ...args: string[]) {
  const r = cli(out, ...args);
  expect(r.status, r.stderr).toBe(0);
  return { record: JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord, stderr: r.stderr };
}
const pA = (r: RunRecord) => new Map(r.results.filter((x): x is DecisionResult => x.kind === 'decision').map((x) => [x.trialId, x.pA]));

describe.skipIf(pythonSkip)('cli run --adapter vs a model merged offline', () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cli-adapter-'));
    base = await makeTinyModel(join(tmp, 'llama'), 'llama', { dtypes: ['fp32'] });
    adapter = await makePeftAdapter(base.dir, join(tmp, 'adapter'), { rank: 8, alpha: 16 });
    await referenceLogits(base.dir, PROMPTS.slice(0, 1), [{ adapter: adapter.dir, mergeTo: join(tmp, 'merged-hf') }]);
    merged = await exportModel(join(tmp, 'merged-hf'), join(tmp, 'merged'), ['fp32']);
  }, 600_000);
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('gives the same P(A) per trial, records the adapter and its hash, and differs from the base', () => {
    const withAdapter = cliRun(join(tmp, 'run-adapter'), '--model', base.dir, '--adapter', adapter.dir, '--control', base.dir);
    const offline = cliRun(join(tmp, 'run-merged'), '--model', merged);
    const plain = cliRun(join(tmp, 'run-base'), '--model', base.dir);

    const self = withAdapter.record.engines.self;
    expect(self.adapter).toBe(adapter.dir);
    expect(self.adapterInfo?.sha256).toBe(adapter.sha256);
    expect(self.adapterInfo?.modules.length).toBe(14); // seven projections × two layers
    expect(withAdapter.record.spec.models[0].adapter).toEqual({ id: adapter.dir });
    // The control is the base model itself (the paper's off-the-shelf control).
    expect(withAdapter.record.engines.control.adapter).toBeNull();
    expect(withAdapter.stderr).toContain(`sha-256 ${adapter.sha256}`);

    const a = pA(withAdapter.record);
    const m = pA(offline.record);
    const b = pA(plain.record);
    // 3 scenarios × 8 decisions, each also shown with A and B swapped (the preset counterbalances).
    expect(a.size).toBe(3 * 8 * 2);
    expect([...m.keys()]).toEqual([...a.keys()]);
    let worst = 0;
    let moved = 0;
    for (const [id, p] of a) {
      worst = Math.max(worst, Math.abs(p - m.get(id)!));
      moved = Math.max(moved, Math.abs(p - b.get(id)!));
    }
    console.log(`P(A) over ${a.size} decisions: max |adapter − merged| = ${worst.toExponential(2)}; max |adapter − base| = ${moved.toFixed(3)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);
    expect(moved).toBeGreaterThan(1e-2);
  }, 300_000);

  it('refuses an adapter trained on another base model, saying which, and a scale without an adapter', () => {
    const r = cli(join(tmp, 'run-mismatch'), '--model', merged, '--adapter', adapter.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/trained on ".*llama" \(base_model_name_or_path\) but the model is ".*merged"/);
    const s = cli(join(tmp, 'run-scale'), '--model', base.dir, '--adapter-scale', '0.5');
    expect(s.status).not.toBe(0);
    expect(s.stderr).toContain('--adapter-scale needs --adapter');
  }, 120_000);
});
