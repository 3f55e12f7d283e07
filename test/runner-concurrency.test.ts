/**
 * Several trials in flight (engines that say they take overlapping calls: the
 * server engine), with the runner's guarantees kept: each completed trial is
 * stored before it counts, a failure or an abort loses only what was in
 * flight, resume runs exactly the rest, never a duplicate. Engines without
 * maxConcurrency still run one call at a time. Against the protocol double.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlan } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { runExperiment, type EngineProvider } from '../src/lib/experiment/runner';
import { RUN_FORMAT, RUN_VERSION, type RunMeta } from '../src/lib/experiment/runs';
import type { Engine } from '../src/lib/engine/types';
import { OpenAIEngine } from '../workers/openai-engine';
import { startFakeServer, type FakeServer } from './support/fake-openai-server';
import { MemoryStore } from './support/memory-store';
import { SimulatedAgent } from './support/simulated-agent';
import { toyScenarios } from './support/toy-scenarios';

const scenarios = toyScenarios(4);
let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeServer({ model: 'served', delayMs: 15 });
});
afterAll(async () => fake?.close());

function setup() {
  const spec = { ...presetSpec('classroom', { model: { id: 'served' }, seed: 'concurrency' }), decisionsPerScenario: 10, reportsPerScenario: 2, scenarios: { source: 'builtin' as const, count: 4 } };
  const plan = buildPlan(spec, scenarios);
  const now = new Date().toISOString();
  const meta: RunMeta = { format: RUN_FORMAT, version: RUN_VERSION, id: 'run-c', createdAt: now, updatedAt: now, status: 'running', spec, plan, engines: {} };
  return { meta, plan, store: new MemoryStore() };
}

function serverProvider(): EngineProvider & { engine: OpenAIEngine } {
  const engine = new OpenAIEngine({ baseUrl: fake.baseUrl, retries: 0 });
  return {
    engine,
    async acquire(model) {
      return { engine, caps: await engine.load({ model: model.id }) };
    },
    async releaseAll() {},
  };
}

const ids = (store: MemoryStore) => store.results.get('run-c')!.map((r) => r.trialId);

describe('runner with several trials in flight', () => {
  it('runs every planned trial exactly once with up to N requests in flight, each stored before it counts', async () => {
    const { meta, plan, store } = setup();
    fake.maxInFlight = 0;
    const storedAtEvent: number[] = [];
    const final = await runExperiment({ meta, store, provider: serverProvider(), concurrency: 4, onTrial: () => storedAtEvent.push(store.results.get('run-c')!.length) });
    expect(final.status).toBe('done');
    expect(ids(store).sort()).toEqual(plan.trials.map((t) => t.id).sort());
    expect(fake.maxInFlight).toBe(4);
    // The k-th trial to count had at least k results stored.
    storedAtEvent.forEach((n, k) => expect(n).toBeGreaterThanOrEqual(k + 1));
    expect(final.engines.self).toMatchObject({ engine: 'openai', maxConcurrency: 64 });
  });

  it('after a server failure keeps what completed, and resume runs exactly the rest', async () => {
    const { meta, plan, store } = setup();
    const provider = serverProvider();
    let calls = 0;
    const first = await runExperiment({
      meta, store, provider, concurrency: 4,
      onTrial: () => {
        if (++calls === 9) fake.faults.status = 500;
      },
    });
    fake.faults.status = 0;
    expect(first.status).toBe('failed');
    expect(first.error).toMatch(/HTTP 500/);
    const kept = ids(store);
    expect(kept.length).toBeGreaterThanOrEqual(9);
    expect(kept.length).toBeLessThan(plan.trials.length);
    const again = await runExperiment({ meta: first, store, provider, concurrency: 4 });
    expect(again.status).toBe('done');
    expect(ids(store)).toHaveLength(plan.trials.length);
    expect(ids(store).sort()).toEqual(plan.trials.map((t) => t.id).sort());
  });

  it('on abort stops starting trials, stores none twice, and resumes to exactly the plan', async () => {
    const { meta, plan, store } = setup();
    const provider = serverProvider();
    const ctl = new AbortController();
    let calls = 0;
    const first = await runExperiment({ meta, store, provider, concurrency: 4, signal: ctl.signal, onTrial: () => ++calls === 6 && ctl.abort('pause') });
    expect(first.status).toBe('paused');
    expect(ids(store).length).toBeLessThan(plan.trials.length);
    const again = await runExperiment({ meta: first, store, provider, concurrency: 4 });
    expect(again.status).toBe('done');
    expect(ids(store).sort()).toEqual(plan.trials.map((t) => t.id).sort());
  });

  it('keeps engines without maxConcurrency to one call at a time', async () => {
    const { meta, plan, store } = setup();
    const weights = Object.fromEntries(plan.scenarios.map((p) => [p.scenario.id, p.target]));
    const agent = new SimulatedAgent({ scenarios, weights, knows: 'self' });
    let now = 0;
    let most = 0;
    const track = <T,>(p: Promise<T>) => {
      most = Math.max(most, ++now);
      return p.finally(() => now--);
    };
    const engine: Engine = Object.assign(Object.create(agent) as Engine, {
      scoreChoice: (m: Parameters<Engine['scoreChoice']>[0], l: string[]) => track(new Promise((r) => setTimeout(r, 2)).then(() => agent.scoreChoice(m, l))),
      report: (m: Parameters<Engine['report']>[0], names: string[], mode: Parameters<Engine['report']>[2]) => track(agent.report(m, names, mode)),
    });
    const provider: EngineProvider = { acquire: async () => ({ engine, caps: await agent.load() }), releaseAll: async () => {} };
    const final = await runExperiment({ meta, store, provider, concurrency: 8 });
    expect(final.status).toBe('done');
    expect(most).toBe(1);
  });
});
