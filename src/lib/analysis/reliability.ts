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
 */
import { bootstrapCorrelation, type BootstrapOptions, type ScenarioPoints } from './stats';

export interface Reliability {
  /** Correlation between the two halves' weights. */
  halfR: number;
  /** Spearman–Brown corrected: the reliability of the full-length measure. */
  reliability: number;
  /** 95 % scenario-bootstrap interval of `reliability`. */
  ci: [number, number];
  n_scenarios: number;
}

export interface Ceiling {
  /** The highest r the two measures' noise allows: √(rel_x · rel_y). */
  ceiling: number;
  ci: [number, number];
  /** r / ceiling: the correlation the noise hides (may exceed 1 by chance). */
  disattenuated: number;
}

export function spearmanBrown(r: number): number {
  return (2 * r) / (1 + r);
}

/** Split-half reliability from each scenario's two half-measures (x = odd half, y = even half). */
export function splitHalfReliability(halves: readonly ScenarioPoints[], options: BootstrapOptions = {}): Reliability {
  const boot = bootstrapCorrelation(halves, { ...options, seed: `${options.seed ?? 'analysis'}/split-half` });
  return {
    halfR: boot.r,
    reliability: spearmanBrown(boot.r),
    ci: [spearmanBrown(boot.ci[0]), spearmanBrown(boot.ci[1])],
    n_scenarios: boot.n_scenarios,
  };
}

const root = (x: number): number => (Number.isFinite(x) ? Math.sqrt(Math.max(0, Math.min(1, x))) : NaN);

/**
 * The ceiling on r between two measures of the given reliabilities (omit one
 * for a measure known exactly, such as the target weights), and r disattenuated.
 */
export function ceilingFor(r: number, x: Reliability, y?: Reliability): Ceiling {
  const ry = y ?? { reliability: 1, ci: [1, 1] as [number, number] };
  const ceiling = root(x.reliability * ry.reliability);
  return {
    ceiling,
    ci: [root(x.ci[0] * ry.ci[0]), root(x.ci[1] * ry.ci[1])],
    disattenuated: ceiling > 0 ? r / ceiling : NaN,
  };
}

/** The odd (1st, 3rd, …) and even items of a list, by their position or by a key such as a trial index. */
export function oddEven<T>(items: readonly T[], key: (item: T, position: number) => number = (_, i) => i): [T[], T[]] {
  const odd: T[] = [];
  const even: T[] = [];
  items.forEach((item, i) => (key(item, i) % 2 === 0 ? odd : even).push(item));
  return [odd, even];
}
