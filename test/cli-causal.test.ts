/**
 * `cli run --preset causal` on a simulated model (no download), then `cli analyze --run DIR --json`:
 * the printed `causal` section is the lab's analysis (src/app/causal.ts) of the same run record.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { causalOf, causalToJson } from '../src/app/causal';
import { selfPredictionOf, selfPredictionToJson } from '../src/app/self-prediction';
import { FolderStore } from '../cli/folder-store';

const root = join(import.meta.dirname, '..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
let tmp = '';
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('cli run --preset causal + analyze --run --json', () => {
  it('prints one causal entry per intervention with the issue\'s keys, equal to the lab\'s analysis of the record', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cli-causal-'));
    const out = join(tmp, 'run');
    const model = 'sim:knows?weights=target&access=0.9';
    const run = cli('run', '--preset', 'causal', '--model', model, '--other', 'sim:blind?access=0', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    const analyzed = cli('analyze', '--run', out, '--json', '--resamples', '300');
    expect(analyzed.status, analyzed.stderr).toBe(0);
    const causal = (JSON.parse(analyzed.stdout) as { causal: Record<string, unknown>[] }).causal;
    // m1 (weights=target): steer + 4 scales; m2 (native): steer only.
    expect(causal.map((c) => [c.model, c.condition])).toEqual([
      ['m1', 'decide-m1-steer'], ['m1', 'decide-m1-scale-0'], ['m1', 'decide-m1-scale-0_25'], ['m1', 'decide-m1-scale-0_5'], ['m1', 'decide-m1-scale-1'], ['m2', 'decide-m2-steer'],
    ]);
    for (const c of causal) expect(Object.keys(c)).toEqual(expect.arrayContaining(['model', 'intervention', 'r_delta', 'ci', 'behaviour_moved', 'steered_shift', 'verdict']));
    expect(causal[0]).toMatchObject({ verdict: 'consistent', behaviour_moved: true });
    expect(causal[5].verdict).not.toBe('consistent');
    const record = (await new FolderStore(out).readRecord())!;
    expect(causal).toEqual(JSON.parse(JSON.stringify(causalToJson(causalOf(record, { resamples: 300 })))));
  }, 300_000);
});

describe('cli run --preset self-prediction + analyze --run --json', () => {
  it('prints self_prediction and self_prediction_verdicts equal to the lab\'s analysis of the record', async () => {
    tmp ||= await mkdtemp(join(tmpdir(), 'cli-causal-'));
    const out = join(tmp, 'run-sp');
    const run = cli('run', '--preset', 'self-prediction', '--model', 'sim:knows?access=0.9', '--other', 'sim:blind?access=0', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    const analyzed = cli('analyze', '--run', out, '--json', '--resamples', '300');
    expect(analyzed.status, analyzed.stderr).toBe(0);
    const printed = JSON.parse(analyzed.stdout) as { self_prediction: Record<string, unknown>[]; self_prediction_verdicts: Record<string, unknown>[] };
    for (const e of printed.self_prediction) expect(Object.keys(e)).toEqual(expect.arrayContaining(['target', 'reporter', 'kind', 'k', 'r', 'accuracy', 'base_rate', 'kappa', 'ci']));
    expect(printed.self_prediction.find((e) => e.target === 'm1' && e.reporter === 'm1' && e.k === 0 && e.kind === 'probability' && e.condition === 'predict-probability-m1')!.r).toBeGreaterThan(0.9);
    expect(printed.self_prediction_verdicts.map((v) => [v.target, v.kind, v.verdict])).toEqual([
      ['m1', 'probability', 'shown'], ['m2', 'probability', 'not_shown'], ['m1', 'choice', expect.any(String)], ['m2', 'choice', 'not_shown'],
    ]);
    const record = (await new FolderStore(out).readRecord())!;
    const lab = selfPredictionToJson(selfPredictionOf(record, { resamples: 300 })!);
    expect(printed.self_prediction).toEqual(JSON.parse(JSON.stringify(lab.self_prediction)));
    expect(printed.self_prediction_verdicts).toEqual(JSON.parse(JSON.stringify(lab.self_prediction_verdicts)));
    console.log('self-prediction verdicts (simulated, cli):', JSON.stringify(printed.self_prediction_verdicts));
  }, 300_000);
});
