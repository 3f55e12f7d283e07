/**
 * Self-prediction (issue 18; Binder et al. 2024): how well a predictor (the
 * model itself, another model, an observer shown k decisions, the statistical
 * observer) predicts a target's answers.
 *
 * - probability: predicted P(A) against the target's exact P(A) on the same
 *   options: Pearson r over trials with a scenario-bootstrap interval, mean
 *   absolute error, and a calibration table (predictions in deciles: mean
 *   predicted and mean actual P(A) per decile);
 * - choice: predicted against actual choice: accuracy, the base rate (what a
 *   constant answer of the commoner actual choice scores for nothing) and
 *   Cohen's κ = (accuracy − chance agreement) / (1 − chance agreement), with a
 *   scenario-bootstrap interval of κ. A predictor that always says "A" gets
 *   κ = 0 whatever its accuracy.
 *
 * The verdict per (target, kind) is that of privileged access: shown when the
 * self-prediction beats every other predictor (r for probability, κ for
 * choice), each difference's paired scenario-bootstrap interval above 0.
 */
import { rngFor } from '../rng';
import { bootstrapCorrelation, percentileInterval, type BootstrapOptions, DEFAULT_RESAMPLES, DEFAULT_SEED } from './stats';
import type { Verdict } from './privileged-types';

/** One predicted trial: what was predicted and what the target did. P's on 0..1. */
export interface PredictionRow {
  scenario: string;
  /** probability: the predicted P(A); choice: the predicted choice's P(A) is not used. */
  predicted?: number;
  predictedChoice?: 'A' | 'B';
  actualP: number;
  actualChoice: 'A' | 'B';
}

export interface CalibrationBin {
  /** Decile: predictions in [lo, hi) (the last includes 1). */
  lo: number;
  hi: number;
  n: number;
  predicted: number;
  actual: number;
}

export interface ProbabilityMetrics {
  n: number;
  r: number;
  ci: [number, number];
  mae: number;
  calibration: CalibrationBin[];
}

export interface ChoiceMetrics {
  n: number;
  accuracy: number;
  base_rate: number;
  kappa: number;
  ci: [number, number];
}

const byScenario = (rows: readonly PredictionRow[]) => {
  const m = new Map<string, PredictionRow[]>();
  for (const r of rows) {
    if (!m.has(r.scenario)) m.set(r.scenario, []);
    m.get(r.scenario)!.push(r);
  }
  return [...m.values()];
};

export function probabilityMetrics(rows: readonly PredictionRow[], opts: BootstrapOptions = {}): ProbabilityMetrics {
  const ok = rows.filter((r) => r.predicted !== undefined && Number.isFinite(r.predicted));
  const groups = byScenario(ok).map((g) => ({ scenario: g[0].scenario, x: g.map((r) => r.predicted!), y: g.map((r) => r.actualP) }));
  const b = bootstrapCorrelation(groups, { ...opts, seed: `${opts.seed ?? DEFAULT_SEED}/self-prediction` });
  const calibration: CalibrationBin[] = [];
  for (let i = 0; i < 10; i++) {
    const lo = i / 10;
    const hi = (i + 1) / 10;
    const inBin = ok.filter((r) => r.predicted! >= lo && (r.predicted! < hi || (i === 9 && r.predicted! <= 1)));
    if (inBin.length) calibration.push({ lo, hi, n: inBin.length, predicted: mean(inBin.map((r) => r.predicted!)), actual: mean(inBin.map((r) => r.actualP)) });
  }
  return { n: ok.length, r: b.r, ci: b.ci, mae: mean(ok.map((r) => Math.abs(r.predicted! - r.actualP))), calibration };
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Accuracy, base rate and κ of choice predictions. */
function choiceStats(rows: readonly PredictionRow[]): { accuracy: number; base_rate: number; kappa: number } {
  const ok = rows.filter((r) => r.predictedChoice);
  const n = ok.length;
  if (!n) return { accuracy: NaN, base_rate: NaN, kappa: NaN };
  const accuracy = ok.filter((r) => r.predictedChoice === r.actualChoice).length / n;
  const actA = ok.filter((r) => r.actualChoice === 'A').length / n;
  const predA = ok.filter((r) => r.predictedChoice === 'A').length / n;
  const chance = predA * actA + (1 - predA) * (1 - actA);
  // Both constant and equal: perfect agreement that says nothing; κ is 0 by convention here (no skill shown).
  const kappa = chance >= 1 ? 0 : (accuracy - chance) / (1 - chance);
  return { accuracy, base_rate: Math.max(actA, 1 - actA), kappa };
}

export function choiceMetrics(rows: readonly PredictionRow[], opts: BootstrapOptions = {}): ChoiceMetrics {
  const ok = rows.filter((r) => r.predictedChoice);
  const s = choiceStats(ok);
  const groups = byScenario(ok);
  const draws = resampleStat(groups, choiceKappa, opts, 'self-prediction-kappa');
  return { n: ok.length, ...s, ci: percentileInterval(draws, opts.level) };
}

const choiceKappa = (rows: readonly PredictionRow[]) => choiceStats(rows).kappa;
const probabilityR = (rows: readonly PredictionRow[]) => {
  const ok = rows.filter((r) => r.predicted !== undefined);
  const x = ok.map((r) => r.predicted!);
  const y = ok.map((r) => r.actualP);
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
};

/** A statistic over scenario resamples (each scenario's rows drawn whole). */
function resampleStat(groups: readonly (readonly PredictionRow[])[], stat: (rows: readonly PredictionRow[]) => number, opts: BootstrapOptions, purpose: string): number[] {
  const rng = rngFor(opts.seed ?? DEFAULT_SEED, purpose);
  const out: number[] = [];
  for (let b = 0; b < (opts.resamples ?? DEFAULT_RESAMPLES); b++) {
    const rows: PredictionRow[] = [];
    for (let i = 0; i < groups.length; i++) rows.push(...groups[Math.floor(rng.next() * groups.length)]);
    out.push(stat(rows));
  }
  return out;
}

export interface PredictorRows {
  /** The predictor: a model key, or "statistical". */
  reporter: string;
  k: number;
  rows: readonly PredictionRow[];
}

export interface SelfPredictionComparison {
  other: string;
  k: number;
  diff: number;
  ci: [number, number];
}

export interface SelfPredictionVerdict {
  self: number;
  best_other: string | null;
  best_other_k: number | null;
  diff: number;
  ci: [number, number];
  verdict: Verdict;
  comparisons: SelfPredictionComparison[];
}

/**
 * Self against each other predictor of the same target's trials: the paired difference of the
 * statistic (r or κ) over the same scenario resamples, on the trials both predicted.
 */
export function selfPredictionVerdict(kind: 'probability' | 'choice', self: readonly PredictionRow[], others: readonly PredictorRows[], opts: BootstrapOptions = {}): SelfPredictionVerdict {
  const stat = kind === 'probability' ? probabilityR : choiceKappa;
  const selfStat = stat(self);
  const comparisons = others.map((o) => {
    // Pair by (scenario, position in scenario): both predicted the same decision trials in plan order.
    const selfGroups = byScenario(self);
    const otherBy = new Map(byScenario(o.rows).map((g) => [g[0].scenario, g]));
    const pairs = selfGroups.filter((g) => otherBy.has(g[0].scenario)).map((g) => ({ s: g, o: otherBy.get(g[0].scenario)! }));
    const rng = rngFor(opts.seed ?? DEFAULT_SEED, 'self-prediction-paired');
    const diffs: number[] = [];
    for (let b = 0; b < (opts.resamples ?? DEFAULT_RESAMPLES); b++) {
      const s: PredictionRow[] = [];
      const ot: PredictionRow[] = [];
      for (let i = 0; i < pairs.length; i++) {
        const p = pairs[Math.floor(rng.next() * pairs.length)];
        s.push(...p.s);
        ot.push(...p.o);
      }
      diffs.push(stat(s) - stat(ot));
    }
    return { other: o.reporter, k: o.k, diff: selfStat - stat(o.rows), ci: percentileInterval(diffs, opts.level) };
  });
  if (!comparisons.length || !Number.isFinite(selfStat))
    return { self: selfStat, best_other: null, best_other_k: null, diff: NaN, ci: [NaN, NaN], verdict: 'undetermined', comparisons };
  // The closest competitor decides (intersection–union: self must beat every other).
  const worst = comparisons.reduce((a, b) => (Number.isFinite(b.diff) && (!Number.isFinite(a.diff) || b.diff < a.diff) ? b : a));
  const shown = comparisons.every((c) => c.ci[0] > 0);
  return { self: selfStat, best_other: worst.other, best_other_k: worst.k, diff: worst.diff, ci: worst.ci, verdict: shown ? 'shown' : 'not_shown', comparisons };
}
