/**
 * Reliability ceilings. Learned weights estimated from a few dozen noisy
 * decisions (and reported weights averaged over a few reports) are measured
 * with error, so their correlation with anything has a ceiling below 1:
 * r_max = √(rel_x · rel_y), where rel is a measure's reliability (a known
 * target has reliability 1).
 *
 * Reliability is estimated split-half: the trials of each scenario are split
 * into odd and even (pairs shown in both orders stay together), each half
 * gives its own weights, and their correlation over all (scenario, attribute)
 * points is stepped up to full length by Spearman–Brown: 2r / (1 + r). The
 * interval is the scenario bootstrap of the half-correlation, stepped up the
 * same way (the step-up is monotonic).
 *
 * A negative half-correlation (halves that disagree, common with a few
 * scenarios) is clipped at 0 before the step-up: reliability 0, never a
 * negative one (−∞ at −1) whose product with another would fake a positive
 * ceiling. With a reliability of 0 there is no ceiling, and the lab says so.
 * The ceiling's interval comes from a bootstrap of the product itself (the
 * resamples of both reliabilities, paired), not from multiplying the ends of
 * two intervals, which is not a 95 % interval.
 */
import { bootstrapCorrelation, bootstrapDraws, percentileInterval, type BootstrapOptions, type ScenarioPoints } from './stats';

export interface Reliability {
  /** Correlation between the two halves' weights. */
  halfR: number;
  /** Spearman–Brown corrected: the reliability of the full-length measure. */
  reliability: number;
  /** 95 % scenario-bootstrap interval of `reliability`. */
  ci: [number, number];
  n_scenarios: number;
  /** `reliability` in each bootstrap resample (NaN where undefined), for the ceiling's interval. */
  draws?: Float64Array;
}

export interface Ceiling {
  /** The highest r the two measures' noise allows: √(rel_x · rel_y). */
  ceiling: number;
  ci: [number, number];
  /** r / ceiling: the correlation the noise hides (may exceed 1 by chance). */
  disattenuated: number;
  /** Set when there is no ceiling because a reliability is not positive: why, in words. */
  none?: string;
}

/** Spearman–Brown step-up from a half-length correlation, clipped at 0 (halves that disagree: reliability 0). */
export function spearmanBrown(r: number): number {
  const c = Math.max(0, r); // NaN stays NaN
  return (2 * c) / (1 + c);
}

/** Split-half reliability from each scenario's two half-measures (x = odd half, y = even half). */
export function splitHalfReliability(halves: readonly ScenarioPoints[], options: BootstrapOptions = {}): Reliability {
  const opts = { ...options, seed: `${options.seed ?? 'analysis'}/split-half` };
  const boot = bootstrapCorrelation(halves, opts);
  return {
    halfR: boot.r,
    reliability: spearmanBrown(boot.r),
    ci: [spearmanBrown(boot.ci[0]), spearmanBrown(boot.ci[1])],
    n_scenarios: boot.n_scenarios,
    draws: bootstrapDraws(halves, opts).map(spearmanBrown),
  };
}

const root = (x: number): number => (Number.isFinite(x) ? Math.sqrt(Math.max(0, Math.min(1, x))) : NaN);

/**
 * The ceiling on r between two measures of the given reliabilities (omit one
 * for a measure known exactly, such as the target weights), and r disattenuated.
 * None (NaN, with the reason in `none`) when a reliability is not positive.
 */
export function ceilingFor(r: number, x: Reliability, y?: Reliability): Ceiling {
  const measures = y ? [x, y] : [x];
  if (measures.some((m) => Number.isNaN(m.reliability))) return { ceiling: NaN, ci: [NaN, NaN], disattenuated: NaN };
  const bad = measures.find((m) => !(m.reliability > 0));
  if (bad)
    return {
      ceiling: NaN,
      ci: [NaN, NaN],
      disattenuated: NaN,
      none: `no ceiling: a split-half reliability is not positive (its two halves correlate ${bad.halfR.toFixed(2)}), so these trials are too noisy to say how high r could be`,
    };
  const ceiling = root(x.reliability * (y?.reliability ?? 1));
  // The interval: percentiles of √(rel_x · rel_y) over the resamples, taken in pairs (the same scenarios
  // when both halves come from the same scenario list; else independent resamples of independent measures).
  const dx = x.draws;
  const dy = y ? y.draws : dx && new Float64Array(dx.length).fill(1);
  const ci: [number, number] =
    dx && dy && dx.length === dy.length && dx.length > 0 ? percentileInterval(Array.from(dx, (v, b) => root(v * dy[b]))) : [NaN, NaN];
  return { ceiling, ci, disattenuated: r / ceiling };
}

/** The odd (1st, 3rd, …) and even items of a list, by their position or by a key such as a trial index. */
export function oddEven<T>(items: readonly T[], key: (item: T, position: number) => number = (_, i) => i): [T[], T[]] {
  const odd: T[] = [];
  const even: T[] = [];
  items.forEach((item, i) => (key(item, i) % 2 === 0 ? odd : even).push(item));
  return [odd, even];
}
