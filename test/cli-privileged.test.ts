/**
 * `cli run` with simulated models (no download), then `cli analyze --run DIR
 * --json`: the printed privileged_access section is the lab's analysis of the
 * same run record, and says what the three simulated models are.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { privilegedAccessOf } from '../src/app/privileged-access';
import type { PrivilegedAccess } from '../src/lib/analysis/privileged-types';
import { FolderStore } from '../cli/folder-store';

const root = join(import.meta.dirname, '..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
let tmp = '';
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('cli run + analyze --run with simulated models', () => {
  it('prints the privileged_access numbers of the run', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cli-pa-'));
    const out = join(tmp, 'run');
    const run = cli('run', '--preset', 'simulated', '--scenarios', '12', '--decisions', '20', '--reports', '2', '--observe', '0,5,10', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    const analyzed = cli('analyze', '--run', out, '--json', '--resamples', '300');
    expect(analyzed.status, analyzed.stderr).toBe(0);
    const printed = JSON.parse(analyzed.stdout) as {
      privileged_access: PrivilegedAccess;
      decisions: Record<string, { sensitivity: { lr_p_median: number; share_significant: number; mean_abs_slope: number } }>;
      reports: Record<string, { about: string; r: number | null; valid: number; invalid: number; copied_share: number | null }>;
    };
    const pa = printed.privileged_access;
    expect(pa.models.map((m) => [m.key, m.simulated])).toEqual([['m1', true], ['m2', true], ['m3', true]]);
    expect(pa.matrix).toHaveLength(9);
    expect(pa.observers).toHaveLength(3 * 3 * 3);
    expect(pa.statistical_observer.map((s) => s.k)).toEqual([5, 10, 5, 10, 5, 10]);
    expect(pa.common_sense.map((c) => [c.a, c.b])).toEqual([['m1', 'm2'], ['m1', 'm3'], ['m2', 'm3']]);
    for (const v of pa.verdicts) expect(Object.keys(v)).toEqual(expect.arrayContaining(['target', 'self_r', 'best_other', 'best_other_r', 'diff', 'ci', 'verdict']));
    // The same numbers as the lab's analysis of the stored record (both computed by Node here).
    const record = (await new FolderStore(out).readRecord())!;
    expect(pa).toEqual(JSON.parse(JSON.stringify(privilegedAccessOf(record, { resamples: 300 }))));
    // Every condition of the run, decisions and reports (observers included), with the diagnostics.
    const keys = (kind: string) => record.spec.conditions.filter((c) => c.kind === kind).map((c) => c.key).sort();
    expect(Object.keys(printed.decisions).sort()).toEqual(keys('decisions'));
    expect(Object.keys(printed.reports).sort()).toEqual(keys('reports'));
    for (const d of Object.values(printed.decisions)) expect(d.sensitivity.share_significant).toBeGreaterThanOrEqual(0);
    expect(printed.decisions['decide-m1'].sensitivity.share_significant).toBe(1);
    for (const r of Object.values(printed.reports)) expect(r.valid + r.invalid).toBe(12 * 2);
    expect(printed.reports['report-m1']).toMatchObject({ about: 'decide-m1' });
    expect(printed.reports['report-m1'].r).toBeGreaterThan(0.7);
    expect(pa.verdicts.find((v) => v.target === 'm1')!.self_r).toBeGreaterThan(0.7);
  }, 300_000);

  it('refuses a folder without a run, saying so', async () => {
    const r = cli('analyze', '--run', join(tmpdir(), 'no-such-run-folder'), '--json');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no run/);
  });
});
