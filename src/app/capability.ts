/**
 * What this browser can do, in plain words: WebGPU or not, 16-bit shaders,
 * WASM threads, storage room; and the fallback that follows. The probe lives
 * in workers/device.ts; this module only reads its report. Pure.
 */
import type { DeviceReport } from '../../workers/device';
import { formatBytes } from './format';

export interface StorageInfo {
  quota: number;
  usage: number;
  persisted: boolean | null;
}

export interface Capability extends DeviceReport {
  crossOriginIsolated: boolean;
  storage: StorageInfo | null;
  /** navigator.deviceMemory (GB, coarse), where the browser tells. */
  deviceMemoryGB?: number;
}

export type VerdictLevel = 'good' | 'ok' | 'slow';

export interface Verdict {
  level: VerdictLevel;
  headline: string;
  /** The device a run on "auto" will use. */
  device: 'webgpu' | 'wasm';
  /** Model builds that suit this device, best first. */
  dtypes: string[];
  details: string[];
}

export function verdict(c: Capability): Verdict {
  const details: string[] = [];
  let level: VerdictLevel;
  let headline: string;
  let device: Verdict['device'];
  let dtypes: string[];
  if (c.webgpu && !c.isFallbackAdapter) {
    device = 'webgpu';
    level = 'good';
    if (c.shaderF16) {
      dtypes = ['q4f16', 'fp16', 'q4', 'fp32'];
      headline = 'Your GPU runs models with WebGPU, including compact half-precision (q4f16) builds. Good for every preset.';
    } else {
      dtypes = ['q4', 'fp32'];
      level = 'ok';
      headline = 'Your GPU runs models with WebGPU, but without 16-bit shaders (shader-f16): the lab uses q4 or fp32 builds, which are larger or slower.';
    }
  } else if (c.webgpu) {
    device = 'webgpu';
    dtypes = ['q4', 'fp32'];
    level = 'slow';
    headline = 'WebGPU is only a software fallback here (no real GPU): models will run slowly. Use the Classroom preset with the smallest model, or run on WASM.';
  } else {
    device = 'wasm';
    dtypes = ['q8', 'q4', 'fp32'];
    level = 'slow';
    headline = 'No WebGPU in this browser: models run on the CPU (WASM), several times slower than on a GPU. Use small models (under 1 B parameters) and the Classroom preset.';
  }
  if (c.adapter) details.push(`GPU adapter: ${c.adapter}${c.isFallbackAdapter ? ' (software fallback)' : ''}.`);
  if (c.maxBufferSize) details.push(`Largest GPU buffer: ${formatBytes(c.maxBufferSize)} (a model's biggest weight matrix must fit).`);
  details.push(
    c.wasmThreads
      ? 'WASM threads: on (the page is cross-origin isolated), so the CPU fallback uses several cores.'
      : 'WASM threads: off (the page is not cross-origin isolated), so the CPU fallback uses one core.',
  );
  if (c.storage) {
    const free = Math.max(0, c.storage.quota - c.storage.usage);
    details.push(`Storage: ${formatBytes(c.storage.usage)} used of ${formatBytes(c.storage.quota)} allowed; about ${formatBytes(free)} free for models and runs.`);
    if (c.storage.persisted === false) details.push('The browser may evict stored models and runs when the disk is low; "Keep my data" asks it not to.');
  } else details.push('Storage: this browser does not say how much room there is.');
  if (c.deviceMemoryGB) details.push(`Memory: at least ${c.deviceMemoryGB} GB (the browser rounds this down).`);
  return { level, headline, device, dtypes, details };
}

export interface FitCheck {
  ok: boolean;
  note: string;
}

/** Whether a model of this download size and working memory suits this machine. */
export function modelFit(sizeMB: number | undefined, memoryMB: number | undefined, c: Capability | null): FitCheck {
  if (!c) return { ok: true, note: '' };
  const notes: string[] = [];
  let ok = true;
  if (c.storage && sizeMB) {
    const free = c.storage.quota - c.storage.usage;
    if (sizeMB * 2 ** 20 > free) {
      ok = false;
      notes.push(`needs ${formatBytes(sizeMB * 2 ** 20)} of storage, ${formatBytes(free)} free`);
    }
  }
  if (memoryMB && c.deviceMemoryGB && memoryMB > c.deviceMemoryGB * 1024 * 0.6) {
    ok = false;
    notes.push(`needs about ${formatBytes(memoryMB * 2 ** 20)} of memory`);
  }
  if (!c.webgpu && sizeMB && sizeMB > 1200) notes.push('slow without WebGPU');
  return { ok, note: notes.join('; ') };
}
