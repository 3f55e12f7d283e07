/** Example pools and observer conditions in specs and plans. */
import { describe, expect, it } from 'vitest';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { severalModelsSpec } from '../src/lib/experiment/presets';
import { exampleTrialIds } from '../src/lib/experiment/observers';
import { observationMessages, PAPER_PROMPTS, renderChoice } from '../src/lib/prompts';
import { validateSpec, type ExperimentSpec } from '../src/lib/experiment/spec';

const models = [{ id: 'sim:a' }, { id: 'sim:b' }];
const size = { scenarios: 3, decisions: 6, reports: 2 };

describe('example pools and observers', () => {
  it('leave every other trial as it was, and draw pool options from their own stream', () => {
    const withObservers = { ...severalModelsSpec('x', size, models, { seed: 's', observe: [0, 5] }), counterbalance: false };
    const without = { ...withObservers, conditions: withObservers.conditions.filter((c) => !c.key.startsWith('pool-') && !c.key.startsWith('observe-')) };
    const a = buildPlan(withObservers, resolveScenarios(withObservers));
    const b = buildPlan(without, resolveScenarios(without));
    const byId = new Map(a.trials.map((t) => [t.id, t]));
    for (const t of b.trials) expect(byId.get(t.id)).toEqual(t);
    const pool = a.trials.filter((t) => t.condition === 'pool-m1');
    expect(pool).toHaveLength(3 * 5);
    const decide = a.trials.find((t) => t.condition === 'decide-m1' && t.index === 0 && t.scenarioId === pool[0].scenarioId)!;
    expect(pool[0].a).not.toEqual(decide.a);
    expect(pool.every((t) => t.kind === 'decision' && t.pool === true)).toBe(true);
    const obs = a.trials.find((t) => t.condition === 'observe-m2-m1-k5')!;
    expect(obs.kind === 'report' && exampleTrialIds(obs)).toEqual([0, 1, 2, 3, 4].map((i) => `pool-m1/${obs.scenarioId}/00${i}`));
  });

  it('are checked: the pool must exist, hold the target\'s decisions and be large enough', () => {
    const base = severalModelsSpec('x', size, models, { observe: [0, 5] });
    const withCondition = (patch: object): ExperimentSpec => ({ ...base, conditions: [...base.conditions, { kind: 'reports', key: 'extra', reporter: 'm1', about: 'decide-m1', mode: 'constrained', ...patch } as ExperimentSpec['conditions'][number]] });
    expect(() => validateSpec(base)).not.toThrow();
    expect(() => validateSpec(withCondition({ observe: { pool: 'pool-m1', k: 6 } }))).toThrow(/more than the pool's 5 decisions/);
    expect(() => validateSpec(withCondition({ observe: { pool: 'pool-m2', k: 2 } }))).toThrow(/holds decisions of "m2", but the reports are about "m1"/);
    expect(() => validateSpec(withCondition({ observe: { pool: 'decide-m1', k: 2 } }))).toThrow(/must name a decisions condition with a pool size/);
    expect(() => validateSpec(withCondition({ about: 'pool-m1' }))).toThrow(/is an example pool/);
    expect(() => validateSpec(withCondition({ observe: { k: 3 } }))).toThrow(/needs a "pool"/);
    expect(() => validateSpec(withCondition({ observe: { k: 0 } }))).not.toThrow();
  });

  it('ask about "that decision-maker" after a transcript of the shown decisions', () => {
    const spec = severalModelsSpec('x', size, models, {});
    const { scenario } = buildPlan(spec, resolveScenarios(spec)).scenarios[0];
    const a = scenario.attributes.map((x) => x.min);
    const b = scenario.attributes.map((x) => x.max);
    const [, user] = observationMessages(scenario, a, b, [{ a, b, choice: 'B' }], PAPER_PROMPTS);
    expect(user.content).toMatch(/^\[OBSERVATION TASK\] Here is a decision a decision-maker made/);
    expect(user.content).toContain('Decision 1:');
    expect(user.content).toContain('Chosen: B');
    expect(user.content).toContain('how heavily you believe that decision-maker weighted each of the five dimensions');
    // The question and the choice itself come last, as in the paper's introspection prompt.
    expect(user.content.endsWith(`(Do not report a decision itself.):\n\n${renderChoice(scenario, a, b)}`)).toBe(true);
  });
});
