/**
 * Server benchmark: `npm run bench:server [-- BASE_URL MODEL]`. Trials/s of
 * the runner against an OpenAI-compatible server at concurrency 1, 4 and 16,
 * and each as a ratio to concurrency 1, measured in one run. Without
 * arguments it starts llama.cpp's real server (llama-cpp-python from the
 * project venv) on the tiny random GGUF model on 127.0.0.1.
 *
 * Reading the ratios: a server that batches parallel requests (vLLM, SGLang,
 * llama.cpp's C++ server with --parallel N) turns concurrency into
 * throughput; llama-cpp-python's server runs one request at a time behind a
 * lock, so there concurrency only overlaps HTTP and JSON work.
 */
import { buildPlan } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { runExperiment, type EngineProvider } from '../src/lib/experiment/runner';
import { RUN_FORMAT, RUN_VERSION, type RunMeta } from '../src/lib/experiment/runs';
import { resolveScenarios } from '../src/lib/experiment/plan';
import { OpenAIEngine } from '../workers/openai-engine';
import { MemoryStore } from '../test/support/memory-store';
import { startLlamaServer } from '../test/support/llama-server';

const LEVELS = [1, 4, 16];
const REPEATS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function trialsPerSec(baseUrl: string, model: string, concurrency: number, run: number): Promise<number> {
  const spec = { ...presetSpec('classroom', { model: { id: model, engine: 'openai', baseUrl }, seed: `bench-${run}` }), decisionsPerScenario: 12, reportsPerScenario: 2, scenarios: { source: 'builtin' as const, count: 4 } };
  const plan = buildPlan(spec, resolveScenarios(spec));
  const now = new Date().toISOString();
  const meta: RunMeta = { format: RUN_FORMAT, version: RUN_VERSION, id: `bench-${run}`, createdAt: now, updatedAt: now, status: 'running', spec, plan, engines: {} };
  const engine = new OpenAIEngine({ baseUrl });
  const caps = await engine.load({ model });
  const provider: EngineProvider = { acquire: async () => ({ engine, caps }), releaseAll: async () => {} };
  const t0 = performance.now();
  const final = await runExperiment({ meta, store: new MemoryStore(), provider, concurrency });
  const secs = (performance.now() - t0) / 1000;
  if (final.status !== 'done') throw new Error(`bench run ${final.status}: ${final.error}`);
  return plan.trials.length / secs;
}

async function main() {
  const [url, name] = process.argv.slice(2);
  const server = url ? null : await startLlamaServer();
  const baseUrl = url ?? server!.baseUrl;
  const model = name ?? server!.model;
  try {
    await trialsPerSec(baseUrl, model, 4, -1); // warm-up
    const rates: Record<number, number> = {};
    for (const c of LEVELS) {
      const xs: number[] = [];
      for (let r = 0; r < REPEATS; r++) xs.push(await trialsPerSec(baseUrl, model, c, r));
      rates[c] = median(xs);
    }
    console.log(`server ${baseUrl} (${model}${server ? ', llama-cpp-python, tiny random GGUF' : ''}): 56 trials per run (48 decisions, 8 constrained reports), median of ${REPEATS}`);
    for (const c of LEVELS) console.log(`  concurrency ${String(c).padStart(2)}: ${rates[c].toFixed(1)} trials/s  ratio to concurrency 1: ${(rates[c] / rates[1]).toFixed(2)}`);
  } finally {
    await server?.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
