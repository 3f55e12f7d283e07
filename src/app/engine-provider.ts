/**
 * The runner's EngineProvider in the browser: one WorkerEngine (a comlink
 * worker running transformers.js or WebLLM) per model, one at a time:
 * acquiring another model terminates the previous worker, which frees its
 * memory and GPU device.
 *
 * The engine follows the model's `engine` ('auto' when absent) through
 * planEngine (./engine-choice): WebLLM when it has a build of the model and
 * the browser has WebGPU, transformers.js otherwise. When WebLLM fails to load
 * (no network for its files, no compiled library, a lost device…) its worker
 * is stopped and the same model loads with transformers.js, so the run still
 * completes; the reason is reported (onEngine) and kept with the run in the
 * returned capabilities (`choice`).
 */
import { EngineError, type Engine, type LoadProgress } from '../lib/engine/types';
import type { EngineProvider } from '../lib/experiment/runner';
import type { ModelRef } from '../lib/experiment/spec';
import { WorkerEngine } from '../../workers/client';
import { serverChoiceRecord, serverEngine } from './servers';
import { SimulatedEngine } from '../../workers/simulated-engine';
import { isSimulatedId, simulatedName } from '../lib/experiment/simulated';
import { probeDevice, type DeviceReport } from '../../workers/device';
import { modelSource } from './local-models';
import { choiceRecord, fallbackRecord, type ChosenCapabilities, type EngineChoiceRecord, type EngineEvent, type EnginePlan } from './engine-choice';
import { resolveModel, transformersSource, type ResolveOptions, type TransformersSource } from './model-resolution';

export { resolveLoad } from './model-resolution';

export type { EngineEvent } from './engine-choice';

export interface ProviderOptions extends ResolveOptions {
  /** Engine choice, fallback and load, as they happen. */
  onEngine?: (e: EngineEvent) => void;
  /** For tests: how to make an engine. */
  create?: typeof WorkerEngine.create;
  /** For tests: the device probe. */
  probe?: () => Promise<DeviceReport>;
  /** The API key the user gave for a server (engine "openai"), if any. */
  serverKey?: (baseUrl: string) => string | undefined;
}

/** An engine the provider holds: a worker, or a server connection (HTTP from the page). */
type HeldEngine = Engine & { terminate(): void };

/** For callers (tests, the harness) that want a model's transformers.js files from its id. */
export function workerOptionsFor(id: string, localModels?: string | null): TransformersSource {
  return transformersSource(modelSource(id, localModels), localModels);
}

export class WorkerEngineProvider implements EngineProvider {
  private current: { key: string; id: string; engineChoice: string; engine: HeldEngine; caps: ChosenCapabilities } | null = null;
  private report: DeviceReport | null = null;
  /** Aborting this while a model loads stops the worker (a load cannot be cancelled otherwise). */
  signal: AbortSignal | null = null;

  constructor(private readonly o: ProviderOptions = {}) {}

  private make(kind: 'transformers' | 'webllm', options: Parameters<typeof WorkerEngine.create>[1]) {
    return (this.o.create ?? WorkerEngine.create.bind(WorkerEngine))(kind, options);
  }

  /** Load, or reject as soon as the signal aborts (the caller then stops the worker). */
  private async loadIn(load: () => Promise<ChosenCapabilities>): Promise<ChosenCapabilities> {
    const signal = this.signal;
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new EngineError('cancelled', 'model load stopped'));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort);
    });
    aborted.catch(() => undefined);
    try {
      return await Promise.race([load(), aborted]);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async acquire(model: ModelRef, onProgress?: (p: LoadProgress) => void): Promise<{ engine: Engine; caps: ChosenCapabilities }> {
    const engineChoice = model.engine ?? 'auto';
    if (this.current && this.current.key === model.key && this.current.id === model.id && this.current.engineChoice === engineChoice) return this.current;
    this.terminate();
    if (model.engine === 'openai') {
      // A served model needs no worker: the calls are HTTP, the model runs on the server.
      const engine = serverEngine(model.baseUrl ?? '', this.o.serverKey?.(model.baseUrl ?? ''));
      const caps = await this.loadIn(() => engine.load({ model: model.id, adapter: model.adapter }, onProgress)).catch((e: unknown) => {
        engine.terminate();
        throw e;
      });
      return this.keep(model, engineChoice, engine, model.label ?? model.id, { ...caps, choice: serverChoiceRecord(caps) });
    }
    if (isSimulatedId(model.id)) return this.simulated(model, engineChoice);
    this.report ??= await (this.o.probe ?? probeDevice)();
    // Resolved once: the plan, the WebLLM build and the transformers.js load all come from here.
    const resolved = resolveModel(model, this.report, this.o);
    const { name, plan } = resolved;
    const base = { key: model.key, modelId: model.id, name };
    this.o.onEngine?.({ kind: 'planned', ...base, plan });
    const choice: EngineChoiceRecord = { ...resolved.choice };

    if (plan.engine === 'webllm' && plan.webllmModel) {
      const webllmModel = plan.webllmModel;
      let engine: WorkerEngine | null = null;
      try {
        engine = await this.make('webllm', {});
        const loaded = engine;
        const caps = await this.loadIn(() => loaded.load({ model: webllmModel, device: 'webgpu' }, onProgress));
        return this.keep(model, engineChoice, loaded, name, { ...caps, model: model.id, choice });
      } catch (e) {
        engine?.terminate();
        // A stop asked for by the user is not a failure to fall back from.
        if (this.signal?.aborted) throw EngineError.from(e);
        choice.fallback = fallbackRecord(e, name);
        this.o.onEngine?.({ kind: 'fallback', ...base, fallback: choice.fallback });
        onProgress?.({ phase: 'init', text: 'WebLLM could not load the model: loading it with transformers.js instead' });
      }
    }

    const t = resolved.transformers;
    if (!t.ok) throw t.error;
    const engine = await this.make('transformers', { transformers: t.transformers });
    try {
      const caps = await this.loadIn(() => engine.load({ model: t.model, device: t.device, dtype: t.dtype, adapter: t.adapter }, onProgress));
      return this.keep(model, engineChoice, engine, name, { ...caps, model: model.id, choice });
    } catch (e) {
      engine.terminate();
      throw e;
    }
  }

  /** A simulated model runs in the page: no worker, no download, no device. */
  private async simulated(model: ModelRef, engineChoice: string) {
    const name = simulatedName(model.id);
    // Nothing to stop when it goes: it holds no worker and no device.
    const engine: HeldEngine = Object.assign(new SimulatedEngine(), { terminate: () => undefined });
    const caps = await engine.load({ model: model.id });
    const plan: EnginePlan = { engine: 'simulated', reason: 'A simulated model: no weights to download, it runs in the page.', userChoiceHonored: true, requested: 'auto', webllmModel: null };
    this.o.onEngine?.({ kind: 'planned', key: model.key, modelId: model.id, name, plan });
    return this.keep(model, engineChoice, engine, name, { ...caps, choice: choiceRecord(plan) });
  }

  private keep(model: ModelRef, engineChoice: string, engine: HeldEngine, name: string, caps: ChosenCapabilities) {
    this.current = { key: model.key, id: model.id, engineChoice, engine, caps };
    this.o.onEngine?.({ kind: 'loaded', key: model.key, modelId: model.id, name, caps });
    return this.current;
  }

  /** Stop the worker now (also mid-call): frees memory and the GPU device. */
  terminate(): void {
    const engine = this.current?.engine;
    if (engine instanceof SimulatedEngine) void engine.unload();
    else engine?.terminate();
    this.current = null;
  }

  async releaseAll(): Promise<void> {
    this.terminate();
  }
}
