/**
 * The paper's weight vocabulary:
 * - target weights: the random weights instilled by fine-tuning (instilled_weights.csv);
 * - learned weights: what a logistic regression on the model's choices recovers;
 * - native weights: the learned weights of contexts never fine-tuned (Experiment 3);
 * - reported weights: what the model says its weights are (mean of its reports).
 * All are compared on the paper's scale: per scenario, largest |weight| = 100.
 */
import type { Attribute } from '../scenarios/types';
import { normalizedDifferences, scaleToHundred } from '../sampling';
import { fitLogistic, type LogisticOptions } from './logistic';
import { bootstrapCorrelation, fisherInterval, type BootstrapOptions, type ScenarioPoints } from './stats';

/** One decision trial: the two options' attribute values and the choice. */
export interface Decision {
  a: readonly number[];
  b: readonly number[];
  choice: 'A' | 'B';
  /** The model's probability of choosing A (soft-choice variant), if known. */
  pA?: number;
}

export interface LearnedWeightsOptions extends LogisticOptions {
  /** Fit P(A) = `pA` (the model's probability) instead of the 0/1 choice. */
  soft?: boolean;
}

export interface LearnedWeights {
  /** Learned weights scaled so the largest |weight| is 100 (paper's convention). */
  weights: number[];
  /** Raw logistic slopes b_1..b_k (per unit of normalised difference d_i). */
  coefficients: number[];
  /** Raw intercept b0 (positive = bias towards option A). */
  intercept: number;
  converged: boolean;
  iterations: number;
  /** Decisions used. */
  n: number;
  /** Present when not converged. */
  reason?: string;
}

/**
 * The regression's data for one scenario: a row of d_i = (A_i − B_i)/(max_i − min_i)
 * per decision, and its target: the 0/1 choice, or with `soft` its P(A).
 */
export function fitData(
  attributes: readonly Pick<Attribute, 'min' | 'max'>[],
  decisions: readonly Decision[],
  soft = false,
): { X: number[][]; y: number[] } {
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < decisions.length; i++) {
    const d = decisions[i];
    if (d.a.length !== attributes.length || d.b.length !== attributes.length) {
      throw new RangeError(`decision ${i}: expected ${attributes.length} values per option, got ${d.a.length} and ${d.b.length}`);
    }
    // normalizedDifferences does not mutate; its signature just predates readonly inputs.
    X.push(normalizedDifferences(attributes, d.a as number[], d.b as number[]));
    if (soft) {
      if (d.pA === undefined || !(d.pA >= 0 && d.pA <= 1)) {
        throw new RangeError(`decision ${i}: soft fit needs pA in [0, 1], got ${d.pA}`);
      }
      y.push(d.pA);
    } else {
      y.push(d.choice === 'A' ? 1 : 0);
    }
  }
  return { X, y };
}

/**
 * Learned weights of one scenario: MAP logistic regression of the choices on
 * d_i = (A_i − B_i)/(max_i − min_i), slopes ~ normal(0, 1), then scaled ±100.
 * With `soft`, every decision must carry `pA` in [0, 1].
 */
export function learnedWeights(
  attributes: readonly Pick<Attribute, 'min' | 'max'>[],
  decisions: readonly Decision[],
  options: LearnedWeightsOptions = {},
): LearnedWeights {
  const { soft = false, ...fitOptions } = options;
  const { X, y } = fitData(attributes, decisions, soft);
  const fit = fitLogistic(X, y, fitOptions);
  const out: LearnedWeights = {
    weights: scaleToHundred(fit.coefficients),
    coefficients: fit.coefficients,
    intercept: fit.intercept,
    converged: fit.converged,
    iterations: fit.iterations,
    n: decisions.length,
  };
  if (fit.reason !== undefined) out.reason = fit.reason;
  return out;
}

/**
 * Reported weights of one scenario: the mean of its valid reports, then scaled so
 * the largest |weight| is 100 (all zeros stays zeros). `scale: false` returns the
 * plain mean.
 */
export function reportedWeights(reports: readonly (readonly number[])[], options: { scale?: boolean } = {}): number[] {
  if (reports.length === 0) throw new RangeError('reportedWeights: no reports');
  const k = reports[0].length;
  const mean = new Array<number>(k).fill(0);
  for (const r of reports) {
    if (r.length !== k) throw new RangeError(`reportedWeights: reports of ${r.length} and ${k} weights`);
    for (let i = 0; i < k; i++) mean[i] += r[i] / reports.length;
  }
  return options.scale === false ? mean : scaleToHundred(mean);
}

export interface CorrelationResult {
  /** Pearson r over all (scenario, attribute) points. */
  r: number;
  /** 95 % scenario-bootstrap percentile interval. */
  ci: [number, number];
  /** 95 % Fisher-z interval (treats points as independent: too narrow). */
  fisher_ci: [number, number];
  n_points: number;
  n_scenarios: number;
}

/**
 * Correlate two weight sets paired by scenario (e.g. x = learned, y = target).
 * Pairs with different lengths throw.
 */
export function correlate(pairs: readonly ScenarioPoints[], options: BootstrapOptions = {}): CorrelationResult {
  const boot = bootstrapCorrelation(pairs, options);
  return {
    r: boot.r,
    ci: boot.ci,
    fisher_ci: fisherInterval(boot.r, boot.n_points, options.level ?? 0.95),
    n_points: boot.n_points,
    n_scenarios: boot.n_scenarios,
  };
}

/** Pair two per-scenario weight maps on the scenarios both have (in `a`'s order). */
export function pairByScenario(
  a: ReadonlyMap<string, readonly number[]>,
  b: ReadonlyMap<string, readonly number[]>,
): ScenarioPoints[] {
  const out: ScenarioPoints[] = [];
  for (const [scenario, x] of a) {
    const y = b.get(scenario);
    if (y) out.push({ scenario, x, y });
  }
  return out;
}
