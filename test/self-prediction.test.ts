/**
 * Issue 18, self-prediction: the condition kind through the runner on simulated
 * models (known access), parsing, metrics and the privileged-access verdict.
 */
import { describe, expect, it } from 'vitest';
import { selfPredictionOf } from '../src/app/self-prediction';
import { choiceMetrics, probabilityMetrics, type PredictionRow } from '../src/lib/analysis/self-prediction';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { runExperiment, trialMessages, type EngineProvider } from '../src/lib/experiment/runner';
import { selfPredictionSpec } from '../src/lib/experiment/presets';
import { simulatedId } from '../src/lib/experiment/simulated';
import { validateSpec, type ExperimentSpec } from '../src/lib/experiment/spec';
import type { PredictionResult } from '../src/lib/experiment/runs';
import type { Engine } from '../src/lib/engine/types';
import { SimulatedEngine } from '../workers/simulated-engine';
import { MemoryStore } from './support/memory-store';
import { newMeta, runSimulated } from './support/sim-run';

const size = { scenarios: 10, decisions: 10 };
const spec = (ids: string[]) => validateSpec(selfPredictionSpec('self-prediction test', size, ids.map((id) => ({ id })), { seed: 'sp-test' }));

async function runWith(s: ExperimentSpec, wrap: (e: SimulatedEngine, key: string) => Engine = (e) => e) {
  const store = new MemoryStore();
  const provider: EngineProvider = {
    async acquire(model) {
      const engine = new SimulatedEngine();
      const caps = await engine.load({ model: model.id });
      return { engine: wrap(engine, model.key), caps };
    },
    async releaseAll() {},
  };
  const final = await runExperiment({ meta: newMeta(s), store, provider });
  expect(final.status).toBe('done');
  return { ...final, results: await store.loadResults(final.id) };
}

describe('self-prediction trials', () => {
  it('predict the same options as the decision trial they name, with the Binder prompts', () => {
    const s = spec([simulatedId({ label: 'a' })]);
    const plan = buildPlan(s, resolveScenarios(s));
    const byId = new Map(plan.trials.map((t) => [t.id, t]));
    const preds = plan.trials.filter((t) => t.kind === 'prediction');
    expect(preds.length).toBe(2 * (1 + 3) * size.scenarios * size.decisions);
    for (const t of preds) {
      if (t.kind !== 'prediction') continue;
      const d = byId.get(t.decision)!;
      expect([d.kind, d.a, d.b]).toEqual(['decision', t.a, t.b]);
    }
    const p = preds.find((t) => t.kind === 'prediction' && t.predict === 'probability' && !t.observe)!;
    const msgs = trialMessages(p, plan.scenarios.find((x) => x.scenario.id === p.scenarioId)!, { spec: s, plan });
    expect(msgs[1].content).toContain('what is the probability, from 0 to 100, that you would answer "A"?');
    const c = preds.find((t) => t.kind === 'prediction' && t.predict === 'choice' && !t.observe)!;
    expect(trialMessages(c, plan.scenarios.find((x) => x.scenario.id === c.scenarioId)!, { spec: s, plan })[1].content).toContain('Suppose you were asked the following. Which option would you choose?');
  });

  it('access 0.9: high r, privileged access shown against the observers and the statistical observer; access 0: not shown', async () => {
    const { record } = await runSimulated(spec([simulatedId({ label: 'knows', access: 0.9 }), simulatedId({ label: 'blind', access: 0 })]));
    const a = selfPredictionOf(record, { resamples: 500 })!;
    const self = a.entries.find((e) => e.self && e.target === 'm1' && e.kind === 'probability')!;
    expect(self.probability!.r).toBeGreaterThan(0.9);
    expect(self.probability!.mae).toBeLessThan(0.1);
    expect(self.probability!.calibration.reduce((n, b) => n + b.n, 0)).toBe(size.scenarios * size.decisions);
    expect(a.entries.filter((e) => e.reporter === 'statistical' && e.target === 'm1').map((e) => [e.kind, e.k])).toEqual([['probability', 5], ['probability', 20], ['choice', 5], ['choice', 20]]);
    const v = (t: string, kind: string) => a.verdicts.find((x) => x.target === t && x.kind === kind)!;
    expect(v('m1', 'probability').verdict).toBe('shown');
    expect(v('m1', 'probability').comparisons.map((c) => c.other)).toContain('statistical');
    expect(v('m2', 'probability').verdict).toBe('not_shown');
    expect(v('m2', 'choice').verdict).toBe('not_shown');
  });

  it('a model that always answers "A" to the choice question gets κ = 0, whatever its accuracy', async () => {
    const s = spec([simulatedId({ label: 'a-sayer', access: 0.9 })]);
    const record = await runWith(s, (e) => {
      const score = e.scoreChoice.bind(e);
      e.scoreChoice = async (m, l, c) => (c?.predict === 'choice' ? { labels: l, probs: [0.9, 0.1], logprobs: [Math.log(0.9), Math.log(0.1)], labelMass: 1, choice: 'A', basis: 'full' } : score(m, l, c));
      return e;
    });
    const self = selfPredictionOf(record, { resamples: 200 })!.entries.find((x) => x.self && x.kind === 'choice')!;
    const actualA = self.rows.filter((r) => r.actualChoice === 'A').length / self.rows.length;
    expect(actualA).toBeGreaterThan(0.1);
    expect(actualA).toBeLessThan(0.9);
    expect(self.choice!.accuracy).toBeCloseTo(actualA, 12);
    expect(self.choice!.kappa).toBe(0);
  });

  it('a probability answer outside 0..100 or not JSON is invalid, said so, and left out of the metrics', async () => {
    const s = spec([simulatedId({ label: 'talker' })]);
    let n = 0;
    const record = await runWith(s, (e) => {
      const report = e.report.bind(e);
      e.report = async (m, names, mode, c) => {
        if (c?.predict !== 'probability') return report(m, names, mode, c);
        const text = ['{"probability": 150}', 'about half', '{"probability": 40}'][n++ % 3];
        const parsed = text.startsWith('{') ? { ok: true as const, weights: [JSON.parse(text).probability] } : { ok: false as const, reason: 'no_json' as const, detail: 'no JSON object' };
        return { mode, text, weights: parsed.ok ? parsed.weights : null, parse: parsed as never };
      };
      return e;
    });
    const preds = record.results.filter((r): r is PredictionResult => r.kind === 'prediction' && r.predict === 'probability');
    expect(preds.filter((r) => r.invalid?.reason === 'out_of_range').length).toBeGreaterThan(0);
    expect(preds.filter((r) => r.invalid?.reason === 'no_json').length).toBeGreaterThan(0);
    for (const r of preds) expect(r.probability === null).toBe(r.invalid !== undefined);
    expect(preds.filter((r) => r.probability === 40).length).toBe(preds.filter((r) => !r.invalid).length);
  });
});

describe('self-prediction metrics', () => {
  const rows = (pairs: [number, number][]): PredictionRow[] => pairs.map(([p, a], i) => ({ scenario: `s${i % 4}`, predicted: p, actualP: a, actualChoice: a >= 0.5 ? 'A' : 'B', predictedChoice: p >= 0.5 ? 'A' : 'B' }));
  it('r, MAE and deciles of probability predictions; accuracy, base rate and κ of choice predictions', () => {
    const r = rows([[0.05, 0.1], [0.15, 0.2], [0.95, 0.9], [0.85, 0.7], [0.55, 0.4], [0.45, 0.6], [0.25, 0.3], [0.75, 0.8]]);
    const m = probabilityMetrics(r, { resamples: 200 });
    expect(m.mae).toBeCloseTo((0.05 + 0.05 + 0.05 + 0.15 + 0.15 + 0.15 + 0.05 + 0.05) / 8, 12);
    expect(m.calibration.map((b) => b.lo)).toEqual([0, 0.1, 0.2, 0.4, 0.5, 0.7, 0.8, 0.9]);
    expect(m.calibration.find((b) => b.lo === 0.9)).toMatchObject({ n: 1, predicted: 0.95, actual: 0.9 });
    const c = choiceMetrics(r, { resamples: 200 });
    // 6 of 8 agree; actual A 4/8, predicted A 4/8: chance 0.5, κ = (0.75 − 0.5) / 0.5.
    expect(c.accuracy).toBe(0.75);
    expect(c.base_rate).toBe(0.5);
    expect(c.kappa).toBeCloseTo(0.5, 12);
  });
});
