/** Run a spec of simulated models through the real runner into memory: the record, as the lab would store it. */
import { buildPlan, resolveScenarios } from '../../src/lib/experiment/plan';
import { runExperiment, type EngineProvider, type RunOptions } from '../../src/lib/experiment/runner';
import { RUN_FORMAT, RUN_VERSION, type RunMeta, type RunRecord } from '../../src/lib/experiment/runs';
import type { ExperimentSpec } from '../../src/lib/experiment/spec';
import { SimulatedEngine } from '../../workers/simulated-engine';
import { MemoryStore } from './memory-store';

export function simulatedProvider(loads: string[] = []): EngineProvider {
  return {
    async acquire(model) {
      loads.push(model.key);
      const engine = new SimulatedEngine();
      return { engine, caps: await engine.load({ model: model.id }) };
    },
    async releaseAll() {},
  };
}

export function newMeta(spec: ExperimentSpec, id = 'sim-run'): RunMeta {
  const now = new Date().toISOString();
  return { format: RUN_FORMAT, version: RUN_VERSION, id, createdAt: now, updatedAt: now, status: 'running', spec, plan: buildPlan(spec, resolveScenarios(spec)), engines: {} };
}

export async function runSimulated(spec: ExperimentSpec, extra: Partial<RunOptions> = {}): Promise<{ record: RunRecord; store: MemoryStore; loads: string[] }> {
  const store = new MemoryStore();
  const loads: string[] = [];
  const final = await runExperiment({ meta: newMeta(spec), store, provider: simulatedProvider(loads), ...extra });
  return { record: { ...final, results: await store.loadResults(final.id) }, store, loads };
}
