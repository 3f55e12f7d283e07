/**
 * How the lab configures the browser's CPU path: ONNX Runtime Web's thread count
 * (its own default halves the cores: one thread on a 2-core laptop, measured 1.7× slower
 * on the real model; bench:browser).
 */
import { describe, expect, it } from 'vitest';
import { wasmThreadsFor } from '../workers/device';

describe('wasmThreadsFor', () => {
  it('uses every core, up to 4, when the page is cross-origin isolated', () => {
    expect(wasmThreadsFor(2, true)).toBe(2);
    expect(wasmThreadsFor(1, true)).toBe(1);
    expect(wasmThreadsFor(3, true)).toBe(3);
    expect(wasmThreadsFor(16, true)).toBe(4);
  });
  it('one thread without isolation (no SharedArrayBuffer) or when the browser does not tell its cores', () => {
    expect(wasmThreadsFor(8, false)).toBe(1);
    expect(wasmThreadsFor(undefined, true)).toBe(1);
    expect(wasmThreadsFor(0, true)).toBe(1);
  });
});
