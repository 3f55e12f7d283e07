/**
 * "Does the model respond at all?": the likelihood-ratio test of choices
 * against intercept-only, its summary per decision condition, reports that
 * copy the options' values, and the words the page and the CLI say — on
 * simulated models run through the real runner (beta = 0 or tiny: choices that
 * ignore the attributes; the default beta: choices that follow them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chiSquareSurvival,
  copiedValues,
  copyTally,
  dependenceTest,
  logLikelihood,
  sigmoid,
  summarizeSensitivity,
} from '../src/lib/analysis';
import { copyingWarning, rRows, sensitivityWarning } from '../src/app/decision-diagnostics';
import { analyzeRun, targetsInstilled } from '../src/app/run-analysis';
import { presetSpec } from '../src/lib/experiment/presets';
import { rngFor } from '../src/lib/rng';
import { simulatedId, type SimulatedParams } from '../src/lib/experiment/simulated';
import type { ExperimentSpec } from '../src/lib/experiment/spec';
import { formatValue } from '../src/lib/prompts';
import { FolderStore } from '../cli/folder-store';
import { runSimulated } from './support/sim-run';
import { copyingReports } from './support/copying';

describe('the chi-square tail and the likelihood-ratio test', () => {
  it('chiSquareSurvival matches known values', () => {
    // df = 2: exactly e^(−x/2).
    for (const x of [0.1, 1, 2, 7.5, 30]) expect(chiSquareSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 14);
    // Critical values at .05 (df 1 and 5) and .001 (df 5), as tables give them.
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(11.070498, 5)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(20.515006, 5)).toBeCloseTo(0.001, 7);
    // Far tail: tiny but not 0 (the upper tail is computed directly, not as 1 − cdf).
    const far = chiSquareSurvival(200, 5);
    expect(far).toBeGreaterThan(0);
    expect(far).toBeLessThan(1e-35);
    expect(chiSquareSurvival(0, 5)).toBe(1);
    expect(() => chiSquareSurvival(1, 0)).toThrow(/df/);
  });

  const rng = rngFor('lr-test');
  const rows = (n: number) => Array.from({ length: n }, () => Array.from({ length: 5 }, () => rng.next() - rng.next()));
  const w = [3, -2, 1, 0.5, -1];
  const u = (d: readonly number[]) => d.reduce((t, v, i) => t + v * w[i], 0);

  it('choices that follow the attributes are significant; constant ones give G ≈ 0, p ≈ 1', () => {
    const X = rows(40);
    const follows = dependenceTest(X, X.map((d) => (u(d) > 0 ? 1 : 0)));
    expect(follows.df).toBe(5);
    expect(follows.p).toBeLessThan(1e-5);
    // Perfectly separated: G is the null model's deviance (ℓ_full → 0), finite.
    expect(Number.isFinite(follows.statistic)).toBe(true);
    // "A" every time: nothing to explain (G is not exactly 0: the slopes can stand in for the prior-shrunk intercept a little).
    const allA = dependenceTest(X, X.map(() => 1));
    expect(allA.statistic).toBeLessThan(0.1);
    expect(allA.p).toBeGreaterThan(0.99);
    const flatSoft = dependenceTest(X, X.map(() => 0.75));
    expect(flatSoft.statistic).toBeLessThan(1e-9);
    expect(flatSoft.p).toBeGreaterThan(0.999);
  });

  it('a soft fit counts one draw per trial: P(A) moving by a hair is not significant, a strong one is', () => {
    const X = rows(60);
    const hair = dependenceTest(X, X.map((d) => sigmoid(1.1 + 0.01 * u(d))));
    expect(hair.p).toBeGreaterThan(0.9);
    const strong = dependenceTest(X, X.map((d) => sigmoid(3 * u(d))));
    expect(strong.p).toBeLessThan(1e-3);
  });

  it('G = 2(ℓ_full − ℓ_null) with the log-likelihood written out', () => {
    const X = [[0.5], [-0.2], [0.9], [-0.7]];
    const y = [1, 0, 1, 1];
    const l = logLikelihood(X, y, { intercept: 0.3, coefficients: [2] });
    const byHand = y.reduce((t, yi, i) => {
      const p = sigmoid(0.3 + 2 * X[i][0]);
      return t + yi * Math.log(p) + (1 - yi) * Math.log(1 - p);
    }, 0);
    expect(l).toBeCloseTo(byHand, 12);
  });

  it('summarizeSensitivity: median p, share significant, mean |slope|, and the verdict', () => {
    const t = (p: number) => ({ statistic: 0, df: 5, p });
    const s = summarizeSensitivity([
      { test: t(0.001), coefficients: [1, -1] },
      { test: t(0.5), coefficients: [0.5, 0] },
      { test: t(0.9), coefficients: [0, -0.5] },
    ]);
    expect(s).toEqual({ scenarios: 3, significant: 1, shareSignificant: 1 / 3, lrPMedian: 0.5, meanAbsSlope: 0.5, barelyResponds: true });
    expect(summarizeSensitivity([{ test: t(0.01), coefficients: [1] }, { test: t(0.2), coefficients: [1] }]).barelyResponds).toBe(false);
    expect(summarizeSensitivity([]).barelyResponds).toBe(false);
  });
});

describe('reports that copy the options', () => {
  const attributes = [
    { min: 0, max: 100 }, // integers, shown "52.0"
    { min: 0, max: 0.5 }, // two decimals, shown "0.35"
    { min: 1, max: 4 }, // one decimal
  ];
  it('a value counts as copied when it equals A’s or B’s value of that attribute as the prompt displayed it', () => {
    const a = [52, 0.347, 2.25];
    const b = [17, 0.4, 3];
    expect(formatValue(a[0], attributes[0])).toBe('52.0');
    expect(copiedValues({ report: [52, 0.35, 3], a, b, attributes })).toEqual([true, true, true]);
    expect(copiedValues({ report: [17, 35, 2.2], a, b, attributes })).toEqual([true, false, false]);
    // The value of another attribute does not count.
    expect(copiedValues({ report: [0, 52, 17], a, b, attributes })).toEqual([false, false, false]);
    expect(copyTally([{ report: [52, 1, 1], a, b, attributes }, { report: [17, 0.4, 0], a, b, attributes }])).toEqual({ values: 6, copied: 3, share: 0.5 });
    expect(copyTally([]).share).toBeNaN();
  });
});

// ─── simulated models through the runner ───────────────────────────────────

function spec(model: Partial<SimulatedParams>, seed = 'sensitivity'): ExperimentSpec {
  const s = presetSpec('classroom', { model: { id: simulatedId({ label: 'sim', weights: 'target', ...model }) }, seed });
  return { ...s, decisionsPerScenario: 10, reportsPerScenario: 3, scenarios: { source: 'builtin', count: 8 } };
}

describe('simulated models: the warnings appear for a model that does not respond, and only then', async () => {
  const flat = analyzeRun((await runSimulated(spec({ beta: 0 }))).record, { resamples: 200 });
  const tiny = analyzeRun((await runSimulated(spec({ beta: 0.05, bias: 1 }))).record, { resamples: 200 });
  const good = (await runSimulated(spec({}))).record;
  const responds = analyzeRun(good, { resamples: 200 });

  it('beta = 0 and a tiny beta: not distinguishable from no dependence; the warning says so first', () => {
    for (const a of [flat, tiny]) {
      const d = a.decisions[0];
      expect(d.fit).toBe('soft'); // "A" every time: the soft fit (P(A))
      expect(d.sensitivity!.barelyResponds).toBe(true);
      expect(d.sensitivity!.shareSignificant).toBeLessThan(0.5);
      expect(d.sensitivity!.lrPMedian).toBeGreaterThan(0.5);
      expect(d.sensitivity!.meanAbsSlope).toBeLessThan(0.05);
      expect(sensitivityWarning(d)).toMatch(/^This model's choices barely depend on the attributes: its learned weights are mostly noise\./);
      // Its learned weights still span ±100: the scaling hides how small they are.
      const w = [...d.learned.values()].flat().filter((x) => x !== 0);
      if (w.length) expect(Math.max(...w.map(Math.abs))).toBeCloseTo(100, 9);
    }
    expect(flat.decisions[0].sensitivity).toMatchObject({ significant: 0, lrPMedian: 1, meanAbsSlope: 0 });
  });

  it('a model that follows its weights: significant in every scenario, no warning', () => {
    const d = responds.decisions[0];
    expect(d.sensitivity).toMatchObject({ scenarios: 8, significant: 8, shareSignificant: 1, barelyResponds: false });
    expect(d.sensitivity!.lrPMedian).toBeLessThan(1e-3);
    expect(d.sensitivity!.meanAbsSlope).toBeGreaterThan(0.3);
    expect(sensitivityWarning(d)).toBeNull();
    // Raw slopes per scenario beside the scaled weights; the per-scenario p-values.
    const s = responds.scenarios[0];
    expect(s.slopes.decide).toHaveLength(5);
    expect(s.learned.decide!.map((x) => Math.sign(x))).toEqual(s.slopes.decide!.map((x) => Math.sign(x)));
    expect(s.lrP.decide).toBeLessThan(0.05);
  });

  it('simulated reports (access, noise) do not copy; reports that repeat option A do, with a warning', () => {
    const r = responds.reports[0];
    expect(r.copying.values).toBe(8 * 3 * 5);
    expect(r.copying.share).toBeLessThan(0.1);
    expect(copyingWarning(r)).toBeNull();
    const copied = analyzeRun(copyingReports(good), { resamples: 200 }).reports[0];
    // Every value within ±100 is copied; clipped ones (prices above 100) are not.
    const trials = good.plan.trials.filter((t) => t.kind === 'report');
    const attrs = new Map(good.plan.scenarios.map((p) => [p.scenario.id, p.scenario.attributes]));
    const fits = trials.flatMap((t) => t.a.map((v, i) => Math.abs(Number(formatValue(v, attrs.get(t.scenarioId)![i]))) <= 100)).filter(Boolean).length;
    expect(copied.copying).toEqual({ values: 120, copied: fits, share: fits / 120 });
    expect(fits).toBeGreaterThan(60);
    expect(copyingWarning(copied)).toMatch(new RegExp(`^${Math.round((100 * fits) / 120)} % of the reported weights \\(${fits} of 120\\) copy a number shown in the options`));
  });

  it('learned vs target only for a model trained on the targets', () => {
    const native = spec({ weights: 'native' });
    expect(targetsInstilled(native, 'self')).toBe(false);
    expect(targetsInstilled(spec({}), 'self')).toBe(true);
    const untouched: ExperimentSpec = { ...native, models: [{ key: 'self', id: 'HuggingFaceTB/SmolLM2-135M-Instruct' }] };
    expect(targetsInstilled(untouched, 'self')).toBe(false);
    expect(targetsInstilled({ ...untouched, models: [{ key: 'self', id: 'x', adapter: { id: 'a' } }] }, 'self')).toBe(true);
    expect(targetsInstilled({ ...untouched, scenarios: { ...untouched.scenarios, targets: {} } }, 'self')).toBe(true);
    expect(rRows(responds).map((r) => r.comparison)).toEqual(['learned vs target', 'reported vs learned', 'reported vs target']);
  });
});

describe('learned vs target rows of a native model', async () => {
  const a = analyzeRun((await runSimulated(spec({ weights: 'native' }))).record, { resamples: 200 });
  it('are left out (the analysis still has the numbers)', () => {
    expect(a.decisions[0].instilled).toBe(false);
    expect(a.decisions[0].vsTarget).not.toBeNull();
    expect(rRows(a).map((r) => r.comparison)).toEqual(['reported vs learned']);
  });
});

// ─── the CLI ───────────────────────────────────────────────────────────────

const root = join(import.meta.dirname, '..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
let tmp = '';
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('cli analyze --run: sensitivity and reports of every condition', () => {
  it('prints decisions.<key>.sensitivity and reports.<key> as the lab computes them, and warns in words', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cli-sensitivity-'));
    const runs: Record<string, string> = { flat: 'sim:flat?weights=target&beta=0', good: 'sim:good?weights=target' };
    for (const [name, model] of Object.entries(runs)) {
      const r = cli('run', '--preset', 'classroom', '--scenarios', '6', '--decisions', '10', '--reports', '2', '--model', model, '--out', join(tmp, name));
      expect(r.status, r.stderr).toBe(0);
    }
    for (const name of Object.keys(runs)) {
      const dir = join(tmp, name);
      const out = cli('analyze', '--run', dir, '--json', '--resamples', '200');
      expect(out.status, out.stderr).toBe(0);
      const json = JSON.parse(out.stdout);
      const lab = analyzeRun((await new FolderStore(dir).readRecord())!, { resamples: 200 });
      const d = lab.decisions[0];
      const s = json.decisions.decide.sensitivity;
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['lr_p_median', 'share_significant', 'mean_abs_slope']));
      expect(s.lr_p_median).toBe(d.sensitivity!.lrPMedian);
      expect(s.share_significant).toBeCloseTo(d.sensitivity!.shareSignificant, 4);
      expect(s.mean_abs_slope).toBeCloseTo(d.sensitivity!.meanAbsSlope, 6);
      expect(s.barely_responds).toBe(name === 'flat');
      const rep = json.reports['self-report'];
      const r = lab.reports[0];
      expect(rep).toMatchObject({ about: 'decide', valid: r.tally.valid, invalid: r.tally.invalid, n_points: r.vsLearned?.n_points ?? 0 });
      expect(rep.valid).toBe(12);
      expect(Object.keys(rep)).toEqual(expect.arrayContaining(['about', 'r', 'ci', 'n_points', 'valid', 'invalid', 'copied_share']));
      expect(rep.copied_share).toBeCloseTo(r.copying.share, 4);
      if (name === 'good') {
        expect(rep.r).toBeCloseTo(r.vsLearned!.r, 4);
        expect(rep.ci).toHaveLength(2);
      }
      const text = cli('analyze', '--run', dir, '--resamples', '200').stdout;
      expect(text.includes("WARNING: This model's choices barely depend on the attributes: its learned weights are mostly noise.")).toBe(name === 'flat');
      expect(text).toMatch(/self-report \(.*\): 12 valid, 0 invalid reports/);
    }
  }, 300_000);
});
