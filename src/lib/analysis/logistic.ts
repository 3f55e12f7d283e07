/**
 * Per-scenario MAP logistic regression, as in Plunkett et al. (2025), appendix C:
 *
 *   P(A) = σ(b0 + Σ_i b_i · d_i),   d_i = (A_i − B_i) / (max_i − min_i)
 *
 * with independent normal priors: b_i ~ normal(0, slopePriorSd = 1) on the slopes
 * (the paper's prior) and b0 ~ normal(0, interceptPriorSd = 2.5) on the intercept.
 * The paper does not state its intercept prior. 2.5 is the scale of brms' default
 * intercept prior, and a proper prior keeps b0 finite when every choice is A (or B).
 * Against the paper's `*_regression_results.csv` / `*_latent_regression_results.csv`
 * (both models, 4 × 100 scenarios, weights scaled ±100, paper rounded to integers):
 *
 *   intercept sd   r (min of 4)   max |diff|          RMSE (mean of 4)
 *   1              .99990         3.2/1.9/3.6/3.3     0.668
 *   2.5            .99993         2.3/1.6/2.7/1.8     0.565
 *   5              .99993         2.3/1.6/2.8/1.9     0.561
 *   flat           .99993         2.3/1.6/2.8/1.9     0.561
 *
 * i.e. anything from 2.5 up is equivalent (the rest is posterior mean vs mode and
 * the paper's rounding); 2.5 has the smallest worst-case difference.
 *
 * The paper reports posterior means from sampling; we report the posterior mode
 * (MAP), which is what makes this cheap enough for the browser. Both are then
 * scaled per scenario so the largest |weight| is 100, which hides most of the
 * difference.
 *
 * Fitting: Newton–Raphson (= IRLS) on the log posterior with step halving, dense
 * 6×6 Cholesky solves by hand. The prior keeps the problem strictly concave, so
 * perfectly separated choices still give finite estimates. Targets may be soft
 * (y ∈ [0, 1]): the likelihood Σ y·log p + (1 − y)·log(1 − p) is the same, which
 * lets us fit a model's P(A) instead of its sampled choice.
 */

export interface LogisticOptions {
  /** Prior sd of the slopes b_1..b_k (paper: 1). `Infinity` = flat prior. */
  slopePriorSd?: number;
  /** Prior sd of the intercept b0 (default 2.5). `Infinity` = flat prior. */
  interceptPriorSd?: number;
  /** Fit an intercept (position bias towards A or B); default true. */
  intercept?: boolean;
  /** Newton iterations before giving up; default 100. */
  maxIterations?: number;
  /** Converged when the largest |Newton step| falls below this; default 1e-8. */
  tolerance?: number;
  /** Throw a `LogisticConvergenceError` instead of returning `converged: false`. */
  throwOnNonConvergence?: boolean;
}

export interface LogisticFit {
  /** b0 (0 when fitted without intercept). */
  intercept: number;
  /** Slopes b_1..b_k, aligned with the predictor columns. */
  coefficients: number[];
  converged: boolean;
  /** Newton iterations taken. */
  iterations: number;
  /** Log posterior (up to a constant) at the returned estimate. */
  logPosterior: number;
  /** Largest |gradient| of the log posterior at the estimate. */
  maxGradient: number;
  /** Why the fit did not converge (absent when it did). */
  reason?: string;
}

export const DEFAULT_SLOPE_PRIOR_SD = 1;
export const DEFAULT_INTERCEPT_PRIOR_SD = 2.5;

export class LogisticConvergenceError extends Error {
  constructor(
    message: string,
    readonly fit: LogisticFit,
  ) {
    super(message);
    this.name = 'LogisticConvergenceError';
  }
}

/** log(1 + e^x) without overflow. */
export function log1pExp(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Logistic function σ(x) = 1 / (1 + e^−x), stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * Solve A·x = b for a symmetric positive definite A (row-major, n×n) by Cholesky.
 * Returns null when A is not (numerically) positive definite.
 */
export function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 1e-300) || !Number.isFinite(s)) return null;
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

function precision(sd: number): number {
  if (sd === Infinity) return 0;
  if (!(sd > 0)) throw new RangeError(`prior sd must be > 0 or Infinity, got ${sd}`);
  return 1 / (sd * sd);
}

/**
 * MAP logistic regression of y (0/1 or soft in [0, 1]) on the rows of X.
 * X: one row of predictors per observation (the d_i); all rows the same length.
 */
export function fitLogistic(
  X: readonly (readonly number[])[],
  y: readonly number[],
  options: LogisticOptions = {},
): LogisticFit {
  const n = X.length;
  if (y.length !== n) throw new RangeError(`X has ${n} rows but y has ${y.length}`);
  const k = n > 0 ? X[0].length : 0;
  const withIntercept = options.intercept ?? true;
  const p = k + (withIntercept ? 1 : 0);
  const off = withIntercept ? 1 : 0;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-8;

  // Design matrix with a leading column of ones, flat row-major.
  const Z = new Float64Array(n * p);
  for (let r = 0; r < n; r++) {
    const row = X[r];
    if (row.length !== k) throw new RangeError(`row ${r} has ${row.length} predictors, expected ${k}`);
    const yr = y[r];
    if (!(yr >= 0 && yr <= 1)) throw new RangeError(`y[${r}] = ${yr} is not in [0, 1]`);
    if (withIntercept) Z[r * p] = 1;
    for (let j = 0; j < k; j++) {
      const v = row[j];
      if (!Number.isFinite(v)) throw new RangeError(`X[${r}][${j}] = ${v} is not finite`);
      Z[r * p + off + j] = v;
    }
  }
  const prec = new Float64Array(p);
  if (withIntercept) prec[0] = precision(options.interceptPriorSd ?? DEFAULT_INTERCEPT_PRIOR_SD);
  const slopePrec = precision(options.slopePriorSd ?? DEFAULT_SLOPE_PRIOR_SD);
  for (let j = off; j < p; j++) prec[j] = slopePrec;

  const eta = new Float64Array(n);
  const objective = (beta: Float64Array): number => {
    let f = 0;
    for (let r = 0; r < n; r++) {
      let e = 0;
      for (let j = 0; j < p; j++) e += Z[r * p + j] * beta[j];
      eta[r] = e;
      f += y[r] * e - log1pExp(e);
    }
    for (let j = 0; j < p; j++) f -= 0.5 * prec[j] * beta[j] * beta[j];
    return f;
  };

  let beta = new Float64Array(p);
  let f = objective(beta);
  const grad = new Float64Array(p);
  const H = new Float64Array(p * p);
  let iterations = 0;
  let converged = false;
  let reason: string | undefined;
  let maxGradient = Infinity;

  // eta holds Z·beta for the current beta after every accepted objective() call.
  const gradientAndHessian = (): void => {
    grad.fill(0);
    H.fill(0);
    for (let r = 0; r < n; r++) {
      const mu = sigmoid(eta[r]);
      const res = y[r] - mu;
      const w = mu * (1 - mu);
      const base = r * p;
      for (let i = 0; i < p; i++) {
        const zi = Z[base + i];
        grad[i] += zi * res;
        const wzi = w * zi;
        for (let j = 0; j <= i; j++) H[i * p + j] += wzi * Z[base + j];
      }
    }
    for (let i = 0; i < p; i++) {
      grad[i] -= prec[i] * beta[i];
      H[i * p + i] += prec[i];
      for (let j = 0; j < i; j++) H[j * p + i] = H[i * p + j];
    }
    maxGradient = 0;
    for (let i = 0; i < p; i++) maxGradient = Math.max(maxGradient, Math.abs(grad[i]));
  };

  if (p === 0) {
    converged = true;
    maxGradient = 0;
  }
  while (!converged && iterations < maxIterations) {
    gradientAndHessian();
    const step = choleskySolve(H, grad, p);
    if (!step) {
      reason = 'Hessian not positive definite (flat prior with separated or constant predictors?)';
      break;
    }
    iterations++;
    let maxStep = 0;
    for (let i = 0; i < p; i++) maxStep = Math.max(maxStep, Math.abs(step[i]));
    // Step halving: accept the first step length that does not lower the log posterior.
    let t = 1;
    let accepted = false;
    const candidate = new Float64Array(p);
    for (let halvings = 0; halvings < 40; halvings++) {
      for (let i = 0; i < p; i++) candidate[i] = beta[i] + t * step[i];
      const fc = objective(candidate);
      if (Number.isFinite(fc) && fc >= f - 1e-12 * Math.abs(f)) {
        beta = candidate.slice();
        f = fc;
        accepted = true;
        break;
      }
      t /= 2;
    }
    if (!accepted) {
      objective(beta); // restore eta for beta
      reason = 'step halving could not improve the log posterior';
      break;
    }
    // The full Newton step is the distance to the mode of the local quadratic model.
    if (maxStep < tolerance) {
      converged = true;
      gradientAndHessian(); // final gradient for reporting
    }
  }
  if (!converged && !reason) reason = `no convergence in ${maxIterations} Newton iterations`;
  for (let i = 0; i < p; i++) {
    if (!Number.isFinite(beta[i])) {
      converged = false;
      reason = 'estimate is not finite';
    }
  }

  const fit: LogisticFit = {
    intercept: withIntercept ? beta[0] : 0,
    coefficients: Array.from(beta.subarray(off)),
    converged,
    iterations,
    logPosterior: f,
    maxGradient,
  };
  if (!converged) fit.reason = reason;
  if (!converged && options.throwOnNonConvergence) {
    throw new LogisticConvergenceError(`logistic fit did not converge: ${reason}`, fit);
  }
  return fit;
}
