/**
 * The runner's EngineProvider in the browser: one WorkerEngine (a comlink
 * worker running transformers.js) per model, one at a time: acquiring another
 * model terminates the previous worker, which frees its memory and GPU device.
 */
import { EngineError, type Engine, type EngineCapabilities, type LoadProgress } from '../lib/engine/types';
import type { EngineProvider } from '../lib/runner';
import type { ModelRef } from '../lib/spec';
import { WorkerEngine } from '../../workers/client';
import { pickDevice, pickDtype, probeDevice, type DeviceReport } from '../../workers/device';
import { modelSource } from './local-models';

export interface ProviderOptions {
  /** The ?localModels= folder, for bare local names. */
  localModels?: string | null;
  /** Model builds known to exist for a model id (catalog or folder probe): lets "auto" pick one that exists. */
  dtypesOf?: (id: string) => readonly string[] | undefined;
  /** For tests: how to make an engine. */
  create?: typeof WorkerEngine.create;
}

/** The device and dtype a model will load with, resolving "auto" against what exists. */
export function resolveLoad(model: ModelRef, report: DeviceReport, available?: readonly string[]): { device: 'webgpu' | 'wasm' | 'cpu'; dtype: string } {
  const device = pickDevice(model.device, report);
  const dtype = pickDtype(model.dtype, device, report, available && available.length ? available : undefined);
  return { device, dtype };
}

/** Engine options for a model: served folders load locally, never from the hub. */
export function workerOptionsFor(id: string, localModels?: string | null) {
  const src = modelSource(id, localModels);
  return src.kind === 'local'
    ? { model: src.name, transformers: { localModelPath: src.localModelPath, allowRemoteModels: false } }
    : { model: src.id, transformers: { allowRemoteModels: true } };
}

export class WorkerEngineProvider implements EngineProvider {
  private current: { key: string; id: string; engine: WorkerEngine; caps: EngineCapabilities } | null = null;
  private report: DeviceReport | null = null;
  /** Aborting this while a model loads stops the worker (a load cannot be cancelled otherwise). */
  signal: AbortSignal | null = null;

  constructor(private readonly o: ProviderOptions = {}) {}

  async acquire(model: ModelRef, onProgress?: (p: LoadProgress) => void): Promise<{ engine: Engine; caps: EngineCapabilities }> {
    if (this.current && this.current.key === model.key && this.current.id === model.id) return this.current;
    this.terminate();
    this.report ??= await probeDevice();
    const { device, dtype } = resolveLoad(model, this.report, this.o.dtypesOf?.(model.id));
    const opts = workerOptionsFor(model.id, this.o.localModels);
    const engine = await (this.o.create ?? WorkerEngine.create.bind(WorkerEngine))('transformers', { transformers: opts.transformers });
    const signal = this.signal;
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new EngineError('cancelled', 'model load stopped'));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort);
    });
    aborted.catch(() => undefined);
    try {
      const load = engine.load({ model: opts.model, device: device === 'cpu' ? 'wasm' : device, dtype, adapter: model.adapter }, onProgress);
      const caps = await Promise.race([load, aborted]);
      this.current = { key: model.key, id: model.id, engine, caps: { ...caps, model: model.id } };
      return this.current;
    } catch (e) {
      engine.terminate();
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stop the worker now (also mid-call): frees memory and the GPU device. */
  terminate(): void {
    this.current?.engine.terminate();
    this.current = null;
  }

  async releaseAll(): Promise<void> {
    this.terminate();
  }
}
