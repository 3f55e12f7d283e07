/**
 * Position bias: small models often answer "A" (or "B") whatever the options.
 * Hard 0/1 choices then carry almost no information about their weights, so
 * each decision condition gets diagnostics (share of "A", mean P(A), the
 * fitted intercept, how much probability the labels get at all), the soft fit
 * replaces a degenerate hard fit, and counterbalanced pairs (the same options
 * shown in both orders) give a choice probability with the bias removed.
 */
import { sigmoid } from './logistic';
import type { Decision } from './weights';

/** One label taking at least this share of the hard choices makes the hard fit degenerate. */
export const DEGENERATE_SHARE = 0.95;

/** A decision with what position analysis needs besides the choice. */
export interface PositionedDecision extends Decision {
  scenario: string;
  /** The plan's trial index: a pair shown twice has the same index in both orders. */
  index?: number;
  /** Shown with A and B swapped (the second order of a counterbalanced pair). */
  swapped?: boolean;
  /** Probability mass the model put on the two labels at all. */
  labelMass?: number;
}

export interface PositionDiagnostics {
  decisions: number;
  /** Share of hard choices that are "A". */
  aRate: number;
  /** Mean P(A) (NaN when no decision has one). */
  meanPA: number;
  /**
   * Bias towards A in logits: with counterbalanced pairs the mean of
   * (logit p₁ + logit p₂) / 2 over pairs (exact under the logistic model),
   * else the mean over scenarios of the fitted intercept.
   */
  intercept: number;
  /** Mean probability mass on the labels (NaN when unknown). */
  meanLabelMass: number;
  /** One label takes ≥ 95 % of the hard choices: the hard fit says little about the weights. */
  degenerate: boolean;
  /** Option pairs seen in both orders. */
  pairs: number;
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((t, x) => t + x, 0) / xs.length : NaN);

/** Diagnostics of a condition's decisions; `fittedIntercept` (mean over scenarios) serves runs without pairs. */
export function positionDiagnostics(decisions: readonly PositionedDecision[], fittedIntercept: number): PositionDiagnostics {
  const a = decisions.filter((d) => d.choice === 'A').length;
  const aRate = decisions.length ? a / decisions.length : NaN;
  const pairs = pairsOf(decisions);
  const biases = pairs.flatMap(([d, s]) => (d.pA === undefined || s.pA === undefined ? [] : [(logit(d.pA) + logit(s.pA)) / 2]));
  return {
    decisions: decisions.length,
    aRate,
    meanPA: mean(decisions.flatMap((d) => (d.pA === undefined ? [] : [d.pA]))),
    intercept: biases.length ? mean(biases) : fittedIntercept,
    meanLabelMass: mean(decisions.flatMap((d) => (d.labelMass === undefined ? [] : [d.labelMass]))),
    degenerate: isDegenerate(aRate),
    pairs: pairs.length,
  };
}

export function isDegenerate(aRate: number): boolean {
  return aRate >= DEGENERATE_SHARE || aRate <= 1 - DEGENERATE_SHARE;
}

/** The fit learned weights come from: the soft fit when asked, or when the hard one is degenerate and P(A) is known. */
export function chooseFit(decisions: readonly Decision[], soft?: boolean): { fit: 'hard' | 'soft'; switched: boolean } {
  if (soft !== undefined) return { fit: soft ? 'soft' : 'hard', switched: false };
  const aRate = decisions.filter((d) => d.choice === 'A').length / decisions.length;
  const canSoft = decisions.length > 0 && decisions.every((d) => d.pA !== undefined);
  return isDegenerate(aRate) && canSoft ? { fit: 'soft', switched: true } : { fit: 'hard', switched: false };
}

/** Both orders of each counterbalanced pair: [as sampled, swapped], keyed by scenario and index. */
function pairsOf<D extends PositionedDecision>(decisions: readonly D[]): [D, D][] {
  const first = new Map<string, D>();
  const second = new Map<string, D>();
  for (const d of decisions) {
    if (d.index === undefined) continue;
    (d.swapped ? second : first).set(`${d.scenario}\u0000${d.index}`, d);
  }
  const out: [D, D][] = [];
  for (const [key, d] of first) {
    const s = second.get(key);
    if (s) out.push([d, s]);
  }
  return out;
}

const EDGE = 1e-12;
const logit = (p: number): number => {
  const q = Math.min(1 - EDGE, Math.max(EDGE, p));
  return Math.log(q / (1 - q));
};

/**
 * The debiased probability of choosing the option first shown as A, from its
 * pair's two P(A)s: with logit P(A) = bias + u as sampled and bias − u
 * swapped, (logit p₁ − logit p₂) / 2 = u exactly, whatever the bias.
 */
export function debiasedChoice(pAsSampled: number, pASwapped: number): number {
  return sigmoid((logit(pAsSampled) - logit(pASwapped)) / 2);
}

/**
 * The soft targets of a counterbalanced condition: every trial of a complete
 * pair, in the order it was shown, gets its pair's debiased probability of
 * choosing the option shown as A (q as sampled, 1 − q swapped). Trials
 * without their pair (or without P(A)) keep their own P(A).
 */
export function debiasPairs<D extends PositionedDecision>(decisions: readonly D[]): D[] {
  const replaced = new Map<D, number>();
  for (const [d, s] of pairsOf(decisions)) {
    if (d.pA === undefined || s.pA === undefined) continue;
    const q = debiasedChoice(d.pA, s.pA);
    replaced.set(d, q);
    replaced.set(s, 1 - q);
  }
  return decisions.map((d) => (replaced.has(d) ? { ...d, pA: replaced.get(d)! } : d));
}

/**
 * A condition's decisions as its learned weights are fitted: the fit chooseFit
 * picks, counterbalanced pairs debiased for a soft fit, grouped by scenario in
 * order of first appearance. The Results analysis and the privileged-access
 * analysis both fit from this, so they give the same learned weights.
 */
export function decisionsToFit<D extends PositionedDecision>(decisions: readonly D[], soft?: boolean): { fit: 'hard' | 'soft'; switched: boolean; byScenario: Map<string, D[]> } {
  const { fit, switched } = chooseFit(decisions, soft);
  const byScenario = new Map<string, D[]>();
  for (const d of fit === 'soft' ? debiasPairs(decisions) : decisions) {
    let g = byScenario.get(d.scenario);
    if (!g) byScenario.set(d.scenario, (g = []));
    g.push(d);
  }
  return { fit, switched, byScenario };
}
