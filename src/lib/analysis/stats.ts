/**
 * Correlation statistics for weight comparisons (Plunkett et al. 2025 measure
 * accuracy as the correlation over all (scenario, attribute) points).
 *
 * Intervals:
 * - Fisher z: treats the n points as independent, which they are not (the five
 *   weights of one scenario share a fit and a scaling), so it is too narrow.
 * - Scenario bootstrap: resample whole scenarios with replacement and recompute r
 *   over all their points; percentile interval. This is the one to quote.
 */
import { rngFor, type Rng } from '../rng';

/** Pearson correlation; NaN when fewer than 2 points or a variance is 0. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`pearson: ${n} x values but ${y.length} y values`);
  if (n < 2) return NaN;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (!(sxx > 0) || !(syy > 0)) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const plow = 0.02425;
  let x: number;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - plow) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  return x;
}

/**
 * Fisher-z confidence interval for a correlation r from n independent points:
 * tanh(atanh(r) ± z_{(1+level)/2} / sqrt(n − 3)). [NaN, NaN] when n ≤ 3 or r is NaN.
 */
export function fisherInterval(r: number, n: number, level = 0.95): [number, number] {
  if (!Number.isFinite(r) || n <= 3) return [NaN, NaN];
  if (Math.abs(r) === 1) return [r, r];
  const z = Math.atanh(r);
  const half = normalQuantile((1 + level) / 2) / Math.sqrt(n - 3);
  return [Math.tanh(z - half), Math.tanh(z + half)];
}

/** Quantile of sorted values with linear interpolation (R type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Percentile interval of finite values (NaNs dropped). */
export function percentileInterval(values: readonly number[], level = 0.95): [number, number] {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return [quantileSorted(sorted, alpha), quantileSorted(sorted, 1 - alpha)];
}

/** The (scenario, attribute) points of one scenario: x[i] is compared with y[i]. */
export interface ScenarioPoints {
  scenario: string;
  x: readonly number[];
  y: readonly number[];
}

export interface BootstrapOptions {
  /** Resamples (default 2000). */
  resamples?: number;
  /** Seed for `rngFor` (default 'analysis'). Same seed → same interval. */
  seed?: string | number;
  /** Interval level (default 0.95). */
  level?: number;
}

export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_SEED = 'analysis';

/**
 * Per-scenario sufficient statistics (n, Σx, Σy, Σx², Σy², Σxy), flat in one array
 * (6 per scenario), so that a resample costs O(scenarios), not O(points).
 */
function sumsOf(groups: readonly ScenarioPoints[]): Float64Array {
  const out = new Float64Array(groups.length * 6);
  groups.forEach((g, k) => {
    if (g.x.length !== g.y.length) {
      throw new RangeError(`scenario ${g.scenario}: ${g.x.length} x values but ${g.y.length} y values`);
    }
    let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (let i = 0; i < g.x.length; i++) {
      const x = g.x[i], y = g.y[i];
      sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
    }
    out.set([g.x.length, sx, sy, sxx, syy, sxy], k * 6);
  });
  return out;
}

function rFromSums(n: number, sx: number, sy: number, sxx: number, syy: number, sxy: number): number {
  if (n < 2) return NaN;
  const cxy = sxy - (sx * sy) / n;
  const cxx = sxx - (sx * sx) / n;
  const cyy = syy - (sy * sy) / n;
  if (!(cxx > 1e-12 * Math.max(1, sxx)) || !(cyy > 1e-12 * Math.max(1, syy))) return NaN;
  return Math.max(-1, Math.min(1, cxy / Math.sqrt(cxx * cyy)));
}

/** Indices of one bootstrap resample of `m` scenarios. */
function drawIndices(rng: Rng, m: number, out: Int32Array): void {
  for (let i = 0; i < m; i++) out[i] = Math.floor(rng.next() * m);
}

function resampleR(sums: Float64Array, idx: Int32Array): number {
  let n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (let i = 0; i < idx.length; i++) {
    const o = idx[i] * 6;
    n += sums[o]; sx += sums[o + 1]; sy += sums[o + 2]; sxx += sums[o + 3]; syy += sums[o + 4]; sxy += sums[o + 5];
  }
  return rFromSums(n, sx, sy, sxx, syy, sxy);
}

export interface BootstrapResult {
  /** r over all points of all scenarios. */
  r: number;
  /** Percentile interval of r over scenario resamples. */
  ci: [number, number];
  /** Resamples whose r was defined (a resample can have zero variance). */
  validResamples: number;
  n_points: number;
  n_scenarios: number;
}

/** r over all points, with a scenario-bootstrap percentile interval. */
export function bootstrapCorrelation(groups: readonly ScenarioPoints[], options: BootstrapOptions = {}): BootstrapResult {
  return bootstrapCorrelations([groups], options)[0];
}

/**
 * bootstrapCorrelation of several comparisons, each exactly as if alone (same
 * seed → same resamples), but the resampled scenario indices are drawn once per
 * scenario count and shared: much cheaper for many comparisons on the same
 * scenarios (the privileged-access matrix).
 */
export function bootstrapCorrelations(list: readonly (readonly ScenarioPoints[])[], options: BootstrapOptions = {}): BootstrapResult[] {
  const B = options.resamples ?? DEFAULT_RESAMPLES;
  const level = options.level ?? 0.95;
  const tables = new Map<number, Int32Array>();
  const tableFor = (m: number): Int32Array => {
    let t = tables.get(m);
    if (!t) {
      const rng = rngFor(options.seed ?? DEFAULT_SEED, 'bootstrap-correlation');
      t = new Int32Array(B * m);
      for (let b = 0; b < B; b++) drawIndices(rng, m, t.subarray(b * m, (b + 1) * m));
      tables.set(m, t);
    }
    return t;
  };
  return list.map((groups) => {
    const m = groups.length;
    const sums = sumsOf(groups);
    const all = Int32Array.from({ length: m }, (_, i) => i);
    const r = resampleR(sums, all);
    // The finite resample r's, sorted natively (a typed array): the same interval as percentileInterval, faster.
    const rs = new Float64Array(m > 0 ? B : 0);
    let valid = 0;
    if (m > 0) {
      const table = tableFor(m);
      for (let b = 0; b < B; b++) {
        const rb = resampleR(sums, table.subarray(b * m, (b + 1) * m));
        if (Number.isFinite(rb)) rs[valid++] = rb;
      }
    }
    const sorted = rs.subarray(0, valid).sort();
    const alpha = (1 - level) / 2;
    return {
      r,
      ci: [quantileSorted(sorted, alpha), quantileSorted(sorted, 1 - alpha)],
      validResamples: valid,
      n_points: groups.reduce((t, g) => t + g.x.length, 0),
      n_scenarios: m,
    };
  });
}

/**
 * r of each resample of bootstrapCorrelation with the same options: the same resamples in
 * the same order (NaN where r is undefined). Draws of two measures made with the same seed
 * on the same scenario list are paired, resample by resample.
 */
export function bootstrapDraws(groups: readonly ScenarioPoints[], options: BootstrapOptions = {}): Float64Array {
  const m = groups.length;
  const out = new Float64Array(m > 0 ? (options.resamples ?? DEFAULT_RESAMPLES) : 0);
  const sums = sumsOf(groups);
  const rng = rngFor(options.seed ?? DEFAULT_SEED, 'bootstrap-correlation');
  const idx = new Int32Array(m);
  for (let b = 0; b < out.length; b++) {
    drawIndices(rng, m, idx);
    out[b] = resampleR(sums, idx);
  }
  return out;
}

export interface PairedDifference {
  /** r of the first comparison (e.g. reports before introspection training vs learned). */
  r1: number;
  /** r of the second comparison (e.g. reports after vs learned). */
  r2: number;
  /** r2 − r1. */
  diff: number;
  /** Percentile interval of r2 − r1 over scenario resamples (both r from the same resample). */
  ci: [number, number];
  /**
   * Two-sided bootstrap p-value-like fraction: 2·min(P*(diff ≤ 0), P*(diff ≥ 0)),
   * with the +1 correction ((k + 1) / (B + 1)), capped at 1.
   */
  p: number;
  /** Scenarios present in both comparisons (only these are used). */
  n_scenarios: number;
  validResamples: number;
}

/**
 * Difference of two correlations measured on the same scenarios. Only scenarios
 * present in both inputs are used; each resample draws scenarios once and
 * recomputes both correlations on them, so the dependence between the two is kept.
 */
export function pairedCorrelationDifference(
  first: readonly ScenarioPoints[],
  second: readonly ScenarioPoints[],
  options: BootstrapOptions = {},
): PairedDifference {
  return pairedCorrelationDifferences([first], second, options)[0];
}

/**
 * pairedCorrelationDifference of each `first` against the same `second`, each exactly as if
 * alone (same seed → same resamples), but the resampled indices are drawn once per scenario
 * count and the second's resampled r once per set of shared scenarios: much cheaper when
 * one self-report is compared with many others (the privileged-access verdict).
 */
export function pairedCorrelationDifferences(
  firsts: readonly (readonly ScenarioPoints[])[],
  second: readonly ScenarioPoints[],
  options: BootstrapOptions = {},
): PairedDifference[] {
  const B = options.resamples ?? DEFAULT_RESAMPLES;
  const level = options.level ?? 0.95;
  const alpha = (1 - level) / 2;
  const bySecond = new Map(second.map((g, i) => [g.scenario, i]));
  const s2All = sumsOf(second);
  const tables = new Map<number, Int32Array>();
  const tableFor = (n: number): Int32Array => {
    let t = tables.get(n);
    if (!t) {
      const rng = rngFor(options.seed ?? DEFAULT_SEED, 'bootstrap-paired-difference');
      t = new Int32Array(B * n);
      for (let b = 0; b < B; b++) drawIndices(rng, n, t.subarray(b * n, (b + 1) * n));
      tables.set(n, t);
    }
    return t;
  };
  const secondDraws = new Map<string, Float64Array>(); // shared scenarios (positions in `second`) → r2 per resample
  return firsts.map((first) => {
    const g1: ScenarioPoints[] = [];
    const at: number[] = [];
    for (const g of first) {
      const j = bySecond.get(g.scenario);
      if (j === undefined) continue;
      g1.push(g);
      at.push(j);
    }
    const n = g1.length;
    const s1 = sumsOf(g1);
    const s2 = new Float64Array(n * 6);
    at.forEach((j, k) => s2.set(s2All.subarray(j * 6, j * 6 + 6), k * 6));
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const r1 = resampleR(s1, all);
    const r2 = resampleR(s2, all);
    const diffs = new Float64Array(n > 0 ? B : 0);
    let m = 0;
    if (n > 0) {
      const table = tableFor(n);
      const key = at.join(',');
      let d2 = secondDraws.get(key);
      if (!d2) {
        d2 = new Float64Array(B);
        for (let b = 0; b < B; b++) d2[b] = resampleR(s2, table.subarray(b * n, (b + 1) * n));
        secondDraws.set(key, d2);
      }
      for (let b = 0; b < B; b++) {
        const d = d2[b] - resampleR(s1, table.subarray(b * n, (b + 1) * n));
        if (Number.isFinite(d)) diffs[m++] = d;
      }
    }
    const sorted = diffs.subarray(0, m).sort();
    let le = 0;
    while (le < m && sorted[le] <= 0) le++;
    let lt = 0;
    while (lt < m && sorted[lt] < 0) lt++;
    const ge = m - lt;
    const p = m === 0 ? NaN : Math.min(1, (2 * (Math.min(le, ge) + 1)) / (m + 1));
    return {
      r1,
      r2,
      diff: r2 - r1,
      ci: [quantileSorted(sorted, alpha), quantileSorted(sorted, 1 - alpha)],
      p,
      n_scenarios: n,
      validResamples: m,
    };
  });
}

export interface AgreementDecision {
  a: readonly number[];
  b: readonly number[];
  choice: 'A' | 'B';
}

export interface Agreement {
  /** agreements / (decisions − ties); NaN when nothing to count. */
  rate: number;
  agreements: number;
  /** Decisions counted (ties excluded). */
  decisions: number;
  /** Decisions where both options have the same target utility (not counted). */
  ties: number;
}

/**
 * Target utility of an option, as in the paper's simulated selection: Σ_i w_i · (v_i − min_i) / (max_i − min_i).
 */
export function targetUtility(
  attributes: readonly { min: number; max: number }[],
  weights: readonly number[],
  values: readonly number[],
): number {
  let u = 0;
  for (let i = 0; i < attributes.length; i++) {
    const { min, max } = attributes[i];
    u += weights[i] * ((values[i] - min) / (max - min));
  }
  return u;
}

/**
 * Fraction of decisions where the choice is the option with the higher target
 * utility. Ties (|ΔU| ≤ 1e-9 · Σ|w|) are excluded and counted separately.
 */
export function agreementRate(
  attributes: readonly { min: number; max: number }[],
  targetWeights: readonly number[],
  decisions: readonly AgreementDecision[],
): Agreement {
  const scale = targetWeights.reduce((t, w) => t + Math.abs(w), 0);
  let agreements = 0, counted = 0, ties = 0;
  for (const d of decisions) {
    const du = targetUtility(attributes, targetWeights, d.a) - targetUtility(attributes, targetWeights, d.b);
    if (Math.abs(du) <= 1e-9 * scale) {
      ties++;
      continue;
    }
    counted++;
    if ((du > 0 ? 'A' : 'B') === d.choice) agreements++;
  }
  return { rate: counted > 0 ? agreements / counted : NaN, agreements, decisions: counted, ties };
}

/** Merge several agreement counts (e.g. over scenarios). */
export function mergeAgreement(parts: readonly Agreement[]): Agreement {
  const agreements = parts.reduce((t, p) => t + p.agreements, 0);
  const decisions = parts.reduce((t, p) => t + p.decisions, 0);
  const ties = parts.reduce((t, p) => t + p.ties, 0);
  return { rate: decisions > 0 ? agreements / decisions : NaN, agreements, decisions, ties };
}
