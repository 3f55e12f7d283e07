import { describe, expect, it } from 'vitest';
import { learnedWeights, pearson } from '../src/lib/analysis';
import { buildPlan } from '../src/lib/experiment/plan';
import { presetSpec, severalModelsSpec } from '../src/lib/experiment/presets';
import { runExperiment, type TrialEvent } from '../src/lib/experiment/runner';
import { runToPaperCsv } from '../src/lib/experiment/run-export';
import { formatValue } from '../src/lib/prompts';
import { resultsInPlanOrder, type DecisionResult } from '../src/lib/experiment/runs';
import { commonSensePrior, parseSimulatedId, SimulatedIdError, simulatedId, simulatedWeights } from '../src/lib/experiment/simulated';
import { SpecError, validateSpec } from '../src/lib/experiment/spec';
import type { TrialContext } from '../src/lib/engine/types';
import { SimulatedEngine } from '../workers/simulated-engine';
import { MemoryStore } from './support/memory-store';
import { newMeta, runSimulated, simulatedProvider } from './support/sim-run';
import { toyScenarios } from './support/toy-scenarios';

const [scenario] = toyScenarios(1);
const target = [100, -60, 30, 0, -20];

async function engine(id: string) {
  const e = new SimulatedEngine();
  await e.load({ model: id });
  return e;
}

function context(trialId: string, a: number[], b: number[], extra: Partial<TrialContext> = {}): TrialContext {
  return { trialId, scenario, target, a, b, ...extra };
}

describe('simulated model ids', () => {
  it('fill defaults, read every parameter, and round-trip', () => {
    expect(parseSimulatedId('sim:bob')).toEqual({ label: 'bob', weights: 'native', access: 1, noise: 20, beta: 10, bias: 0, own: 0.5, steer: 60, follow: 0.5, pnoise: 5, seed: 'bob' });
    const p = parseSimulatedId('sim:t?weights=target&access=0.9&noise=5&beta=4&bias=-1.5&own=0.2&steer=30&follow=0.25&pnoise=2&seed=xyz');
    expect(p).toEqual({ label: 't', weights: 'target', access: 0.9, noise: 5, beta: 4, bias: -1.5, own: 0.2, steer: 30, follow: 0.25, pnoise: 2, seed: 'xyz' });
    expect(parseSimulatedId(simulatedId(p))).toEqual(p);
    expect(simulatedId({ label: 'x', access: 1, noise: 20 })).toBe('sim:x');
  });

  it('refuse bad parameters naming each problem, also in a spec', () => {
    const bad = 'sim:m?access=2&weights=learned&colour=red';
    expect(() => parseSimulatedId(bad)).toThrow(SimulatedIdError);
    try {
      parseSimulatedId(bad);
    } catch (e) {
      expect((e as Error).message).toMatch(/access must be between 0 and 1/);
      expect((e as Error).message).toMatch(/weights must be "target" or "native"/);
      expect((e as Error).message).toMatch(/unknown parameter "colour"/);
    }
    expect(() => parseSimulatedId('sim:?access=1')).toThrow(/needs a label/);
    const spec = presetSpec('classroom', { model: { id: bad } });
    expect(() => validateSpec(spec)).toThrow(SpecError);
    expect(() => validateSpec(presetSpec('simulated', { model: { id: '' } }))).not.toThrow();
  });
});

describe('simulated model behaviour', () => {
  it('shares the common-sense prior between models; native weights deviate from it by their own amount', () => {
    const a = parseSimulatedId('sim:a');
    const b = parseSimulatedId('sim:b');
    const wa = simulatedWeights(a, 'ctx', target);
    const wb = simulatedWeights(b, 'ctx', target);
    const prior = commonSensePrior('ctx', 5);
    expect(wa).not.toEqual(wb);
    expect(pearson(wa, prior)).toBeGreaterThan(0.6);
    expect(simulatedWeights(parseSimulatedId('sim:a?own=0'), 'ctx', target)).toEqual(prior.map((x) => (100 * x) / Math.max(...prior.map(Math.abs))));
    expect(simulatedWeights(parseSimulatedId('sim:a?weights=target'), 'ctx', target)).toEqual(target);
  });

  it('reports A·w + (1 − A)·prior: its own weights at access 1, common sense at access 0 (no noise)', async () => {
    const names = scenario.attributes.map((x) => x.name);
    const knows = await engine('sim:k?weights=target&access=1&noise=0');
    const r1 = await knows.report([], names, 'constrained', context('t/1', target, target));
    expect(r1.weights).toEqual(target);
    expect(JSON.parse(r1.text)).toEqual(Object.fromEntries(names.map((n, i) => [n, target[i]])));
    const blind = await engine('sim:k?weights=target&access=0&noise=0');
    expect((await blind.report([], names, 'free', context('t/1', target, target))).weights).toEqual(commonSensePrior(scenario.id, 5));
    const noisy = await engine('sim:k?weights=target&noise=20');
    const r = await noisy.report([], names, 'constrained', context('t/2', target, target));
    expect(r.weights).not.toEqual(target);
    expect(r.weights!.every((x) => Number.isInteger(x) && x >= -100 && x <= 100)).toBe(true);
    // Seeded by the trial: asking again gives the same report (a resumed run repeats nothing differently).
    expect((await noisy.report([], names, 'constrained', context('t/2', target, target))).weights).toEqual(r.weights);
  });

  it('decides by argmax of P(A); a bias collapses hard choices toward A while P(A) still carries the weights', async () => {
    const base = presetSpec('classroom', { model: { id: 'sim:x' } });
    const plan = buildPlan({ ...base, scenarios: { ...base.scenarios, count: 1 }, decisionsPerScenario: 200 }, [scenario]);
    const biased = await engine('sim:b?weights=target&bias=8');
    const decisions = [];
    for (const t of plan.trials.filter((t) => t.kind === 'decision')) {
      const s = await biased.scoreChoice([], ['A', 'B'], context(t.id, t.a, t.b));
      expect(s.choice).toBe(s.probs[0] >= 0.5 ? 'A' : 'B');
      expect(s.probs[0] + s.probs[1]).toBeCloseTo(1, 12);
      decisions.push({ a: t.a, b: t.b, choice: s.choice as 'A' | 'B', pA: s.probs[0] });
    }
    const shareA = decisions.filter((d) => d.choice === 'A').length / decisions.length;
    expect(shareA).toBeGreaterThan(0.9);
    const soft = learnedWeights(scenario.attributes, decisions, { soft: true, interceptPriorSd: Infinity });
    expect(pearson(soft.weights, target)).toBeGreaterThan(0.99);
  });

  it('needs the trial context and refuses an adapter', async () => {
    const e = await engine('sim:x');
    await expect(e.scoreChoice([], ['A', 'B'])).rejects.toThrow(/trial context/);
    await expect(new SimulatedEngine().load({ model: 'sim:x', adapter: { id: 'lora' } })).rejects.toThrow(/adapter/);
    await expect(new SimulatedEngine().load({ model: 'sim:x?beta=-1' })).rejects.toThrow(/beta must be ≥ 0/);
  });
});

describe('simulated models through the runner', () => {
  const spec = { ...severalModelsSpec('sim test', { scenarios: 3, decisions: 8, reports: 2 }, presetSpec('simulated', { model: { id: '' } }).models.map(({ key: _k, ...m }) => m), { observe: [0, 3] }), seed: 'sim-runner' };

  it('runs every trial; observers run after the pools and are shown the first k pool decisions with the target\'s choices', async () => {
    const events: TrialEvent[] = [];
    const { record, loads } = await runSimulated(spec, { onTrial: (e) => events.push(e) });
    expect(record.status).toBe('done');
    expect(record.results).toHaveLength(record.plan.trials.length);
    expect(record.engines.m1.engine).toBe('simulated');
    // First pass: each model once; second pass: each model again for its observer trials.
    expect(loads).toEqual(['m1', 'm2', 'm3', 'm1', 'm2', 'm3']);
    const order = events.map((e) => e.trial.id);
    const lastPool = Math.max(...order.map((id, i) => (id.startsWith('pool-') ? i : -1)));
    const firstShown = order.findIndex((id) => /-k3\//.test(id));
    expect(firstShown).toBeGreaterThan(lastPool);
    const byId = new Map(record.results.map((r) => [r.trialId, r]));
    const obs = events.find((e) => e.trial.id === 'observe-m2-m1-k3/' + record.plan.scenarios[1].scenario.id + '/001')!;
    const poolTrials = record.plan.trials.filter((t) => t.condition === 'pool-m1' && t.scenarioId === obs.trial.scenarioId).slice(0, 3);
    const text = obs.messages.at(-1)!.content;
    expect(text).toMatch(/^\[OBSERVATION TASK\] Here are 3 decisions a decision-maker made/);
    poolTrials.forEach((t, i) => {
      const block = text.split(`Decision ${i + 1}:\n`)[1].split('\n\nDecision')[0];
      expect(block).toContain(`Chosen: ${(byId.get(t.id) as DecisionResult).choice}`);
      const planned = record.plan.scenarios[1].scenario;
      expect(block).toContain(`A:\n${planned.attributes[0].name}: ${formatValue(t.a[0], planned.attributes[0])}`);
    });
    expect(text).not.toContain('Decision 4:');
    // The k = 0 observer is asked with nothing shown.
    expect(events.find((e) => e.trial.condition === 'observe-m1-m1-k0')!.messages.at(-1)!.content).toContain('[OBSERVATION TASK] No decisions of the decision-maker are shown.\n\n[INTROSPECTION TASK]');
  });

  it('gives the same results after a pause and resume as in one go', async () => {
    const whole = await runSimulated(spec);
    const store = new MemoryStore();
    const controller = new AbortController();
    let n = 0;
    const meta = newMeta(spec);
    const paused = await runExperiment({ meta, store, provider: simulatedProvider(), signal: controller.signal, onTrial: () => ++n === 40 && controller.abort('pause') });
    expect(paused.status).toBe('paused');
    const resumed = await runExperiment({ meta: paused, store, provider: simulatedProvider() });
    expect(resumed.status).toBe('done');
    const sorted = (rs: { trialId: string }[]) => [...rs].sort((a, b) => a.trialId.localeCompare(b.trialId)).map((r) => ({ ...r, ms: 0 }));
    expect(sorted(await store.loadResults(meta.id))).toEqual(sorted(whole.record.results));
  });

  it('says "simulated" in the exported CSVs, which keep the paper\'s columns', async () => {
    const { record } = await runSimulated(spec);
    const files = runToPaperCsv(record);
    const sel = files.find((f) => f.name === 'selections_decide-m2.csv')!.text;
    expect(sel.split('\n')[0]).toMatch(/^model,scenario,selection,A_attribute_1/);
    expect(sel.split('\n')[1]).toContain('sim:native-1?access=0 (simulated)');
    expect(files.find((f) => f.name === 'weight_reports_observe-m1-m2-k3.csv')!.text).toContain('(simulated)');
    expect(resultsInPlanOrder(record)).toHaveLength(record.plan.trials.length);
  });
});
