/**
 * Browser side of the engine and plan tests: the page reads what to do from
 * /harness-config.json (written by the Node test) and leaves its outcome in
 * window.__result for playwright to read.
 */
import { WorkerEngine } from '../../workers/client';
import { runConformance } from '../conformance/checks';
import { conformanceInputs, type InputSize } from '../conformance/inputs';
import { buildPlan, serializePlan } from '../../src/lib/experiment/plan';
import { presetSpec } from '../../src/lib/experiment/presets';
import { builtinScenarioSet } from '../../src/lib/scenarios';
import type { BenchTrial } from '../../bench/trials';
import { runBenchTrials, type BuildTiming } from '../../bench/timing';

interface AdapterCase {
  model: string;
  dtype: string;
  adapter?: { id: string; scale?: number };
  /** score mode: the worker's transformers.js options for this case. */
  transformers?: { localModelPath?: string; allowRemoteModels?: boolean };
}

interface HarnessConfig {
  mode: 'conformance' | 'plan' | 'adapter' | 'score' | 'bench' | 'gemm' | 'reports';
  /** gemm mode: ONNX Runtime Web's WASM threads. */
  threads?: number;
  /** bench mode: the builds to time, the trials (bench/trials.ts) and worker options. */
  builds?: string[];
  trials?: BenchTrial[];
  transformers?: Record<string, unknown>;
  /** reports mode: constrained self-reports asked of the first case's model. */
  asks?: { messages: { role: 'system' | 'user' | 'assistant'; content: string }[]; names: string[] }[];
  /** score mode: the decision to score on each case's model. */
  messages?: { role: 'system' | 'user' | 'assistant'; content: string }[];
  /** adapter mode: stored adapters to put into the browser first (name → served folder to copy from). */
  store?: Record<string, string>;
  cases?: AdapterCase[];
  ids?: number[];
  device?: 'wasm' | 'webgpu';
  modelId?: string;
  expected?: Array<[number, number]>;
  reports?: number;
  freeReports?: number;
  maxReplyTokens?: number;
  size?: InputSize;
}

declare global {
  interface Window {
    __result?: {
      ok: boolean;
      error?: string;
      checks?: unknown;
      plan?: string;
      logits?: (number[] | string)[];
      /** score mode: each case's label log-probabilities, or the text of its load error. */
      scores?: (number[] | string)[];
      /** reports mode: each constrained report's text and parsed weights (null: invalid). */
      reports?: { text: string; weights: number[] | null }[];
      crossOriginIsolated?: boolean;
      /** gemm mode: FLOP/s of one 1024³ fp32 MatMul in ONNX Runtime Web (WASM). */
      flops?: number;
      /** bench mode: each build's timings. */
      bench?: BuildTiming[];
    };
  }
}

async function conformance(cfg: HarnessConfig) {
  const engine = await WorkerEngine.create('transformers', {
    // A path, not a full URL: transformers.js 4.3 only checks local files for paths (a URL local path is treated as remote).
    transformers: { localModelPath: '/models/', allowRemoteModels: false, maxReplyTokens: cfg.maxReplyTokens },
  });
  try {
    await engine.load({ model: cfg.modelId!, device: cfg.device, dtype: 'fp32' });
    console.log('model loaded');
    const checks = await runConformance({
      engine,
      ...conformanceInputs(cfg.size),
      expected: cfg.expected,
      reports: cfg.reports ?? 200,
      freeReports: cfg.freeReports,
      setPrefixReuse: (on) => engine.configure({ prefixReuse: on }),
      missingModel: 'no-such-model',
    }, (name, ms) => console.log(`check done in ${Math.round(ms)} ms: ${name}`));
    return { ok: true, checks };
  } finally {
    engine.terminate();
  }
}

/**
 * LoRA adapters through the worker: store picked adapters in the browser
 * (Cache Storage, as the lab does), then load each case and read its logits;
 * a case that fails gives its error text.
 */
async function adapters(cfg: HarnessConfig) {
  const { storeAdapter } = await import('../../workers/adapter-files');
  for (const [name, folder] of Object.entries(cfg.store ?? {})) {
    const get = async (f: string) => new Uint8Array(await (await fetch(`${folder}/${f}`)).arrayBuffer());
    await storeAdapter(name, { config: await get('adapter_config.json'), weights: await get('adapter_model.safetensors') });
  }
  const engine = await WorkerEngine.create('transformers', { transformers: { localModelPath: '/models/', allowRemoteModels: false } });
  const logits: (number[] | string)[] = [];
  try {
    for (const c of cfg.cases ?? []) {
      try {
        await engine.load({ model: c.model, device: cfg.device, dtype: c.dtype, adapter: c.adapter });
        logits.push(await engine.nextTokenLogits(cfg.ids!));
        console.log(`case done: ${c.model} ${c.dtype} ${c.adapter?.id ?? 'base'}`);
      } catch (e) {
        logits.push(e instanceof Error ? e.message : String(e));
      }
    }
  } finally {
    engine.terminate();
  }
  return { ok: true, logits };
}

/**
 * Loads each case's model and scores one decision; a case that fails gives its error text. A case
 * may bring the worker options the app would use (src/app/engine-provider.ts workerOptionsFor);
 * else the model is served under /models/ with no remote fallback.
 */
async function score(cfg: HarnessConfig) {
  const scores: (number[] | string)[] = [];
  for (const c of cfg.cases ?? []) {
    const engine = await WorkerEngine.create('transformers', { transformers: c.transformers ?? { localModelPath: '/models/', allowRemoteModels: false } });
    try {
      await engine.load({ model: c.model, device: cfg.device, dtype: c.dtype });
      scores.push((await engine.scoreChoice(cfg.messages!, ['A', 'B'])).logprobs);
    } catch (e) {
      scores.push(e instanceof Error ? e.message : String(e));
    } finally {
      engine.terminate();
    }
    console.log(`case done: ${c.model} ${c.dtype}`);
  }
  return { ok: true, scores };
}

/** Times the same trials on each build, one fresh worker per build, as the lab runs them. */
async function bench(cfg: HarnessConfig) {
  const out: BuildTiming[] = [];
  for (const dtype of cfg.builds ?? ['fp32']) {
    const engine = await WorkerEngine.create('transformers', {
      transformers: { localModelPath: '/models/', allowRemoteModels: false, ...cfg.transformers },
    });
    try {
      const t0 = performance.now();
      await engine.load({ model: cfg.modelId!, device: 'wasm', dtype });
      const loadMs = performance.now() - t0;
      const timing = await runBenchTrials(engine, cfg.trials!, { dtype, loadMs, runtime: () => engine.runtime() });
      out.push(timing);
      console.log(`bench build done: ${dtype}`);
    } finally {
      engine.terminate();
    }
  }
  return { ok: true, bench: out };
}

/** One large GEMM in ONNX Runtime Web, in a worker as the lab runs models. */
async function gemm(cfg: HarnessConfig) {
  const worker = new Worker(new URL('./gemm.worker.ts', import.meta.url), { type: 'module' });
  try {
    const r = await new Promise<{ flops?: number; error?: string }>((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.postMessage({ threads: cfg.threads ?? 1 });
    });
    if (r.error) throw new Error(r.error);
    return { ok: true, flops: r.flops };
  } finally {
    worker.terminate();
  }
}

/** Loads the first case's model and asks each constrained report in turn. */
async function reports(cfg: HarnessConfig) {
  const c = cfg.cases![0];
  const engine = await WorkerEngine.create('transformers', { transformers: c.transformers ?? { localModelPath: '/models/', allowRemoteModels: false } });
  try {
    await engine.load({ model: c.model, device: cfg.device, dtype: c.dtype });
    const out: { text: string; weights: number[] | null }[] = [];
    for (const ask of cfg.asks ?? []) {
      const r = await engine.report(ask.messages, ask.names, 'constrained');
      out.push({ text: r.text, weights: r.weights });
      console.log(`report done: ${r.text}`);
    }
    return { ok: true, reports: out };
  } finally {
    engine.terminate();
  }
}

function plan() {
  const spec = presetSpec('paper', { model: { id: 'any' }, control: { id: 'other' }, seed: 'node-vs-browser' });
  return { ok: true, plan: serializePlan(buildPlan(spec, builtinScenarioSet('node-vs-browser').scenarios)) };
}

async function main() {
  const cfg = (await (await fetch('/harness-config.json')).json()) as HarnessConfig;
  try {
    const run =
      cfg.mode === 'plan' ? plan() : cfg.mode === 'adapter' ? await adapters(cfg) : cfg.mode === 'score' ? await score(cfg) : cfg.mode === 'bench' ? await bench(cfg) : cfg.mode === 'gemm' ? await gemm(cfg) : cfg.mode === 'reports' ? await reports(cfg) : await conformance(cfg);
    window.__result = { ...run, crossOriginIsolated };
  } catch (e) {
    window.__result = { ok: false, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) };
  }
  document.getElementById('out')!.textContent = JSON.stringify(window.__result, null, 1).slice(0, 4000);
}
void main();
