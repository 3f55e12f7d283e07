/**
 * The IndexedDB RunStore (src/app/idb-store.ts) on fake-indexeddb: results
 * are stored before the next trial starts, never twice, a full disk loses
 * nothing, and an interrupted run resumes with exactly the missing trials.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { buildPlan } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { runExperiment, type EngineProvider } from '../src/lib/experiment/runner';
import { RUN_FORMAT, RUN_VERSION, type RunMeta } from '../src/lib/experiment/runs';
import { DB_NAME, describeRunError, IdbRunStore, isQuotaError, StorageFullError } from '../src/app/idb-store';
import { SimulatedAgent } from './support/simulated-agent';
import { toyScenarios } from './support/toy-scenarios';

const scenarios = toyScenarios(3);

function setup(id = 'run-idb') {
  const spec = { ...presetSpec('classroom', { model: { id: 'sim' }, seed: 'idb' }), decisionsPerScenario: 5, reportsPerScenario: 2, scenarios: { source: 'builtin' as const, count: 3 } };
  const plan = buildPlan(spec, scenarios);
  const weights = Object.fromEntries(plan.scenarios.map((p) => [p.scenario.id, p.target]));
  const agent = new SimulatedAgent({ scenarios, weights });
  const provider: EngineProvider = { acquire: async () => ({ engine: agent, caps: await agent.load() }), releaseAll: async () => {} };
  const now = new Date().toISOString();
  const meta: RunMeta = { format: RUN_FORMAT, version: RUN_VERSION, id, createdAt: now, updatedAt: now, status: 'running', spec, plan, engines: {} };
  return { meta, plan, provider };
}

beforeEach(() => {
  // A fresh, empty database for every test.
  globalThis.indexedDB = new IDBFactory();
});

async function storedIds(runId: string): Promise<string[]> {
  // Read through a second connection: what is on "disk", not in a cache.
  const db = await openDB(DB_NAME);
  const rows = await db.getAllFromIndex('results', 'runId', runId);
  db.close();
  return rows.map((r: { trialId: string }) => r.trialId);
}

describe('IdbRunStore', () => {
  it('runs a plan with every result stored before the next trial starts', async () => {
    const store = await IdbRunStore.open();
    const { meta, plan, provider } = setup();
    const seen: Array<[number, number]> = [];
    let n = 0;
    const pending: Promise<void>[] = [];
    const final = await runExperiment({
      meta,
      store,
      provider,
      onTrial: () => {
        const k = ++n;
        pending.push(storedIds(meta.id).then((ids) => void seen.push([k, ids.length])));
      },
    });
    await Promise.all(pending);
    expect(final.status).toBe('done');
    // When a trial is reported, it (and every one before it) is already stored.
    for (const [k, stored] of seen) expect(stored).toBeGreaterThanOrEqual(k);
    expect((await storedIds(meta.id)).sort()).toEqual(plan.trials.map((t) => t.id).sort());
    const record = await store.loadRecord(meta.id);
    expect(record!.status).toBe('done');
    expect(record!.results).toHaveLength(plan.trials.length);
    expect(await store.countResults(meta.id)).toBe(plan.trials.length);
  });

  it('refuses to store the same trial twice', async () => {
    const store = await IdbRunStore.open();
    const r = { trialId: 'decide/x/000', kind: 'decision' as const, choice: 'A' as const, pA: 0.7, labelMass: 1, logprobs: [-0.3, -1.2] as [number, number], basis: 'full' as const, ms: 1 };
    await store.saveResult('run-x', r);
    await expect(store.saveResult('run-x', r)).rejects.toThrow();
    expect(await store.loadResults('run-x')).toEqual([r]);
    // Same trial id in another run is a different record.
    await store.saveResult('run-y', r);
    expect(await store.countResults('run-y')).toBe(1);
  });

  it('pauses and, reopened (a page reload), resumes with exactly the missing trials', async () => {
    let store = await IdbRunStore.open();
    const { meta, plan, provider } = setup();
    const ctrl = new AbortController();
    let k = 0;
    const paused = await runExperiment({ meta, store, provider, signal: ctrl.signal, onTrial: () => ++k === 7 && ctrl.abort('pause') });
    expect(paused.status).toBe('paused');
    store.close();
    store = await IdbRunStore.open();
    const unfinished = await store.unfinishedRuns();
    expect(unfinished.map((m) => [m.id, m.status])).toEqual([[meta.id, 'paused']]);
    expect(await store.countResults(meta.id)).toBe(7);
    const done = await runExperiment({ meta: unfinished[0], store, provider });
    expect(done.status).toBe('done');
    const ids = await storedIds(meta.id);
    expect(ids).toHaveLength(plan.trials.length);
    expect(new Set(ids).size).toBe(plan.trials.length);
    expect(await store.unfinishedRuns()).toEqual([]);
  });

  it('turns a full disk into a clear error, keeps every stored trial, and resumes', async () => {
    const store = await IdbRunStore.open();
    const { meta, plan, provider } = setup();
    const proto = (globalThis as unknown as { IDBObjectStore: { prototype: { add: (...a: unknown[]) => unknown } } }).IDBObjectStore.prototype;
    const add = proto.add;
    let calls = 0;
    proto.add = function (this: unknown, ...args: unknown[]) {
      if (++calls === 6) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return add.apply(this, args);
    };
    let final: RunMeta | Error;
    try {
      final = await runExperiment({ meta, store, provider });
    } finally {
      proto.add = add;
    }
    expect(final.status).toBe('failed');
    expect(describeRunError(final.error)).toBe(new StorageFullError().message);
    expect(describeRunError(final.error)).toMatch(/Every trial finished so far is saved/);
    expect(await storedIds(meta.id)).toHaveLength(5);
    const resumed = await runExperiment({ meta: final, store, provider });
    expect(resumed.status).toBe('done');
    expect((await storedIds(meta.id)).sort()).toEqual(plan.trials.map((t) => t.id).sort());
  });

  it('recognises quota errors by name and message', () => {
    expect(isQuotaError(new DOMException('x', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaError(new StorageFullError())).toBe(true);
    expect(isQuotaError(new Error('boom'))).toBe(false);
    expect(describeRunError('[device_lost] The GPU device was lost.')).toBe('The GPU device was lost.');
    expect(describeRunError(undefined)).toBeUndefined();
  });

  it('lists, imports and deletes runs with their results and summaries', async () => {
    const store = await IdbRunStore.open();
    const a = setup('run-a');
    await runExperiment({ meta: a.meta, store, provider: a.provider });
    const record = (await store.loadRecord('run-a'))!;
    await store.saveSummary({ runId: 'run-a', updatedAt: record.updatedAt, done: record.results.length, headline: null });
    const imported = { ...record, id: 'run-b', createdAt: new Date(Date.now() + 1000).toISOString() };
    await store.importRecord(imported);
    await expect(store.importRecord(imported)).rejects.toThrow(/already in the library/);
    expect((await store.listRuns()).map((m) => m.id)).toEqual(['run-b', 'run-a']);
    expect(await store.countResults('run-b')).toBe(record.results.length);
    await store.deleteRun('run-a');
    expect((await store.listRuns()).map((m) => m.id)).toEqual(['run-b']);
    expect(await store.countResults('run-a')).toBe(0);
    expect(await store.getSummary('run-a')).toBeUndefined();
    expect(await store.countResults('run-b')).toBe(record.results.length);
  });
});
