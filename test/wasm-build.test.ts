/**
 * How the lab configures the browser's CPU path: ONNX Runtime Web's thread count
 * (its own default halves the cores: one thread on a 2-core laptop, measured 1.7× slower
 * on the real model; bench:browser), and the build "auto" loads on each device, which the
 * Models view stores and names.
 */
import { describe, expect, it } from 'vitest';
import { wasmThreadsFor, type DeviceReport } from '../workers/device';
import { chooseBuild, WASM_FP32_MAX_MB, WASM_MEASURED } from '../src/lib/models/build-choice';
import { fromCatalog, storedBuild } from '../src/app/catalog';
import { findModel } from '../src/lib/models/catalog';
import { resolveModel } from '../src/app/model-resolution';

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

describe('chooseBuild: the build "auto" loads, and why', () => {
  const all = ['q4f16', 'fp16', 'q4', 'q8', 'fp32'];
  it('on WASM, fp32 (the model’s own numbers) when its file is small enough: the real model’s 539 MB', () => {
    const c = chooseBuild('wasm', { available: all, sizeMB: { fp32: 514, q8: 130, q4: 173 } });
    expect(c.dtype).toBe('fp32');
    expect(c.reason).toMatch(/own numbers/);
  });
  it('on WASM, q8 (faster than q4 there) when fp32 is too large or of unknown size; q4 without q8', () => {
    const big = chooseBuild('wasm', { available: all, sizeMB: { fp32: WASM_FP32_MAX_MB + 1 } });
    expect(big.dtype).toBe('q8');
    expect(big.reason).toMatch(/too large/);
    expect(chooseBuild('wasm', { available: all }).reason).toMatch(/unknown/);
    expect(chooseBuild('wasm', { available: ['q4f16', 'q8'] }).reason).toMatch(/no fp32 build/);
    expect(chooseBuild('wasm', { available: ['q4', 'fp32'], sizeMB: { fp32: 2000 } }).dtype).toBe('q4');
    expect(chooseBuild('wasm', { available: ['fp32'], sizeMB: { fp32: 2000 } }).dtype).toBe('fp32');
    expect(chooseBuild('wasm', { available: ['fp16'] }).dtype).toBe('fp16');
  });
  it('the measurement it rests on: fp32 is the only build within a model’s own numbers, and q8 is the fastest of the others', () => {
    const own = Object.entries(WASM_MEASURED).filter(([, m]) => m.maxDeltaPA < 1e-3).map(([d]) => d);
    expect(own).toEqual(['fp32']);
    expect(WASM_MEASURED.q8.trialsPerS).toBeGreaterThan(WASM_MEASURED.q4.trialsPerS);
  });
  it('on WebGPU, the smallest build the GPU runs; in Node (the CLI), fp32 — the model’s own numbers — unless it is too large', () => {
    expect(chooseBuild('webgpu', { shaderF16: true, available: all }).dtype).toBe('q4f16');
    expect(chooseBuild('webgpu', { shaderF16: false, available: all }).dtype).toBe('q4');
    expect(chooseBuild('cpu', { available: all, sizeMB: { fp32: 539 } })).toMatchObject({ dtype: 'fp32', reason: expect.stringContaining("model's own numbers") });
    expect(chooseBuild('cpu', { available: all }).dtype).toBe('fp32');
    expect(chooseBuild('cpu', { available: all, sizeMB: { fp32: 28_000 } })).toMatchObject({ dtype: 'q8', reason: expect.stringContaining('too large') });
    expect(chooseBuild('cpu', { available: ['q4', 'q8'] }).dtype).toBe('q8');
  });
});

describe('the build the Models view stores is the one a run loads', () => {
  const wasm: DeviceReport = { webgpu: false, shaderF16: false, wasmThreads: true, node: false };
  const smol = fromCatalog(findModel('HuggingFaceTB/SmolLM2-135M-Instruct')!);
  const big = fromCatalog(findModel('onnx-community/Qwen2.5-0.5B-Instruct')!);
  it('agrees with the model resolution a run loads from (the Models store’s builds and sizes), for auto and explicit choices', () => {
    const o = { dtypesOf: (id: string) => [smol, big].find((m) => m.id === id)?.dtypes, sizesOf: (id: string) => [smol, big].find((m) => m.id === id)?.sizeMB };
    for (const m of [smol, big])
      for (const [device, dtype] of [['auto', 'auto'], ['wasm', 'auto'], ['auto', 'q4'], ['wasm', 'fp32']] as const) {
        const s = storedBuild(m, device, dtype, wasm);
        const t = resolveModel({ key: 'self', id: m.id, device, dtype }, wasm, o).transformers;
        expect(t.ok && { device: t.device, dtype: t.dtype }).toEqual({ device: s.device, dtype: s.dtype });
      }
  });
  it('SmolLM2 135M stores fp32 on WASM, a 0.5 B model q8, an explicit choice is kept and said so', () => {
    expect(storedBuild(smol, 'auto', 'auto', wasm)).toMatchObject({ device: 'wasm', dtype: 'fp32' });
    expect(storedBuild(big, 'auto', 'auto', wasm)).toMatchObject({ device: 'wasm', dtype: 'q8' });
    expect(storedBuild(smol, 'wasm', 'q4', wasm)).toEqual({ device: 'wasm', dtype: 'q4', reason: 'the build chosen for the experiment' });
    expect(storedBuild(smol, 'auto', 'auto', { ...wasm, webgpu: true, shaderF16: true }).dtype).toBe('q4f16');
  });
});
