import { describe, expect, it } from 'vitest';
import { buildPlan } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { runExperiment, trialMessages, type EngineProvider, type TrialEvent } from '../src/lib/experiment/runner';
import { RUN_FORMAT, RUN_VERSION, type RunMeta } from '../src/lib/experiment/runs';
import { EngineError } from '../src/lib/engine/types';
import { SimulatedAgent } from './support/simulated-agent';
import { MemoryStore } from './support/memory-store';
import { toyScenarios } from './support/toy-scenarios';

const scenarios = toyScenarios(4);

function setup(opts: { failOnCall?: { n: number; error: Error } } = {}) {
  const spec = { ...presetSpec('classroom', { model: { id: 'sim-self' }, control: { id: 'sim-blind' }, seed: 'runner' }), decisionsPerScenario: 6, reportsPerScenario: 2, scenarios: { source: 'builtin' as const, count: 4 } };
  const plan = buildPlan(spec, scenarios);
  const weights = Object.fromEntries(plan.scenarios.map((p) => [p.scenario.id, p.target]));
  const agents = {
    self: new SimulatedAgent({ scenarios, weights, knows: 'self', failOnCall: opts.failOnCall }),
    control: new SimulatedAgent({ scenarios, weights, knows: 'blind' }),
  };
  const loads: string[] = [];
  const provider: EngineProvider = {
    async acquire(model) {
      loads.push(model.key);
      const engine = agents[model.key as 'self' | 'control'];
      return { engine, caps: await engine.load() };
    },
    async releaseAll() {},
  };
  const now = new Date().toISOString();
  const meta: RunMeta = { format: RUN_FORMAT, version: RUN_VERSION, id: 'run-1', createdAt: now, updatedAt: now, status: 'running', spec, plan, engines: {} };
  return { meta, plan, provider, agents, loads, store: new MemoryStore() };
}

const ids = (store: MemoryStore) => store.results.get('run-1')!.map((r) => r.trialId);

describe('runner', () => {
  it('runs every planned trial once, loading each model once, and records engines', async () => {
    const { meta, plan, provider, store, loads } = setup();
    const progress: number[] = [];
    const final = await runExperiment({ meta, store, provider, onProgress: (p) => progress.push(p.done) });
    expect(final.status).toBe('done');
    expect(ids(store).sort()).toEqual(plan.trials.map((t) => t.id).sort());
    expect(loads).toEqual(['self', 'control']);
    expect(final.engines.self.model).toBe('simulated-agent');
    expect(progress.at(-1)).toBe(plan.trials.length);
    expect(store.metas.get('run-1')!.status).toBe('done');
  });

  it('reports each trial with the messages that trial was run on', async () => {
    const { meta, plan, provider, store } = setup();
    const events: TrialEvent[] = [];
    await runExperiment({ meta, store, provider, onTrial: (e) => events.push(e) });
    expect(events).toHaveLength(plan.trials.length);
    for (const e of events) {
      const planned = plan.scenarios.find((p) => p.scenario.id === e.trial.scenarioId)!;
      expect(e.messages).toEqual(trialMessages(e.trial, planned, meta));
    }
  });

  it('stores decisions with P(A) and reports with weights', async () => {
    const { meta, provider, store } = setup();
    await runExperiment({ meta, store, provider });
    const rs = store.results.get('run-1')!;
    const d = rs.find((r) => r.kind === 'decision')!;
    expect(d.kind === 'decision' && d.pA).toBeGreaterThanOrEqual(0);
    const r = rs.find((x) => x.kind === 'report')!;
    expect(r.kind === 'report' && r.weights).toHaveLength(5);
  });

  it('pauses on abort and resumes with exactly the missing trials', async () => {
    const { meta, plan, provider, store } = setup();
    const ctrl = new AbortController();
    let seen = 0;
    const paused = await runExperiment({ meta, store, provider, signal: ctrl.signal, onTrial: () => ++seen === 10 && ctrl.abort('pause') });
    expect(paused.status).toBe('paused');
    expect(ids(store)).toHaveLength(10);
    const resumed = await runExperiment({ meta: paused, store, provider });
    expect(resumed.status).toBe('done');
    expect(ids(store)).toHaveLength(plan.trials.length);
    expect(new Set(ids(store)).size).toBe(plan.trials.length);
  });

  it('fails with a readable error on engine failure, keeps finished trials, and resumes', async () => {
    const { meta, plan, provider, store } = setup({ failOnCall: { n: 7, error: new Error('GPUDeviceLost: device was lost') } });
    const failed = await runExperiment({ meta, store, provider });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/GPU device was lost/);
    expect(ids(store)).toHaveLength(6);
    const resumed = await runExperiment({ meta: failed, store, provider });
    expect(resumed.status).toBe('done');
    expect(ids(store).sort()).toEqual(plan.trials.map((t) => t.id).sort());
  });

  it('loses nothing when storage fails (storage full): the unsaved trial reruns', async () => {
    const { meta, plan, provider, store } = setup();
    let n = 0;
    const orig = store.saveResult.bind(store);
    store.saveResult = async (id, r) => {
      if (++n === 5) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return orig(id, r);
    };
    const failed = await runExperiment({ meta, store, provider });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^Could not store the trial result \(The quota has been exceeded\.\)/);
    expect(ids(store)).toHaveLength(4);
    store.saveResult = orig;
    await runExperiment({ meta: failed, store, provider });
    expect(ids(store).sort()).toEqual(plan.trials.map((t) => t.id).sort());
  });

  it('refuses stored results that are not in the plan', async () => {
    const { meta, provider, store } = setup();
    await store.saveResult('run-1', { trialId: 'alien/x/000', kind: 'decision', choice: 'A', pA: 1, labelMass: 1, logprobs: [0, -9], basis: 'full', ms: 1 });
    const r = await runExperiment({ meta, store, provider }).catch((e) => e);
    expect(String(r)).toMatch(/not a trial of this plan/);
  });

  it('rebuilds engine errors from their transferred message', () => {
    const e = EngineError.from(new Error(new EngineError('out_of_memory', 'wasm').message));
    expect(e.code).toBe('out_of_memory');
    expect(EngineError.from(new Error('Failed to fetch model: 404 Not Found')).code).toBe('model_not_found');
  });
});
