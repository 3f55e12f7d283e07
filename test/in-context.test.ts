/**
 * In-context introspection training: report conditions whose prompt first
 * shows k correct self-reports for OTHER contexts. Checks the prompts the
 * runner sends: k examples, never the asked context, answers equal to the
 * targets (or the given learned weights), nested across k.
 */
import { describe, expect, it } from 'vitest';
import { buildPlan, resolveScenarios, type ReportTrial } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { introspectionMessages } from '../src/lib/prompts';
import { trialMessages } from '../src/lib/experiment/runner';
import { SpecError, validateSpec, type ExperimentSpec } from '../src/lib/experiment/spec';
import { inContextConditions } from '../src/lib/experiment/in-context';

function spec(ks: number[], extra: Partial<Parameters<typeof inContextConditions>[0]> = {}): ExperimentSpec {
  const base = presetSpec('classroom', { model: { id: 'm' }, seed: 'icl' });
  return {
    ...base,
    scenarios: { source: 'builtin', count: 8 },
    decisionsPerScenario: 4,
    reportsPerScenario: 3,
    conditions: [...base.conditions, ...inContextConditions({ reporter: 'self', about: 'decide', ks, ...extra })],
  };
}

describe('in-context self-report conditions', () => {
  const s = validateSpec(spec([0, 2, 5]));
  const plan = buildPlan(s, resolveScenarios(s));
  const meta = { spec: s, plan };
  const byId = new Map(plan.scenarios.map((p) => [p.scenario.id, p]));

  it('shows k correct self-reports for other contexts, never the asked one', () => {
    for (const k of [0, 2, 5]) {
      const trials = plan.trials.filter((t): t is ReportTrial => t.condition === `in-context-k${k}`);
      expect(trials).toHaveLength(8 * 3);
      for (const t of trials) {
        const asked = byId.get(t.scenarioId)!;
        const msgs = trialMessages(t, asked, meta);
        const answers = msgs.filter((m) => m.role === 'assistant');
        expect(answers).toHaveLength(k);
        expect(msgs.map((m) => m.role)).toEqual(['system', ...Array(k).fill(['user', 'assistant']).flat(), 'user']);
        // The question asked is the paper's introspection prompt for this trial.
        expect(msgs.at(-1)).toEqual(introspectionMessages(asked.scenario, t.a, t.b)[1]);
        const shownIds = t.shown!.map((x) => x.scenarioId);
        expect(new Set(shownIds).size).toBe(k);
        expect(shownIds).not.toContain(t.scenarioId);
        // The asked context's question appears in no example.
        for (const m of msgs.slice(0, -1)) expect(m.content).not.toContain(asked.scenario.question);
        // Each example answer states its context's target weights, keys in order.
        t.shown!.forEach((x, i) => {
          const p = byId.get(x.scenarioId)!;
          expect(msgs[1 + 2 * i].content).toContain(p.scenario.question);
          const stated = JSON.parse(answers[i].content);
          expect(Object.keys(stated)).toEqual(p.scenario.attributes.map((a) => a.name));
          expect(Object.values(stated)).toEqual(p.target);
        });
      }
    }
  });

  it('nests the examples across k (k = 2 shows the first two of k = 5) and keeps the plain conditions unchanged', () => {
    const two = plan.trials.filter((t): t is ReportTrial => t.condition === 'in-context-k2');
    const five = plan.trials.filter((t): t is ReportTrial => t.condition === 'in-context-k5');
    two.forEach((t, i) => expect(t.shown).toEqual(five[i].shown!.slice(0, 2)));
    // A spec without in-context conditions plans the very same trials as before.
    const plain = presetSpec('classroom', { model: { id: 'm' }, seed: 'icl' });
    const p1 = buildPlan({ ...plain, scenarios: { source: 'builtin', count: 8 }, decisionsPerScenario: 4, reportsPerScenario: 3 }, resolveScenarios(s));
    expect(plan.trials.filter((t) => !t.condition.startsWith('in-context'))).toEqual(p1.trials);
    expect(p1.trials.some((t) => 'shown' in t)).toBe(false);
  });

  it("states a finished run's learned weights when asked to", () => {
    const learned = Object.fromEntries(plan.scenarios.map((p) => [p.scenario.id, p.target.map((w, i) => (i === 0 ? 7 : -w))]));
    const ls = validateSpec(spec([3], { answers: 'learned', weights: learned }));
    const lp = buildPlan(ls, resolveScenarios(ls));
    const t = lp.trials.find((x): x is ReportTrial => x.condition === 'in-context-k3')!;
    const answers = trialMessages(t, byId.get(t.scenarioId)!, { spec: ls, plan: lp }).filter((m) => m.role === 'assistant');
    t.shown!.forEach((x, i) => expect(Object.values(JSON.parse(answers[i].content))).toEqual(learned[x.scenarioId]));
  });

  it('refuses bad settings clearly', () => {
    expect(() => validateSpec(spec([-1]))).toThrow(SpecError);
    expect(() => validateSpec(spec([2], { answers: 'learned' }))).toThrow(/examples\.weights must give the learned weights/);
    const big = validateSpec(spec([8]));
    expect(() => buildPlan(big, resolveScenarios(big))).toThrow(/8 in-context examples need 9 contexts/);
  });
});
