/**
 * Page side of the engine worker: an Engine whose calls run in a web worker.
 * Progress callbacks cross as comlink proxies; errors come back as
 * EngineError with their code.
 */
import * as Comlink from 'comlink';
import type { ChatMessage } from '../src/lib/prompts';
import type { ChoiceScore, Engine, EngineCapabilities, EngineName, LoadOptions, LoadProgress, ReportResult } from '../src/lib/engine/types';
import { EngineError } from '../src/lib/engine/types';
import type { ReportMode } from '../src/lib/experiment/spec';
import type { EngineWorkerApi, WorkerEngineOptions } from './engine.worker';

export class WorkerEngine implements Engine {
  private constructor(
    private readonly worker: Worker,
    private readonly remote: Comlink.Remote<EngineWorkerApi>,
  ) {}

  static async create(kind: EngineName, options: WorkerEngineOptions = {}): Promise<WorkerEngine> {
    const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: `engine-${kind}` });
    const remote = Comlink.wrap<EngineWorkerApi>(worker);
    const e = new WorkerEngine(worker, remote);
    await e.call(() => remote.init(kind, options));
    return e;
  }

  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw EngineError.from(e);
    }
  }

  load(options: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<EngineCapabilities> {
    return this.call(() => this.remote.load(options, onProgress ? Comlink.proxy(onProgress) : undefined));
  }
  scoreChoice(messages: ChatMessage[], labels: string[]): Promise<ChoiceScore> {
    return this.call(() => this.remote.scoreChoice(messages, labels));
  }
  report(messages: ChatMessage[], attributeNames: string[], mode: ReportMode): Promise<ReportResult> {
    return this.call(() => this.remote.report(messages, attributeNames, mode));
  }
  prepare(messages: ChatMessage[]): Promise<void> {
    return this.call(() => this.remote.prepare(messages));
  }
  cancel(): Promise<void> {
    return this.call(() => this.remote.cancel());
  }
  unload(): Promise<void> {
    return this.call(() => this.remote.unload());
  }
  capabilities(): Promise<EngineCapabilities | null> {
    return this.call(() => this.remote.capabilities());
  }
  configure(settings: { prefixReuse?: boolean }): Promise<void> {
    return this.call(() => this.remote.configure(settings));
  }
  /** Raw next-token logits after `ids` (transformers.js only; for tests). */
  nextTokenLogits(ids: number[]): Promise<number[]> {
    return this.call(() => this.remote.nextTokenLogits(ids));
  }
  runtime(): Promise<unknown> {
    return this.call(() => this.remote.runtime());
  }
  stats(): Promise<unknown> {
    return this.call(() => this.remote.stats());
  }
  /**
   * A worker with no engine yet, for calls that need none (WebLLM's cache):
   * web-llm loads in the worker, not on the page. terminate() it when done.
   */
  static spawn(name = 'engine-cache'): WorkerEngine {
    const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name });
    return new WorkerEngine(worker, Comlink.wrap<EngineWorkerApi>(worker));
  }
  /** WebLLM's hasModelInCache for a catalog build, with our app config. */
  webllmCached(modelId: string): Promise<boolean> {
    return this.call(() => this.remote.webllmCached(modelId));
  }
  /** WebLLM's deleteModelAllInfoInCache for a catalog build, with our app config. */
  webllmDelete(modelId: string): Promise<void> {
    return this.call(() => this.remote.webllmDelete(modelId));
  }
  /** Our app config's records (model URL, model library) for listing WebLLM's cache. */
  webllmRecords(): Promise<{ model_id: string; model: string; model_lib: string; model_manifest?: string }[]> {
    return this.call(() => this.remote.webllmRecords());
  }
  /** Stop the worker and free everything it held (also the GPU device). */
  terminate(): void {
    this.remote[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
