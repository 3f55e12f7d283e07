/**
 * The engine worker: one engine per worker, exposed with comlink. Models run
 * here so the page never blocks; the engine library is imported on demand so
 * a worker only loads the one it runs.
 */
import * as Comlink from 'comlink';
import type { Engine, EngineName } from '../src/lib/engine/types';
import type { TransformersEngineOptions } from './transformers-engine';
import type { WebLLMWorkerOptions } from './webllm-engine';

export interface WorkerEngineOptions {
  transformers?: TransformersEngineOptions;
  webllm?: WebLLMWorkerOptions;
}

let engine: Engine | null = null;

const api = {
  async init(kind: EngineName, options: WorkerEngineOptions = {}): Promise<void> {
    if (engine) await engine.unload();
    if (kind === 'transformers') {
      const { TransformersEngine } = await import('./transformers-engine');
      engine = new TransformersEngine({ wasmPaths: sameOriginWasm(), ...options.transformers });
    } else if (kind === 'webllm') {
      const { WebLLMEngine } = await import('./webllm-engine');
      engine = new WebLLMEngine(options.webllm);
    } else throw new Error(`[unsupported] Engine "${kind}" is not available in this worker.`);
  },
  load: (...a: Parameters<Engine['load']>) => need().load(...a),
  scoreChoice: (...a: Parameters<Engine['scoreChoice']>) => need().scoreChoice(...a),
  report: (...a: Parameters<Engine['report']>) => need().report(...a),
  prepare: async (...a: Parameters<NonNullable<Engine['prepare']>>) => need().prepare?.(...a),
  cancel: () => need().cancel(),
  unload: () => (engine ? engine.unload() : Promise.resolve()),
  capabilities: () => (engine ? engine.capabilities() : Promise.resolve(null)),
  /** Engine-specific switches for tests and benchmarks (e.g. prefix reuse). */
  configure(settings: { prefixReuse?: boolean }) {
    const e = need() as Engine & { setPrefixReuse?: (on: boolean) => void };
    if (settings.prefixReuse !== undefined) e.setPrefixReuse?.(settings.prefixReuse);
  },
  stats: () => (need() as Engine & { stats?: unknown }).stats ?? null,
  /** What the engine's runtime says about itself (ONNX Runtime Web's threads, isolation): benchmarks print it. */
  runtime: () => (need() as Engine & { runtime?: () => unknown }).runtime?.() ?? null,
  /** Raw next-token logits (transformers.js only): tests compare them with a reference. */
  async nextTokenLogits(ids: number[]): Promise<number[]> {
    const e = need() as Engine & { nextTokenLogits?: (ids: number[]) => Promise<Float32Array> };
    if (!e.nextTokenLogits) throw new Error('[unsupported] This engine does not expose raw logits.');
    return Array.from(await e.nextTokenLogits(ids));
  },

  /*
   * WebLLM's browser cache, usable without init (web-llm is imported here on
   * first use, never on the page). Our app config, default cache backend.
   */
  /** Whether WebLLM's hasModelInCache finds every weight shard of a catalog build. */
  async webllmCached(modelId: string): Promise<boolean> {
    const { webllmModelCached } = await import('./webllm-engine');
    return webllmModelCached(modelId);
  },
  /** WebLLM's deleteModelAllInfoInCache for a catalog build (unloads it first when this worker runs it). */
  async webllmDelete(modelId: string): Promise<void> {
    const { WebLLMEngine, deleteWebLLMModel } = await import('./webllm-engine');
    if (engine instanceof WebLLMEngine) return engine.deleteFromCache(modelId);
    return deleteWebLLMModel(modelId);
  },
  /** Where our app config's records keep their files (model URL, model library), for listing the cache. */
  async webllmRecords(): Promise<{ model_id: string; model: string; model_lib: string; model_manifest?: string }[]> {
    const { WebLLMEngine } = await import('./webllm-engine');
    const config = engine instanceof WebLLMEngine ? await engine.appConfigFor() : await new WebLLMEngine().appConfigFor();
    return config.model_list.map((r) => ({ model_id: r.model_id, model: r.model, model_lib: r.model_lib, ...(r.model_manifest ? { model_manifest: r.model_manifest } : {}) }));
  },
};

/** onnxruntime-web's runtime as served by the app itself under /ort/ (see tools/vite-ort-assets.ts). */
function sameOriginWasm() {
  const base = new URL(`${import.meta.env.BASE_URL}ort/`, self.location.origin).href;
  return { mjs: `${base}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${base}ort-wasm-simd-threaded.asyncify.wasm` };
}

function need(): Engine {
  if (!engine) throw new Error('[not_loaded] No engine in this worker yet.');
  return engine;
}

export type EngineWorkerApi = typeof api;
Comlink.expose(api);
