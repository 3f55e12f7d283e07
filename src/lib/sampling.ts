import type { Attribute, OptionValues, Weights } from './scenarios/types';
import type { Rng } from './rng';

/**
 * Decimals shown for an attribute, as in Plunkett et al. (2025)'s code:
 * ranges under 1 get enough decimals to resolve a tenth of the range's
 * order of magnitude, ranges under 5 one decimal, wider ranges integers.
 */
export function roundingPrecision(attr: Pick<Attribute, 'min' | 'max'>): number {
  const size = attr.max - attr.min;
  if (size < 1) return Math.abs(Math.floor(Math.log10(size))) + 1;
  if (size < 5) return 1;
  return 0;
}

/** Round half away from zero at `decimals` (deterministic in every engine). */
export function roundTo(x: number, decimals: number): number {
  const f = 10 ** decimals;
  const r = Math.sign(x) * Math.round(Math.abs(x) * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

/** One option: each value uniform in its attribute's range, rounded as the paper did. */
export function sampleOption(attributes: readonly Attribute[], rng: Rng): OptionValues {
  return attributes.map((a) => roundTo(rng.uniform(a.min, a.max), roundingPrecision(a)));
}

/** Scale so the largest |w| is 100, keeping signs (the paper's convention). */
export function scaleToHundred(weights: readonly number[]): number[] {
  const maxAbs = Math.max(...weights.map(Math.abs));
  if (!(maxAbs > 0)) return weights.map(() => 0);
  return weights.map((w) => (100 * w) / maxAbs);
}

/** Random target weights: uniform −100..100, scaled so max |w| = 100, rounded to integers. */
export function sampleTargetWeights(count: number, rng: Rng): Weights {
  const raw = Array.from({ length: count }, () => rng.uniform(-100, 100));
  return scaleToHundred(raw).map((w) => roundTo(w, 0));
}

/** Normalised attribute differences d_i = (A_i − B_i) / (max_i − min_i). */
export function normalizedDifferences(
  attributes: readonly Pick<Attribute, 'min' | 'max'>[],
  a: OptionValues,
  b: OptionValues,
): number[] {
  return attributes.map((attr, i) => (a[i] - b[i]) / (attr.max - attr.min));
}
