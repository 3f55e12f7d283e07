/**
 * `npm run cli -- run`: run an experiment headless with the transformers.js
 * engine on onnxruntime-node, write the run record and the paper's CSVs, and
 * resume an interrupted --out folder without repeating or losing a trial.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { presetSpec, CLI_PRESETS, type PresetName } from '../src/lib/experiment/presets';
import { runExperiment, type EngineProvider, type RunProgress, type TrialEvent } from '../src/lib/experiment/runner';
import { newRunId, RUN_FORMAT, RUN_VERSION, type RunMeta } from '../src/lib/experiment/runs';
import { runToPaperCsv } from '../src/lib/experiment/run-export';
import { parseSpec, type AdapterRef, type ExperimentSpec, type ModelRef } from '../src/lib/experiment/spec';
import { ScenarioFormatError } from '../src/lib/scenarios';
import { importScenarioFile, parseRowRange } from '../src/app/scenario-import';
import { ConditionRates, conditionModels } from '../src/app/progress';
import type { Engine } from '../src/lib/engine/types';
import { TransformersEngine } from '../workers/transformers-engine';
import { OpenAIEngine } from '../workers/openai-engine';
import { SimulatedEngine } from '../workers/simulated-engine';
import { isSimulatedId } from '../src/lib/experiment/simulated';
import { FolderStore } from './folder-store';

export const summary = 'run an experiment headless and write run.json plus the paper CSVs';

/** A mistake in the command line: reported as one line and the usage, never a stack. */
export class UsageError extends Error {}

const HELP = `usage: npm run cli -- run (SPEC.json | --preset classroom|paper|who-knows|simulated|causal|self-prediction) --model ID_OR_DIR --out DIR [options]

  --model ID_OR_DIR     Hugging Face id, local model folder, or a simulated model
                        sim:<label>?weights=target|native&access=A&noise=N&beta=B&bias=C&own=O&seed=S
                        (no download; --preset simulated needs no --model at all)
  --control ID_OR_DIR   a second model asked for the same self-reports (off-the-shelf control;
                        with --preset who-knows, the second model)
  --other ID_OR_DIR     with --preset who-knows, causal or self-prediction: a further model (repeat for more)
  --observe K,K,...     with who-knows / simulated: decisions shown to observers (default 0,5,10,20)
  --adapter ID_OR_DIR   a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) applied
                        to --model (with a spec file: to its first model): the weight-trained model;
                        --control BASE then asks the base model as the off-the-shelf control
  --adapter-scale S     multiply the adapter's own scale (default 1 = as trained)
  --device cpu          Node runs on the CPU (onnxruntime-node); wasm/webgpu run in the browser lab
  --dtype DTYPE         auto | fp32 | fp16 | q8 | q4 | q4f16 (default auto: fp32, the model's own numbers, unless its file is over 4.5 GB)
  --mode MODE           constrained | free self-reports (presets only; default constrained)
  --seed SEED           experiment seed (presets only)
  --scenarios N --decisions N --reports N   resize a preset
  --scenario-file FILE  run a preset on these scenarios instead of the built-in set: a scenario-set
                        JSON file or the paper's scenarios.csv (told apart by content, then extension);
                        the set is stored inline in the spec (docs/scenario-format.md)
  --rows A-B            with a paper CSV: only data rows A..B (1-based; 1-100 = the paper's instilled contexts)
  --out DIR             where run.json, results.jsonl and the CSVs go; an unfinished DIR is resumed
  --engine openai       run on an OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama): --model and
                        --control are then served model names (docs/servers.md); API key from $OPENAI_API_KEY
  --base-url URL        the server's base URL, e.g. http://127.0.0.1:8000/v1 (with --engine openai)
  --concurrency N       trials in flight at once on a server (default 1; the server batches them)`;

function modelRef(idOrDir: string) {
  // A folder that exists is a local model; a sim: id a simulated model; anything else is a Hugging Face id.
  return !isSimulatedId(idOrDir) && existsSync(idOrDir) ? resolve(idOrDir) : idOrDir;
}

/** --adapter / --adapter-scale as the spec's AdapterRef (a folder that exists is made absolute). */
function adapterRef(values: Record<string, string | string[] | boolean | undefined>): AdapterRef | undefined {
  if (values['adapter-scale'] !== undefined && !values.adapter) throw new UsageError('--adapter-scale needs --adapter');
  if (!values.adapter) return undefined;
  const scale = values['adapter-scale'] === undefined ? undefined : Number(values['adapter-scale']);
  if (scale !== undefined && !Number.isFinite(scale)) throw new UsageError(`--adapter-scale must be a number, not ${values['adapter-scale']}`);
  return { id: modelRef(String(values.adapter)), ...(scale === undefined ? {} : { scale }) };
}

async function specFrom(values: Record<string, string | string[] | boolean | undefined>, positional: string[]): Promise<ExperimentSpec> {
  const count = (k: string) => (values[k] === undefined ? undefined : Number(values[k]));
  const adapter = adapterRef(values);
  if (positional[0]) {
    const spec = parseSpec(await readFile(positional[0], 'utf8'));
    const first = (m: ModelRef): ModelRef => ({ ...m, ...(values.model ? { id: modelRef(String(values.model)) } : {}), ...(adapter ? { adapter } : {}) });
    return values.model || adapter ? { ...spec, models: spec.models.map((m, i) => (i === 0 ? first(m) : m)) } : spec;
  }
  const preset = String(values.preset ?? '');
  if (!CLI_PRESETS.includes(preset as PresetName)) throw new UsageError(`give a spec file or --preset ${CLI_PRESETS.join('|')}`);
  if (!values.model && preset !== 'simulated') throw new UsageError('--model is required with --preset');
  const served = values.engine === 'openai';
  const ref = (id: string) => (served ? { id, engine: 'openai' as const, baseUrl: String(values['base-url']) } : { id: modelRef(id), device: 'cpu' as const, dtype: String(values.dtype ?? 'auto') });
  const spec = presetSpec(preset as PresetName, {
    model: { ...ref(String(values.model ?? '')), ...(adapter ? { adapter } : {}) },
    control: values.control ? ref(String(values.control)) : undefined,
    others: ((values.other as string[] | undefined) ?? []).map(ref),
    observe: values.observe === undefined ? undefined : parseKs(String(values.observe)),
    seed: values.seed ? String(values.seed) : undefined,
    mode: values.mode === 'free' ? 'free' : 'constrained',
  });
  if (values['scenario-file']) {
    const file = String(values['scenario-file']);
    const { set } = importScenarioFile(basename(file), await readFile(file, 'utf8'), { rows: parseRowRange(values.rows as string | undefined) });
    // A preset's size is capped at the set's size unless --scenarios asks for more (which the plan refuses).
    const n = count('scenarios') ?? Math.min(spec.scenarios.count ?? set.scenarios.length, set.scenarios.length);
    return {
      ...spec,
      scenarios: { source: 'inline', set, count: n },
      decisionsPerScenario: count('decisions') ?? spec.decisionsPerScenario,
      reportsPerScenario: count('reports') ?? spec.reportsPerScenario,
    };
  }
  return {
    ...spec,
    scenarios: { ...spec.scenarios, count: count('scenarios') ?? spec.scenarios.count },
    decisionsPerScenario: count('decisions') ?? spec.decisionsPerScenario,
    reportsPerScenario: count('reports') ?? spec.reportsPerScenario,
  };
}

function parseKs(text: string): number[] {
  const ks = text.split(',').map((x) => Number(x.trim()));
  if (!ks.length || ks.some((k) => !Number.isInteger(k) || k < 0)) throw new UsageError(`--observe takes whole numbers ≥ 0 separated by commas (got "${text}")`);
  return ks;
}

/** One in-process engine per model key; loading one unloads the previous to bound memory. */
function nodeProvider(device?: string): EngineProvider {
  // An adapterScale intervention asks for the same key at another scale: that is another load.
  let current: { key: string; scale?: number; engine: Engine } | null = null;
  return {
    async acquire(model, onProgress) {
      if (current?.key === model.key && current.scale === model.adapter?.scale) return { engine: current.engine, caps: (await current.engine.capabilities())! };
      await current?.engine.unload();
      if (model.engine === 'openai') {
        const engine = new OpenAIEngine({ baseUrl: model.baseUrl ?? '', apiKey: process.env.OPENAI_API_KEY || undefined });
        const caps = await engine.load({ model: model.id, adapter: model.adapter }, onProgress);
        for (const note of caps.server?.notes ?? []) process.stderr.write(`[${model.key} on ${caps.server?.baseUrl}] ${note}\n`);
        current = { key: model.key, scale: model.adapter?.scale, engine };
        return { engine, caps };
      }
      // A simulated model (sim: id) needs no weights: it is computed, not loaded.
      const engine = isSimulatedId(model.id) ? new SimulatedEngine() : new TransformersEngine({ allowRemoteModels: true });
      const caps = await engine.load({ model: model.id, device: (device ?? model.device ?? 'cpu') as 'cpu', dtype: model.dtype, adapter: model.adapter }, onProgress);
      current = { key: model.key, scale: model.adapter?.scale, engine };
      if (caps.adapterInfo)
        process.stderr.write(`${model.key}: ${model.id} + LoRA adapter ${caps.adapterInfo.id} (scale ${caps.adapterInfo.scale}, sha-256 ${caps.adapterInfo.sha256})\n`);
      return { engine, caps };
    },
    async releaseAll() {
      await current?.engine.unload();
      current = null;
    },
  };
}

function clock(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return '--:--';
  const s = Math.round(sec);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Progress lines on stderr: speed and time left from the recent pace of each kind of trial, loads
 * and warm-up trials left out (the Run view's ConditionRates). At most one line a second on a
 * terminal, one every 10 s in a log (a pipe or a file), and a line whenever the state changes.
 */
function printer(spec: ExperimentSpec) {
  const rates = new ConditionRates();
  const modelOf = conditionModels(spec);
  const every = process.stderr.isTTY ? 1000 : 10_000;
  let last = 0;
  let lastState = '';
  return {
    onTrial: (e: TrialEvent) => rates.record(e.trial.condition, e.trial.kind, e.result.ms, modelOf(e.trial.condition), Date.now()),
    onProgress: (p: RunProgress) => {
      if (p.state === 'loading') rates.gap();
      const now = Date.now();
      const state = p.state === 'loading' ? `loading ${p.model}` : p.state;
      if (state === lastState && now - last < every && p.done !== p.total) return;
      last = now;
      lastState = state;
      const pace = rates.overall(rates.rows(p, modelOf));
      const phase = p.state === 'loading' ? `${state}${p.load?.progress !== undefined ? ` ${Math.round(p.load.progress * 100)}%` : ''}` : p.state;
      process.stderr.write(`[${phase}] ${p.done}/${p.total} trials · ${pace.perSec.toFixed(1)} trials/s · ETA ${clock(pace.etaSec)}${pace.guessed ? '*' : ''}\n`);
    },
  };
}

/** specFrom, with scenario-file problems printed (every location and message) instead of thrown. */
async function specOrReport(values: Record<string, string | string[] | boolean | undefined>, positional: string[]): Promise<ExperimentSpec | null> {
  try {
    return await specFrom(values, positional);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      return null;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n\n${HELP}\n`);
      return null;
    }
    if (!(e instanceof ScenarioFormatError)) throw e;
    const lines = e.problems.map((p) => `  - ${p.location}: ${p.message}`);
    process.stderr.write(`error: ${values['scenario-file'] ?? 'the scenario file'} cannot be used (${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}\n`);
    return null;
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      preset: { type: 'string' }, model: { type: 'string' }, control: { type: 'string' }, device: { type: 'string' },
      dtype: { type: 'string' }, mode: { type: 'string' }, seed: { type: 'string' }, scenarios: { type: 'string' },
      decisions: { type: 'string' }, reports: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' },
      'scenario-file': { type: 'string' }, rows: { type: 'string' },
      engine: { type: 'string' }, 'base-url': { type: 'string' }, concurrency: { type: 'string' },
      other: { type: 'string', multiple: true }, observe: { type: 'string' },
      adapter: { type: 'string' }, 'adapter-scale': { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!values.out) {
    process.stderr.write(`error: --out DIR is required\n\n${HELP}\n`);
    return 2;
  }
  if (values.device && values.device !== 'cpu') {
    process.stderr.write(`error: --device ${values.device} runs in the browser lab (npm run dev); the CLI runs on the CPU with onnxruntime-node\n`);
    return 2;
  }
  if (values.engine !== undefined && values.engine !== 'openai') {
    process.stderr.write(`error: --engine ${values.engine}: the CLI runs transformers.js by default, or --engine openai with --base-url\n`);
    return 2;
  }
  if ((values.engine === 'openai') !== (values['base-url'] !== undefined)) {
    process.stderr.write(`error: --engine openai and --base-url URL go together\n`);
    return 2;
  }
  const concurrency = values.concurrency === undefined ? 1 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(`error: --concurrency must be a whole number ≥ 1\n`);
    return 2;
  }
  if (values.rows !== undefined && !values['scenario-file']) {
    process.stderr.write(`error: --rows needs --scenario-file\n`);
    return 2;
  }
  if (values['scenario-file'] && positionals[0]) {
    process.stderr.write(`error: --scenario-file goes with --preset; a spec file names its own scenarios\n`);
    return 2;
  }
  const store = new FolderStore(resolve(String(values.out)));
  let meta: RunMeta;
  const stored = await store.readRecord();
  if (stored) {
    const { results, ...rest } = stored;
    meta = rest;
    if (positionals[0] || values.preset) {
      const asked = await specOrReport(values, positionals);
      if (!asked) return 2;
      if (JSON.stringify(asked) !== JSON.stringify(stored.spec)) {
        process.stderr.write(`error: ${store.dir} holds a different experiment; use another --out folder\n`);
        return 2;
      }
    }
    process.stderr.write(`Resuming ${meta.id}: ${results.length}/${meta.plan.trials.length} trials already done.\n`);
  } else {
    const spec = await specOrReport(values, positionals);
    if (!spec) return 2;
    const plan = buildPlan(spec, resolveScenarios(spec));
    const now = new Date();
    meta = { format: RUN_FORMAT, version: RUN_VERSION, id: newRunId(now, spec.seed), createdAt: now.toISOString(), updatedAt: now.toISOString(), status: 'running', spec, plan, engines: {} };
  }

  const controller = new AbortController();
  const onSignal = () => controller.abort('pause');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const provider = nodeProvider();
  let final: RunMeta;
  try {
    final = meta.status === 'done' ? meta : await runExperiment({ meta, store, provider, signal: controller.signal, ...printer(meta.spec), concurrency });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await provider.releaseAll();
  }
  const record = (await store.readRecord())!;
  for (const { name, text } of runToPaperCsv(record)) await writeFile(join(store.dir, name), text);
  const line = `${final.status}: ${record.results.length}/${record.plan.trials.length} trials in ${store.dir}`;
  process.stderr.write(`${line}${final.error ? ` — ${final.error}` : ''}\n`);
  return final.status === 'done' ? 0 : final.status === 'paused' ? 130 : 1;
}
