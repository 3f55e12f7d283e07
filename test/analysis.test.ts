import { describe, expect, it } from 'vitest';
import {
  agreementRate,
  analyzeExperiment,
  AnalysisInputError,
  bootstrapCorrelation,
  correlate,
  fisherInterval,
  fitLogistic,
  learnedWeights,
  LogisticConvergenceError,
  normalQuantile,
  pairedCorrelationDifference,
  pearson,
  percentileInterval,
  quantileSorted,
  reportedWeights,
  type ScenarioPoints,
} from '../src/lib/analysis/index';
import { simulateAgents, type SimulatedScenario } from '../src/lib/analysis/simulate';
import { rngFor } from '../src/lib/rng';

/**
 * Inverse temperature of the simulated agents: P(A) = σ(β · Σ_i (w_i/100) d_i) with
 * β = 10, i.e. a full-range difference on the heaviest attribute (|w| = 100) gives
 * odds of e^10 (such agents follow their own utility ranking in ~91 % of trials).
 */
const BETA = 10;

function recovery(sims: readonly SimulatedScenario[], soft: boolean, trials?: number): { r: number; converged: boolean } {
  const x: number[] = [];
  const y: number[] = [];
  let converged = true;
  for (const s of sims) {
    const fit = learnedWeights(s.attributes, trials ? s.decisions.slice(0, trials) : s.decisions, { soft });
    converged &&= fit.converged;
    x.push(...fit.weights);
    y.push(...s.target);
  }
  return { r: pearson(x, y), converged };
}

describe('learned weights recover simulated agents', () => {
  it(`recovers known weights at r ≥ .95 from 50 trials per scenario (β = ${BETA}, 100 scenarios)`, () => {
    const sims = simulateAgents({ scenarios: 100, trials: 50, inverseTemperature: BETA, seed: 'test-recovery' });
    const hard = recovery(sims, false);
    expect(hard.converged).toBe(true);
    expect(hard.r).toBeGreaterThanOrEqual(0.95);
    // The agents really are noisy (else recovery would be trivial).
    let agree = 0, n = 0;
    for (const s of sims) {
      const a = agreementRate(s.attributes, s.target, s.decisions);
      agree += a.agreements;
      n += a.decisions;
    }
    expect(agree / n).toBeGreaterThan(0.8);
    expect(agree / n).toBeLessThan(0.95);
  });

  it('fitting the true P(A) (soft choices) recovers at least as well as 0/1 choices, with the same trials', () => {
    const sims = simulateAgents({ scenarios: 300, trials: 50, inverseTemperature: BETA, seed: 'test-soft' });
    for (const trials of [10, 20, 50]) {
      const hard = recovery(sims, false, trials);
      const soft = recovery(sims, true, trials);
      expect(soft.converged && hard.converged).toBe(true);
      // "At least as well" holds strictly here (an ignored `soft` flag would tie).
      expect(soft.r, `${trials} trials: soft ${soft.r} vs hard ${hard.r}`).toBeGreaterThan(hard.r);
    }
    // Per scenario: the soft fit is closer to the truth in most scenarios (20 trials).
    let softCloser = 0;
    for (const s of sims) {
      const d = s.decisions.slice(0, 20);
      const err = (w: number[]) => w.reduce((t, v, i) => t + Math.abs(v - s.target[i]), 0);
      if (err(learnedWeights(s.attributes, d, { soft: true }).weights) < err(learnedWeights(s.attributes, d).weights)) softCloser++;
    }
    expect(softCloser / sims.length).toBeGreaterThan(0.6);
  });

  it('does not recover weights from choices that ignore them (the test can fail)', () => {
    const sims = simulateAgents({ scenarios: 100, trials: 50, inverseTemperature: BETA, seed: 'test-null' });
    const rng = rngFor('test-null-choices');
    const shuffledChoices = sims.map((s) => ({
      ...s,
      decisions: s.decisions.map((d) => ({ ...d, choice: rng.next() < 0.5 ? ('A' as const) : ('B' as const) })),
    }));
    expect(Math.abs(recovery(shuffledChoices, false).r)).toBeLessThan(0.2);
  });
});

describe('fitLogistic', () => {
  it('matches closed forms: intercept-only fits', () => {
    const X = [[], [], [], []];
    const y = [1, 1, 1, 0];
    const flat = fitLogistic(X, y, { interceptPriorSd: Infinity });
    expect(flat.converged).toBe(true);
    expect(flat.intercept).toBeCloseTo(Math.log(3), 8);
    // With b0 ~ N(0, 1): root of 3 − 4σ(b) − b = 0.
    const map = fitLogistic(X, y, { interceptPriorSd: 1 });
    expect(map.intercept).toBeCloseTo(0.5052400863197251, 8);
  });

  it('returns a stationary point of the log posterior', () => {
    const sims = simulateAgents({ scenarios: 1, trials: 60, inverseTemperature: 4, seed: 'test-stationary' });
    const s = sims[0];
    const fit = learnedWeights(s.attributes, s.decisions);
    expect(fit.converged).toBe(true);
    const X = s.decisions.map((d) => d.a.map((v, i) => (v - d.b[i]) / (s.attributes[i].max - s.attributes[i].min)));
    const y = s.decisions.map((d) => (d.choice === 'A' ? 1 : 0));
    const raw = fitLogistic(X, y);
    expect(raw.maxGradient).toBeLessThan(1e-8);
    // Moving any coefficient lowers the log posterior.
    for (let j = 0; j < 5; j++) {
      for (const eps of [1e-3, -1e-3]) {
        const b = raw.coefficients.slice();
        b[j] += eps;
        let f = 0;
        X.forEach((row, r) => {
          const eta = raw.intercept + row.reduce((t, v, i) => t + v * b[i], 0);
          f += y[r] * eta - Math.log1p(Math.exp(eta));
        });
        f -= 0.5 * b.reduce((t, v) => t + v * v, 0) + 0.5 * (raw.intercept / 2.5) ** 2;
        expect(f).toBeLessThan(raw.logPosterior);
      }
    }
  });

  it('soft targets: y = 0.7 on a point equals 7 A and 3 B choices there', () => {
    const xs = [[-0.5, 0.2], [0.1, -0.3], [0.6, 0.4], [-0.2, -0.8]];
    const ps = [0.7, 0.2, 0.9, 0.4];
    const soft = fitLogistic(xs, ps);
    const Xh: number[][] = [];
    const yh: number[] = [];
    xs.forEach((x, i) => {
      for (let t = 0; t < 10; t++) {
        Xh.push(x);
        yh.push(t < ps[i] * 10 ? 1 : 0);
      }
    });
    // The hard likelihood has 10× the data: scale the prior precision by 10 to compare.
    const hard = fitLogistic(Xh, yh, { slopePriorSd: 1 / Math.sqrt(10), interceptPriorSd: 2.5 / Math.sqrt(10) });
    expect(soft.intercept).toBeCloseTo(hard.intercept, 8);
    soft.coefficients.forEach((b, i) => expect(b).toBeCloseTo(hard.coefficients[i], 8));
  });

  it('stays finite and converges under perfect separation, thanks to the prior', () => {
    const rng = rngFor('test-separation');
    const X = Array.from({ length: 50 }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)]);
    const y = X.map((x) => (x[0] > 0 ? 1 : 0));
    const fit = fitLogistic(X, y);
    expect(fit.converged).toBe(true);
    for (const b of [fit.intercept, ...fit.coefficients]) expect(Number.isFinite(b)).toBe(true);
    expect(fit.coefficients[0]).toBeGreaterThan(2);
    expect(Math.abs(fit.coefficients[0])).toBeGreaterThan(Math.abs(fit.coefficients[1]) * 2);
    // Every choice A: the intercept prior keeps b0 finite too.
    const allA = fitLogistic(X, X.map(() => 1));
    expect(allA.converged).toBe(true);
    expect(allA.intercept).toBeGreaterThan(2);
    expect(allA.intercept).toBeLessThan(20);
  });

  it('reports non-convergence instead of returning a silent answer', () => {
    const rng = rngFor('test-nonconvergence');
    const X = Array.from({ length: 40 }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1)]);
    const y = X.map((x) => (x[0] + x[1] > 0 ? 1 : 0));
    // Flat priors on separated data: the MLE does not exist.
    const flat = fitLogistic(X, y, { slopePriorSd: Infinity, interceptPriorSd: Infinity });
    expect(flat.converged).toBe(false);
    expect(flat.reason).toBeTruthy();
    // Too few iterations.
    const short = fitLogistic(X, y, { maxIterations: 1 });
    expect(short.converged).toBe(false);
    expect(short.iterations).toBe(1);
    expect(short.reason).toMatch(/1 Newton iteration/);
    expect(() => fitLogistic(X, y, { maxIterations: 1, throwOnNonConvergence: true })).toThrow(LogisticConvergenceError);
    // The same data with the prior converges in a few iterations.
    const ok = fitLogistic(X, y);
    expect(ok.converged).toBe(true);
    expect(ok.iterations).toBeLessThan(15);
    // And learnedWeights passes the flag on.
    const attrs = [{ min: 0, max: 1 }, { min: 0, max: 1 }];
    const decisions = X.map((x, i) => ({ a: x, b: [0, 0], choice: y[i] ? ('A' as const) : ('B' as const) }));
    expect(learnedWeights(attrs, decisions, { maxIterations: 1 }).converged).toBe(false);
  });

  it('rejects bad input', () => {
    expect(() => fitLogistic([[1], [2]], [1])).toThrow(/rows/);
    expect(() => fitLogistic([[1], [2]], [1, 1.5])).toThrow(/\[0, 1\]/);
    expect(() => fitLogistic([[1], [NaN]], [1, 0])).toThrow(/finite/);
    expect(() => learnedWeights([{ min: 0, max: 1 }], [{ a: [1], b: [0], choice: 'A' }], { soft: true })).toThrow(/pA/);
  });
});

describe('statistics', () => {
  it('Pearson r matches a hand-computed value', () => {
    // dx = [−2,−1,0,1,2], dy = [−2,0,1,0,1]: Sxy = 6, Sxx = 10, Syy = 6 → r = 6/√60.
    expect(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(6 / Math.sqrt(60), 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1], [1])).toBeNaN();
  });

  it('Fisher-z interval matches hand-computed values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 7);
    // r = .5, n = 28: tanh(atanh(.5) ± 1.96/5).
    const [lo, hi] = fisherInterval(0.5, 28);
    expect(lo).toBeCloseTo(0.15602836252908595, 7);
    expect(hi).toBeCloseTo(0.7358184794439376, 7);
    expect(fisherInterval(0.5, 3)).toEqual([NaN, NaN]);
  });

  it('percentiles interpolate linearly (type 7)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0)).toBe(1);
    expect(quantileSorted([1, 2, 3, 4], 1)).toBe(4);
    expect(percentileInterval([4, NaN, 1, 3, 2], 0.5)).toEqual([1.75, 3.25]);
  });

  const noisyGroups = (seed: string, m: number, noise: number): ScenarioPoints[] => {
    const rng = rngFor(seed);
    return Array.from({ length: m }, (_, s) => {
      const x = Array.from({ length: 5 }, () => rng.uniform(-100, 100));
      return { scenario: `s${s}`, x, y: x.map((v) => v + noise * rng.uniform(-100, 100)) };
    });
  };

  it('bootstrap: seeded, contains r, resamples whole scenarios', () => {
    const groups = noisyGroups('test-boot', 60, 1);
    const a = bootstrapCorrelation(groups, { seed: 1 });
    const b = bootstrapCorrelation(groups, { seed: 1 });
    const c = bootstrapCorrelation(groups, { seed: 2 });
    expect(a.ci).toEqual(b.ci);
    expect(a.ci).not.toEqual(c.ci);
    expect(a.r).toBeCloseTo(pearson(groups.flatMap((g) => g.x), groups.flatMap((g) => g.y)), 12);
    expect(a.ci[0]).toBeLessThan(a.r);
    expect(a.ci[1]).toBeGreaterThan(a.r);
    expect(a.validResamples).toBe(2000);
    expect(a.n_points).toBe(300);
    expect(a.n_scenarios).toBe(60);
    // Scenario-level resampling: repeating every point of a scenario 5× changes nothing,
    // because the same scenarios are drawn with the same seed.
    const single = groups.map((g) => ({ scenario: g.scenario, x: [g.x[0]], y: [g.y[0]] }));
    const repeated = groups.map((g) => ({ scenario: g.scenario, x: Array(5).fill(g.x[0]), y: Array(5).fill(g.y[0]) }));
    const s1 = bootstrapCorrelation(single, { seed: 3 });
    const s5 = bootstrapCorrelation(repeated, { seed: 3 });
    expect(s5.ci[0]).toBeCloseTo(s1.ci[0], 10);
    expect(s5.ci[1]).toBeCloseTo(s1.ci[1], 10);
    // ... whereas the Fisher interval (points taken as independent) narrows.
    const f1 = correlate(single).fisher_ci;
    const f5 = correlate(repeated).fisher_ci;
    expect(f5[1] - f5[0]).toBeLessThan(f1[1] - f1[0]);
    // Perfect correlation: degenerate interval.
    const perfect = groups.map((g) => ({ scenario: g.scenario, x: g.x, y: g.x.map((v) => 2 * v + 1) }));
    const p = bootstrapCorrelation(perfect);
    expect(p.r).toBeCloseTo(1, 12);
    expect(p.ci[0]).toBeCloseTo(1, 12);
  });

  it('paired difference of two correlations has the right sign', () => {
    const clean = noisyGroups('test-paired', 60, 0.3);
    const rng = rngFor('test-paired-noise');
    const noisy = clean.map((g) => ({ ...g, y: g.x.map((v) => v + 2 * rng.uniform(-100, 100)) }));
    const up = pairedCorrelationDifference(noisy, clean, { seed: 'p' });
    expect(up.r1).toBeLessThan(up.r2);
    expect(up.diff).toBeCloseTo(up.r2 - up.r1, 12);
    expect(up.diff).toBeGreaterThan(0);
    expect(up.ci[0]).toBeGreaterThan(0);
    expect(up.p).toBeLessThan(0.01);
    const down = pairedCorrelationDifference(clean, noisy, { seed: 'p' });
    expect(down.diff).toBeCloseTo(-up.diff, 12);
    expect(down.ci[1]).toBeLessThan(0);
    const same = pairedCorrelationDifference(clean, clean);
    expect(same.diff).toBe(0);
    expect(same.ci).toEqual([0, 0]);
    expect(same.p).toBe(1);
    // Only scenarios in both are used.
    expect(pairedCorrelationDifference(noisy.slice(0, 30), clean).n_scenarios).toBe(30);
  });

  it('agreement rate counts choices of the option with higher target utility', () => {
    const attrs = [{ min: 0, max: 10 }, { min: 0, max: 100 }];
    const w = [100, -50];
    // U(A) − U(B) = 100·(a1 − b1)/10 − 50·(a2 − b2)/100
    const decisions = [
      { a: [10, 0], b: [0, 0], choice: 'A' as const }, // ΔU = +100, agrees
      { a: [0, 100], b: [0, 0], choice: 'A' as const }, // ΔU = −50, disagrees
      { a: [5, 0], b: [0, 100], choice: 'A' as const }, // ΔU = +50 + 50, agrees
      { a: [0, 0], b: [5, 0], choice: 'B' as const }, // ΔU = −50, agrees
      { a: [5, 100], b: [0, 0], choice: 'B' as const }, // ΔU = 50 − 50 = 0: tie
    ];
    const a = agreementRate(attrs, w, decisions);
    expect(a).toEqual({ rate: 3 / 4, agreements: 3, decisions: 4, ties: 1 });
  });
});

describe('weights and the experiment analysis', () => {
  it('reported weights: mean of the reports, then scaled ±100', () => {
    expect(reportedWeights([[10, 0, -20], [30, 0, -20]])).toEqual([100, 0, -100]);
    expect(reportedWeights([[10, 5], [30, 15]])).toEqual([100, 50]);
    expect(reportedWeights([[10, 5], [30, 15]], { scale: false })).toEqual([20, 10]);
    expect(reportedWeights([[0, 0], [0, 0]])).toEqual([0, 0]);
    expect(() => reportedWeights([])).toThrow();
  });

  it('learned weights are scaled so the largest |weight| is 100, with raw coefficients kept', () => {
    const [s] = simulateAgents({ scenarios: 1, trials: 50, inverseTemperature: BETA, seed: 'test-scale' });
    const l = learnedWeights(s.attributes, s.decisions);
    expect(Math.max(...l.weights.map(Math.abs))).toBeCloseTo(100, 10);
    const m = Math.max(...l.coefficients.map(Math.abs));
    l.weights.forEach((w, i) => expect(w).toBeCloseTo((100 * l.coefficients[i]) / m, 10));
  });

  it('analyzeExperiment: analyses only scenarios with selections and counts ignored reports', () => {
    const sims = simulateAgents({ scenarios: 20, trials: 50, inverseTemperature: BETA, seed: 'test-analyze' });
    const scenarios = sims.map((s) => ({ id: s.id, attributes: s.attributes }));
    const analysed = sims.slice(0, 15);
    const selections = analysed.flatMap((s) => s.decisions.map((d) => ({ ...d, scenario: s.id })));
    const targets = new Map(sims.map((s) => [s.id, s.target]));
    // Reports: noisy versions of the target, 3 per scenario, also on the 5 scenarios without selections.
    const rng = rngFor('test-analyze-reports');
    const rows = sims.flatMap((s) =>
      [0, 1, 2].map(() => ({ scenario: s.id, report: s.target.map((w) => w + rng.uniform(-30, 30)) })),
    );
    const result = analyzeExperiment({ scenarios, selections, targets, reports: { rows, invalid: 4 } });
    expect(result.scenarios.length).toBe(15);
    expect(result.notConverged).toEqual([]);
    expect(result.learnedVsTarget!.n_points).toBe(75);
    expect(result.learnedVsTarget!.r).toBeGreaterThan(0.9);
    expect(result.learnedVsTarget!.agreement.rate).toBeGreaterThan(0.8);
    const rl = result.reportedVsLearned!;
    expect(rl.validReports).toBe(45);
    expect(rl.ignoredReports).toBe(15);
    expect(rl.invalidReports).toBe(4);
    expect(rl.n_scenarios).toBe(15);
    expect(rl.r).toBeGreaterThan(0.8);
    expect(() => analyzeExperiment({ scenarios: scenarios.slice(1), selections })).toThrow(AnalysisInputError);
    expect(() => analyzeExperiment({ scenarios, selections: [] })).toThrow(AnalysisInputError);
    expect(() => analyzeExperiment({ scenarios, selections, soft: true, fit: {} })).not.toThrow();
    expect(() =>
      analyzeExperiment({ scenarios, selections: selections.map((d) => ({ ...d, pA: undefined })), soft: true }),
    ).toThrow(/p_A/);
  });
});
