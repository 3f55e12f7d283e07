/** The `analyze` command end to end, as a subprocess, on simulated data (no reference data needed). */
import { spawnSync } from 'node:child_process';
import { CLI_PRESETS } from '../src/lib/experiment/presets';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulateAgents } from '../src/lib/analysis/simulate';
import {
  writeSelectionsCsv,
  writeTargetWeightsCsv,
  writeWeightReportsCsv,
} from '../src/lib/paper-csv';
import { exportPaperScenariosCsv } from '../src/lib/scenarios/paper-csv';
import { rngFor } from '../src/lib/rng';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsx, ['cli/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir = '';
const f = (name: string) => path.join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'introspection-cli-'));
  const sims = simulateAgents({ scenarios: 12, trials: 50, inverseTemperature: 10, seed: 'cli-test' });
  writeFileSync(
    f('scenarios.csv'),
    exportPaperScenariosCsv(sims.map((s) => ({ id: s.id, question: `Which ${s.id}, if any?`, attributes: s.attributes }))),
  );
  // Selections on the first 10 scenarios only.
  const selections = sims.slice(0, 10).flatMap((s) =>
    s.decisions.map((d) => ({ model: 'sim', scenario: s.id, selection: d.choice, a: d.a, b: d.b, pA: d.pA })),
  );
  writeFileSync(f('selections.csv'), writeSelectionsCsv(selections));
  writeFileSync(f('selections-hard.csv'), writeSelectionsCsv(selections.map(({ pA: _p, ...r }) => r)));
  writeFileSync(f('targets.csv'), writeTargetWeightsCsv(sims.map((s) => [s.id, s.target] as const)));
  const rng = rngFor('cli-test-reports');
  const report = (s: (typeof sims)[number]) => ({
    explainingModel: 'sim',
    version: 'v',
    scenario: s.id,
    report: s.target.map((w) => Math.round(w + rng.uniform(-40, 40))),
  });
  // File 1: scenarios 0-5 (2 reports each) plus one invalid row; file 2: scenarios 6-11 (2 each).
  writeFileSync(
    f('reports1.csv'),
    writeWeightReportsCsv([...sims.slice(0, 6).flatMap((s) => [report(s), report(s)]), { ...report(sims[0]), report: ['n/a', 1, 2, 3, 4] }]),
  );
  writeFileSync(f('reports2.csv'), writeWeightReportsCsv(sims.slice(6).flatMap((s) => [report(s), report(s)])));
  writeFileSync(
    f('bad-selection.csv'),
    'model,scenario,selection,A_attribute_1,A_attribute_2,A_attribute_3,A_attribute_4,A_attribute_5,B_attribute_1,B_attribute_2,B_attribute_3,B_attribute_4,B_attribute_5\n' +
      'sim,sim_0,A,1,1,1,1,1,2,2,2,2,2\nsim,sim_0,maybe,1,1,1,1,1,2,2,2,2,2\n',
  );
  writeFileSync(
    f('unknown-scenario.csv'),
    'model,scenario,selection,A_attribute_1,A_attribute_2,A_attribute_3,A_attribute_4,A_attribute_5,B_attribute_1,B_attribute_2,B_attribute_3,B_attribute_4,B_attribute_5\n' +
      'sim,no_such_scenario,A,1,1,1,1,1,2,2,2,2,2\n',
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('cli analyze', () => {
  it('--json: learned vs target and pooled reports, only scenarios with selections', () => {
    const r = cli('analyze', '--scenarios', f('scenarios.csv'), '--selections', f('selections.csv'), '--targets', f('targets.csv'),
      '--reports', f('reports1.csv'), '--reports', f('reports2.csv'), '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.scenarios).toBe(10);
    expect(json.fit.converged).toBe(10);
    expect(json.learned_vs_target.n_points).toBe(50);
    expect(json.learned_vs_target.r).toBeGreaterThan(0.9);
    expect(json.learned_vs_target.ci[0]).toBeLessThan(json.learned_vs_target.r);
    expect(json.learned_vs_target.agreement).toBeGreaterThan(0.8);
    expect(json.reported_vs_learned.valid_reports).toBe(20);
    expect(json.reported_vs_learned.ignored_reports).toBe(4);
    expect(json.reported_vs_learned.invalid_reports).toBe(1);
    expect(json.reported_vs_learned.n_scenarios).toBe(10);
    expect(json.per_scenario).toBeUndefined();
  });

  it('omits comparisons whose inputs are missing; --soft fits p_A; --per-scenario adds weights', () => {
    const r = cli('analyze', '--scenarios', f('scenarios.csv'), '--selections', f('selections.csv'), '--soft', '--per-scenario', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.learned_vs_target).toBeUndefined();
    expect(json.reported_vs_learned).toBeUndefined();
    expect(json.fit.targets).toMatch(/soft/);
    expect(json.per_scenario).toHaveLength(10);
    expect(json.per_scenario[0].learned).toHaveLength(5);
  });

  it('prints a table by default', () => {
    const r = cli('analyze', '--scenarios', f('scenarios.csv'), '--selections', f('selections-hard.csv'), '--targets', f('targets.csv'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/learned vs target\s+0\.\d{3}/);
    expect(r.stdout).toMatch(/agreement with target utility/);
    expect(r.stdout).toMatch(/Scenarios analysed: 10/);
  });

  it('fails clearly on bad input', () => {
    let r = cli('analyze', '--scenarios', f('scenarios.csv'), '--selections', f('bad-selection.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad-selection\.csv: row 2: selection must be A or B, got "maybe"/);
    r = cli('analyze', '--scenarios', f('scenarios.csv'), '--selections', f('missing.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read selections file .*missing\.csv \(ENOENT\)/);
    r = cli('analyze', '--scenarios', f('scenarios.csv'), '--selections', f('unknown-scenario.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not in the scenarios file: no_such_scenario/);
    r = cli('analyze', '--scenarios', f('scenarios.csv'), '--selections', f('selections-hard.csv'), '--soft');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/p_A/);
    r = cli('analyze', '--scenarios', f('targets.csv'), '--selections', f('selections.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid scenario CSV targets\.csv \(1 problem\):\n  - header: the header lacks the columns question, /);
  });

  it('fails with usage on bad arguments', () => {
    let r = cli('analyze', '--scenarios', f('scenarios.csv'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--selections is required/);
    r = cli('analyze', '--scenarios', f('scenarios.csv'), '--selections', f('selections.csv'), '--resamples', 'lots');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resamples must be a positive integer/);
    r = cli('analyze', '--bogus');
    expect(r.code).toBe(2);
    r = cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
    r = cli('analyze', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--selections FILE/);
    r = cli();
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/analyze/);
  });

  it('--run DIR --json: per decision condition the position diagnostics, the fit used and learned vs target (as the lab computes them)', () => {
    const out = path.join(dir, 'run-biased');
    const run = cli('run', '--preset', 'classroom', '--decisions', '10', '--reports', '2', '--model', 'sim:biased?weights=target&bias=12&beta=8', '--out', out);
    expect(run.code, run.stderr).toBe(0);
    const r = cli('analyze', '--run', out, '--json', '--resamples', '200');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.simulated).toBe(true);
    const decide = json.decisions.decide;
    expect(Object.keys(decide.position)).toEqual(expect.arrayContaining(['a_rate', 'mean_p_a', 'intercept']));
    expect(decide.position.a_rate).toBeGreaterThanOrEqual(0.95);
    expect(decide.position.intercept).toBeCloseTo(12, 1); // from the counterbalanced pairs (the preset counterbalances)
    expect(decide.fit).toBe('soft');
    expect(decide.learned_vs_target.r).toBeGreaterThan(0.8);
    expect(decide.learned_vs_target.ci).toHaveLength(2);
    expect(decide.learned_vs_target.ceiling.ceiling).toBeGreaterThan(0);
    // Words without --json; a folder without a run is a clear error.
    const text = cli('analyze', '--run', out, '--resamples', '200');
    expect(text.stdout).toMatch(/simulated/);
    expect(text.stdout).toMatch(/hard fit is degenerate/);
    const none = cli('analyze', '--run', path.join(dir, 'no-such-run'));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/holds no run/);
    expect(cli('analyze', '--run', out, '--selections', f('selections.csv')).code).toBe(2);
  });
});

describe('usage errors (issue 19, item 10)', () => {
  it('a wrong preset or an unknown option: one clear line and the usage, no stack', () => {
    const out = path.join(tmpdir(), `cli-usage-${process.pid}`);
    let r = cli('run', '--preset', 'foo', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`error: give a spec file or --preset ${CLI_PRESETS.join('|')}`);
    expect(r.stderr).toMatch(/usage: npm run cli -- run/);
    expect(r.stderr).not.toMatch(/Error: Error|\n\s+at /);
    r = cli('run', '--bogus-option');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^error: Unknown option '--bogus-option'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
