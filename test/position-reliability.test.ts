/**
 * Position bias, counterbalancing and reliability ceilings: the pieces, then
 * the acceptance simulations through the simulated engine (spec → plan →
 * runner → the lab's run analysis), printing the figures they check.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  ceilingFor,
  chooseFit,
  correlate,
  debiasedChoice,
  debiasPairs,
  oddEven,
  pearson,
  percentileInterval,
  positionDiagnostics,
  reportedWeights,
  sigmoid,
  spearmanBrown,
  splitHalfReliability,
  type PositionedDecision,
} from '../src/lib/analysis';
import { ceilingText, positionWarning, rRows } from '../src/app/decision-diagnostics';
import { analyzeRun } from '../src/app/run-analysis';
import { presetSpec } from '../src/lib/experiment/presets';
import { rngFor } from '../src/lib/rng';
import { normalDraw, simulatedId, type SimulatedParams } from '../src/lib/experiment/simulated';
import type { ExperimentSpec } from '../src/lib/experiment/spec';
import { runSimulated } from './support/sim-run';

describe('position bias and reliability: the pieces', () => {
  it('the debiased choice removes any bias exactly, from the two orders of a pair', () => {
    for (const bias of [-6, 0, 3, 12]) {
      for (const u of [-2, -0.3, 0, 1.5]) {
        expect(debiasedChoice(sigmoid(bias + u), sigmoid(bias - u))).toBeCloseTo(sigmoid(u), 9);
      }
    }
  });

  it('debiasPairs gives both orders of a pair its debiased probability, and leaves lone trials alone', () => {
    const base = { scenario: 's', a: [1], b: [2], choice: 'A' as const };
    const d: PositionedDecision[] = [
      { ...base, index: 0, pA: sigmoid(12 + 1) },
      { ...base, index: 0, pA: sigmoid(12 - 1), swapped: true },
      { ...base, index: 1, pA: 0.8 },
    ];
    const out = debiasPairs(d);
    expect(out[0].pA).toBeCloseTo(sigmoid(1), 9);
    expect(out[1].pA).toBeCloseTo(1 - sigmoid(1), 9);
    expect(out[2]).toBe(d[2]);
    // The bias, exactly, from the pair; the share of "A" and the degenerate flag from the choices.
    const p = positionDiagnostics(d, 99);
    expect(p).toMatchObject({ aRate: 1, degenerate: true, pairs: 1 });
    expect(p.intercept).toBeCloseTo(12, 9);
    expect(positionDiagnostics(d.slice(2), 1.5).intercept).toBe(1.5);
  });

  it('chooses the soft fit when one label takes ≥ 95 % and P(A) is known, unless a fit is asked for', () => {
    const make = (a: number, n: number, pA?: number) =>
      Array.from({ length: n }, (_, i) => ({ a: [0], b: [0], choice: i < a ? ('A' as const) : ('B' as const), ...(pA === undefined ? {} : { pA }) }));
    expect(chooseFit(make(95, 100, 0.9))).toEqual({ fit: 'soft', switched: true });
    expect(chooseFit(make(94, 100, 0.9))).toEqual({ fit: 'hard', switched: false });
    expect(chooseFit(make(5, 100, 0.1))).toEqual({ fit: 'soft', switched: true });
    expect(chooseFit(make(100, 100))).toEqual({ fit: 'hard', switched: false });
    expect(chooseFit(make(100, 100, 0.9), false)).toEqual({ fit: 'hard', switched: false });
  });

  it('Spearman–Brown, split halves and ceilings', () => {
    expect(spearmanBrown(0.5)).toBeCloseTo(2 / 3, 12);
    expect(spearmanBrown(1)).toBe(1);
    expect(oddEven([10, 11, 12, 13, 14])).toEqual([[10, 12, 14], [11, 13]]);
    expect(oddEven([{ i: 3 }, { i: 3 }, { i: 4 }], (x) => x.i)).toEqual([[{ i: 4 }], [{ i: 3 }, { i: 3 }]]);
    const rel = { halfR: 0.6, reliability: 0.75, ci: [0.64, 0.81] as [number, number], n_scenarios: 10 };
    const c = ceilingFor(0.6, rel, { ...rel, reliability: 0.48, ci: [0.36, 0.64] });
    expect(c.ceiling).toBeCloseTo(0.6, 12);
    expect(c.disattenuated).toBeCloseTo(1, 12);
    expect(ceilingFor(0.5, rel).ceiling).toBeCloseTo(Math.sqrt(0.75), 12);
    // Identical halves: perfectly reliable.
    const same = [{ scenario: 'a', x: [1, 2, 3], y: [1, 2, 3] }, { scenario: 'b', x: [3, 1, 2], y: [3, 1, 2] }];
    expect(splitHalfReliability(same, { resamples: 50 }).reliability).toBeCloseTo(1, 12);
  });
});

/** Split halves over `scenarios` × 5 points whose pooled correlation is exactly `r`. */
function halvesWith(r: number, scenarios: number, seed: string) {
  const rng = rngFor(seed, 'halves');
  const n = scenarios * 5;
  const standard = (v: number[]) => {
    const m = v.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / n);
    return v.map((x) => (x - m) / sd);
  };
  const x = standard(Array.from({ length: n }, () => normalDraw(rng)));
  const e0 = Array.from({ length: n }, () => normalDraw(rng));
  const proj = e0.reduce((a, v, i) => a + v * x[i], 0) / n;
  const e = standard(e0.map((v, i) => v - proj * x[i]));
  const y = x.map((v, i) => r * v + Math.sqrt(1 - r * r) * e[i]);
  return Array.from({ length: scenarios }, (_, s) => ({ scenario: `s${s}`, x: x.slice(5 * s, 5 * s + 5), y: y.slice(5 * s, 5 * s + 5) }));
}

describe('reliabilities that are not positive (issue 16)', () => {
  it("clips half-correlations of −.2 and −.25 at 0: reliability 0, no ceiling, said in words, and no inverted interval", () => {
    const x = splitHalfReliability(halvesWith(-0.2, 12, 'a'), { resamples: 1000 });
    const y = splitHalfReliability(halvesWith(-0.25, 12, 'b'), { resamples: 1000 });
    expect(x.halfR).toBeCloseTo(-0.2, 9);
    expect(y.halfR).toBeCloseTo(-0.25, 9);
    for (const rel of [x, y]) {
      expect(rel.reliability).toBe(0);
      expect(rel.ci[0]).toBeGreaterThanOrEqual(0);
      expect(rel.ci[0]).toBeLessThanOrEqual(rel.ci[1]);
      expect(rel.ci[1]).toBeLessThanOrEqual(1);
    }
    // Unclipped, −.5 × −.67 made a "ceiling" of .577 with the interval [1, .365].
    const c = ceilingFor(0.3, x, y);
    expect(c.ceiling).toBeNaN();
    expect(c.disattenuated).toBeNaN();
    expect(c.none).toMatch(/^no ceiling: a split-half reliability is not positive \(its two halves correlate -0\.20\)/);
    expect(ceilingText(c)).toBe(c.none);
    expect(ceilingFor(0.3, y).none).toMatch(/-0\.25/);
  });

  it('gives reliability 0 for a half-correlation of −1, not −∞', () => {
    expect(spearmanBrown(-1)).toBe(0);
    const rel = splitHalfReliability(halvesWith(-1, 6, 'c'), { resamples: 200 });
    expect(rel.halfR).toBeCloseTo(-1, 9);
    expect([rel.reliability, ...rel.ci]).toEqual([0, 0, 0]);
    expect(ceilingFor(0.2, rel).none).toBeDefined();
  });

  it("takes the ceiling's interval from a bootstrap of the product, resample by resample", () => {
    const hx = halvesWith(0.6, 30, 'd');
    const hy = halvesWith(0.5, 30, 'e');
    const x = splitHalfReliability(hx, { resamples: 500, seed: 's' });
    const y = splitHalfReliability(hy, { resamples: 500, seed: 's' });
    const c = ceilingFor(0.25, x, y);
    expect(c.ceiling).toBeCloseTo(Math.sqrt(x.reliability * y.reliability), 12);
    // Naively: resample scenarios (the bootstrap's own draws), both split-half r on them, step up, clip, multiply, √.
    const rng = rngFor('s/split-half', 'bootstrap-correlation');
    const r = (h: typeof hx, idx: number[]) => pearson(idx.flatMap((i) => h[i].x), idx.flatMap((i) => h[i].y));
    const products: number[] = [];
    for (let b = 0; b < 500; b++) {
      const idx = Array.from({ length: 30 }, () => Math.floor(rng.next() * 30));
      products.push(Math.sqrt(Math.min(1, spearmanBrown(r(hx, idx)) * spearmanBrown(r(hy, idx)))));
    }
    const naive = percentileInterval(products);
    expect(Math.abs(c.ci[0] - naive[0])).toBeLessThan(1e-9);
    expect(Math.abs(c.ci[1] - naive[1])).toBeLessThan(1e-9);
    expect(c.ci[0]).toBeLessThanOrEqual(c.ceiling);
    expect(c.ceiling).toBeLessThanOrEqual(c.ci[1]);
    // Not the product of the two intervals' ends.
    expect(Math.abs(c.ci[0] - Math.sqrt(x.ci[0] * y.ci[0]))).toBeGreaterThan(0.01);
  });
});

// ─── acceptance simulations ────────────────────────────────────────────────

const figures: string[] = [];
const f3 = (x: number) => x.toFixed(3);
const iv = (c: readonly [number, number]) => `[${f3(c[0])}, ${f3(c[1])}]`;
afterAll(() => {
  if (figures.length) console.log(`\nPosition bias and reliability (simulated models):\n${figures.join('\n')}\n`);
});

const SCENARIOS = 40;
function simSpec(model: Partial<SimulatedParams>, options: { counterbalance: boolean; decisions?: number; reports?: number; seed?: string; targets?: Record<string, number[]> }): ExperimentSpec {
  const spec = presetSpec('classroom', { model: { id: simulatedId({ label: 'sim', weights: 'target', ...model }) }, seed: options.seed ?? 'acceptance' });
  return {
    ...spec,
    decisionsPerScenario: options.decisions ?? 50,
    reportsPerScenario: options.reports ?? 6,
    counterbalance: options.counterbalance,
    scenarios: { source: 'builtin', roleSeed: 'acceptance', count: SCENARIOS, ...(options.targets ? { targets: options.targets } : {}) },
  };
}
const resamples = 1000;

/**
 * bias = 12 logits towards "A" with beta = 8: 99 % of hard choices are "A".
 * (At the simulated models' default beta = 10, the strongest options still
 * win a few "B"s and the hard fit reaches r ≈ .67: less dramatic, same story.)
 */
const BIASED: Partial<SimulatedParams> = { bias: 12, beta: 8 };

describe('acceptance: a strongly position-biased simulated model (bias = 12 logits towards "A")', () => {
  it('without counterbalancing the hard fit recovers the targets poorly and the lab flags it; with counterbalancing the soft fit recovers them', async () => {
    const plain = (await runSimulated(simSpec(BIASED, { counterbalance: false }))).record;
    const hard = analyzeRun(plain, { resamples, soft: false }).decisions[0];
    const lab = analyzeRun(plain, { resamples }).decisions[0];
    expect(hard.fit).toBe('hard');
    expect(hard.vsTarget!.r).toBeLessThan(0.5);
    // The lab flags it, in words, and switches to the soft fit.
    expect(lab.position!.degenerate).toBe(true);
    expect(lab.position!.aRate).toBeGreaterThanOrEqual(0.95);
    expect(lab.switchedToSoft).toBe(true);
    expect(positionWarning(lab)).toMatch(/answered "A" in \d+ % of its decisions.*soft fit/);

    const balanced = (await runSimulated(simSpec(BIASED, { counterbalance: true }))).record;
    const cb = analyzeRun(balanced, { resamples }).decisions[0];
    expect(cb.fit).toBe('soft');
    expect(cb.position!.pairs).toBe(SCENARIOS * 50);
    expect(cb.position!.intercept).toBeCloseTo(12, 2);
    expect(cb.vsTarget!.r).toBeGreaterThanOrEqual(0.9);
    // Still flagged: the hard choices are all but all "A" in both orders.
    expect(positionWarning(cb)).toMatch(/soft fit.*each pair’s two orders/);
    // Every r the view lists says which fit its learned weights come from, and has its ceiling.
    const rows = rRows(analyzeRun(balanced, { resamples }));
    expect(rows.map((r) => [r.comparison, r.fit])).toEqual([
      ['learned vs target', 'soft'],
      ['reported vs learned', 'soft'],
      ['reported vs target', null],
    ]);
    expect(rows.every((r) => r.ceiling && Number.isFinite(r.ceiling.ceiling))).toBe(true);
    figures.push(
      `bias 12, not counterbalanced: "A" ${f3(lab.position!.aRate)}, hard fit r = ${f3(hard.vsTarget!.r)} ${iv(hard.vsTarget!.ci)}; ` +
        `soft fit r = ${f3(lab.vsTarget!.r)} ${iv(lab.vsTarget!.ci)}`,
      `bias 12, counterbalanced: soft fit (debiased pairs) r = ${f3(cb.vsTarget!.r)} ${iv(cb.vsTarget!.ci)}; bias from pairs ${f3(cb.position!.intercept)} logits`,
    );
  });

  it('without bias, counterbalancing changes the recovered weights by no more than sampling noise', async () => {
    const plain = analyzeRun((await runSimulated(simSpec({}, { counterbalance: false }))).record, { resamples }).decisions[0];
    const cb = analyzeRun((await runSimulated(simSpec({}, { counterbalance: true }))).record, { resamples }).decisions[0];
    expect(plain.position!.degenerate).toBe(false);
    expect([plain.fit, cb.fit]).toEqual(['hard', 'hard']);
    // Learned vs target: the two r differ by less than half the scenario-bootstrap interval.
    const [p, c] = [plain.vsTarget!, cb.vsTarget!];
    expect(Math.abs(c.r - p.r)).toBeLessThanOrEqual((p.ci[1] - p.ci[0]) / 2);
    // The two sets of learned weights agree at least as well as two measurements of this reliability can.
    const agreement = correlate([...plain.learned].map(([scenario, x]) => ({ scenario, x, y: cb.learned.get(scenario)! })), { resamples: 0 }).r;
    expect(agreement).toBeGreaterThanOrEqual(plain.reliability!.ci[0]);
    expect(Math.abs(plain.position!.intercept)).toBeLessThan(0.5);
    expect(positionWarning(plain)).toBeNull();
    figures.push(
      `bias 0: learned vs target r = ${f3(p.r)} ${iv(p.ci)} plain, ${f3(c.r)} ${iv(c.ci)} counterbalanced; ` +
        `r(plain, counterbalanced weights) = ${f3(agreement)}, split-half reliability ${f3(plain.reliability!.reliability)} ${iv(plain.reliability!.ci)}`,
    );
  });
});

/**
 * The reliability of mean reports that a simulated model's known noise gives:
 * two independent sets of n reports per (scenario, attribute), drawn exactly as
 * the model draws them (mean + normal noise of sd σ, rounded, clipped to
 * ±100), averaged and scaled per scenario as the analysis does; the
 * correlation between the two sets, averaged over many draws.
 */
function knownReportReliability(means: readonly (readonly number[])[], n: number, sigma: number, draws = 200): number {
  const rng = rngFor('known-noise');
  const draw = () => means.map((m) => reportedWeights(Array.from({ length: n }, () => m.map((x) => Math.max(-100, Math.min(100, Math.round(x + sigma * normalDraw(rng))))))));
  let total = 0;
  for (let k = 0; k < draws; k++) {
    const [a, b] = [draw(), draw()];
    total += correlate(a.map((x, i) => ({ scenario: String(i), x, y: b[i] })), { resamples: 0 }).r;
  }
  return total / draws;
}

describe('acceptance: reliability ceilings of simulated models', () => {
  it('the split-half reliability matches the one their known noise gives, and r stays under its ceiling', async () => {
    const cases: { name: string; model: Partial<SimulatedParams>; counterbalance: boolean; reports: number }[] = [
      { name: 'noise 60, 6 reports, bias 0', model: { noise: 60 }, counterbalance: false, reports: 6 },
      { name: 'noise 30, 4 reports, bias 12, counterbalanced', model: { noise: 30, bias: 12 }, counterbalance: true, reports: 4 },
    ];
    for (const c of cases) {
      const first = (await runSimulated(simSpec(c.model, { counterbalance: c.counterbalance, reports: c.reports }))).record;
      const targets = Object.fromEntries(first.plan.scenarios.map((p) => [p.scenario.id, p.target]));
      // The same model on the same targets, other options: an independent full-length measurement.
      const retest = (await runSimulated(simSpec(c.model, { counterbalance: c.counterbalance, reports: c.reports, seed: 'retest', targets }))).record;
      const [a, b] = [analyzeRun(first, { resamples }), analyzeRun(retest, { resamples })];
      const [d, rep] = [a.decisions[0], a.reports[0]];

      const learnedKnown = correlate([...d.learned].map(([scenario, x]) => ({ scenario, x, y: b.decisions[0].learned.get(scenario)! })), { resamples: 0 }).r;
      const reportKnown = knownReportReliability(first.plan.scenarios.map((p) => p.target), c.reports, c.model.noise!);
      expect(learnedKnown).toBeGreaterThanOrEqual(d.reliability!.ci[0]);
      expect(learnedKnown).toBeLessThanOrEqual(d.reliability!.ci[1]);
      expect(reportKnown).toBeGreaterThanOrEqual(rep.reliability!.ci[0]);
      expect(reportKnown).toBeLessThanOrEqual(rep.reliability!.ci[1]);

      // Every r with its ceiling: never above it by more than the ceiling's interval.
      const rs = [
        ['learned vs target', d.vsTarget!],
        ['reported vs learned', rep.vsLearned!],
        ['reported vs target', rep.vsTarget!],
      ] as const;
      for (const [what, r] of rs) {
        const ceiling = r.ceiling!;
        expect(r.r - ceiling.ceiling, `${c.name}: ${what}`).toBeLessThanOrEqual(ceiling.ci[1] - ceiling.ci[0]);
        figures.push(`${c.name}: ${what} r = ${f3(r.r)}, ceiling ${f3(ceiling.ceiling)} ${iv(ceiling.ci)}, disattenuated ${f3(ceiling.disattenuated)}`);
      }
      figures.push(
        `${c.name}: learned weights split-half ${f3(d.reliability!.reliability)} ${iv(d.reliability!.ci)} vs retest ${f3(learnedKnown)}; ` +
          `mean reports split-half ${f3(rep.reliability!.reliability)} ${iv(rep.reliability!.ci)} vs known noise ${f3(reportKnown)}`,
      );
    }
  });
});
