/**
 * Floats computed by two JS engines (Chromium's V8 and Node's) may differ in
 * the last bits (Math.exp, Math.log, summation order in JIT-compiled code):
 * compare them with a tolerance that still catches any real difference.
 */
import { expect } from 'vitest';

export const CROSS_ENGINE_TOL = 1e-9;

export function expectClose(actual: number, expected: number, tol = CROSS_ENGINE_TOL, what = ''): void {
  expect(Number.isFinite(actual), `${what} ${actual} is not finite`).toBe(Number.isFinite(expected));
  if (Number.isFinite(expected)) expect(Math.abs(actual - expected), `${what} ${actual} vs ${expected} (tolerance ${tol})`).toBeLessThanOrEqual(tol);
}

export function expectAllClose(actual: readonly number[], expected: readonly number[], tol = CROSS_ENGINE_TOL, what = ''): void {
  expect(actual.length, `${what} lengths`).toBe(expected.length);
  actual.forEach((a, i) => expectClose(a, expected[i], tol, `${what}[${i}]`));
}
