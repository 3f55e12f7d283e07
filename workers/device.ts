/**
 * Which device and dtype to run on. WebGPU when the browser has an adapter
 * (q4f16 only with shader-f16), WASM otherwise; onnxruntime-node in Node.
 */
import type { Device } from '../src/lib/engine/types';
import { EngineError } from '../src/lib/engine/types';
import type { DeviceChoice } from '../src/lib/experiment/spec';
import { chooseBuild } from '../src/lib/models/build-choice';

export interface DeviceReport {
  webgpu: boolean;
  shaderF16: boolean;
  /** Adapter description, when the browser tells. */
  adapter?: string;
  isFallbackAdapter?: boolean;
  maxBufferSize?: number;
  wasmThreads: boolean;
  node: boolean;
}

interface GpuLike {
  requestAdapter(): Promise<null | { features: { has(f: string): boolean }; limits?: { maxBufferSize?: number }; info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean } }>;
}

export async function probeDevice(): Promise<DeviceReport> {
  const node = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined' && typeof self === 'undefined';
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  let adapter = null;
  try {
    adapter = gpu ? await gpu.requestAdapter() : null;
  } catch {
    adapter = null;
  }
  const info = adapter?.info;
  return {
    webgpu: !!adapter,
    shaderF16: !!adapter?.features.has('shader-f16'),
    adapter: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || undefined : undefined,
    isFallbackAdapter: info?.isFallbackAdapter,
    maxBufferSize: adapter?.limits?.maxBufferSize,
    wasmThreads: typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    node,
  };
}

export function pickDevice(choice: DeviceChoice | undefined, report: DeviceReport): Device {
  if (report.node) {
    if (choice === 'webgpu' || choice === 'wasm') throw new EngineError('unsupported', `device "${choice}" is for browsers; Node runs on the CPU`);
    return 'cpu';
  }
  if (choice === 'webgpu' && !report.webgpu) throw new EngineError('webgpu_unavailable');
  if (choice === 'cpu') return 'wasm';
  if (choice === 'webgpu' || choice === 'wasm') return choice;
  return report.webgpu ? 'webgpu' : 'wasm';
}

/** The build to load (available = dtypes in the repo, sizeMB = their download sizes): src/lib/models/build-choice.ts. */
export function pickDtype(requested: string | undefined, device: Device, report: DeviceReport, available?: readonly string[], sizeMB?: Partial<Record<string, number>>): string {
  if (requested && requested !== 'auto') {
    if (requested.endsWith('f16') && device === 'webgpu' && !report.shaderF16)
      throw new EngineError('unsupported', `dtype ${requested} needs the shader-f16 GPU feature, which this device lacks; use q4 or fp32`);
    return requested;
  }
  return chooseBuild(device, { shaderF16: report.shaderF16, available, sizeMB }).dtype;
}

/**
 * ONNX Runtime Web's WASM threads. Its own default is half the logical cores (at most 4), so a
 * 2-core laptop computes on one thread; measured on the real model (bench:browser, 2 cores),
 * all cores gave 1.6× the trials/s of ORT's default. Capped at 4 as ORT does: more threads
 * gain little on models this small and take the cores the page needs. One thread without
 * cross-origin isolation (no SharedArrayBuffer, so no WASM threads at all).
 */
export function wasmThreadsFor(hardwareConcurrency: number | undefined, crossOriginIsolated: boolean): number {
  if (!crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, Math.floor(hardwareConcurrency ?? 1)));
}
