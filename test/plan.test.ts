import { describe, expect, it } from 'vitest';
import { buildPlan, PlanError, serializePlan } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { parseSpec, SpecError, validateSpec, type ExperimentSpec } from '../src/lib/experiment/spec';
import { toyScenarios } from './support/toy-scenarios';

function spec(over: Partial<ExperimentSpec> = {}): ExperimentSpec {
  return { ...presetSpec('classroom', { model: { id: 'm' }, control: { id: 'c' }, seed: 'plan-test' }), ...over };
}

describe('experiment spec', () => {
  it('accepts the presets', () => {
    expect(() => validateSpec(spec())).not.toThrow();
    expect(() => validateSpec(presetSpec('paper', { model: { id: 'x' } }))).not.toThrow();
    expect(presetSpec('paper', { model: { id: 'x' } })).toMatchObject({ decisionsPerScenario: 50, reportsPerScenario: 10, scenarios: { count: 100 } });
  });

  it('lists every problem with a clear message', () => {
    const bad = { ...spec(), version: 2, seed: '', decisionsPerScenario: -1, conditions: [{ kind: 'reports', key: 'r', reporter: 'nobody', about: 'nothing', mode: 'loud' }] };
    try {
      validateSpec(bad);
      expect.unreachable();
    } catch (e) {
      const p = (e as SpecError).problems.join('\n');
      for (const s of ['version 2 is not supported', 'seed', 'decisionsPerScenario', 'reporter "nobody"', 'about "nothing"', 'mode must be']) expect(p).toContain(s);
    }
    expect(() => parseSpec('{nope')).toThrow(/not valid JSON/);
  });
});

describe('trial plan', () => {
  const scenarios = toyScenarios(12);

  it('plans every condition × scenario × index with stable unique ids', () => {
    const plan = buildPlan(spec(), scenarios);
    expect(plan.scenarios).toHaveLength(10);
    // The preset counterbalances: every decision pair also shown swapped.
    expect(plan.trials).toHaveLength(10 * 30 * 2 + 10 * 5 * 2);
    expect(new Set(plan.trials.map((t) => t.id)).size).toBe(plan.trials.length);
    expect(plan.trials[0].id).toBe('decide/thing_0/000');
  });

  it('is deterministic for a seed and changes with it', () => {
    expect(serializePlan(buildPlan(spec(), scenarios))).toBe(serializePlan(buildPlan(spec(), scenarios)));
    expect(serializePlan(buildPlan(spec({ seed: 'other' }), scenarios))).not.toBe(serializePlan(buildPlan(spec(), scenarios)));
  });

  it('keeps a trial fixed when trial counts or scenario counts change', () => {
    const small = buildPlan(spec({ decisionsPerScenario: 3 }), scenarios);
    const big = buildPlan(spec({ decisionsPerScenario: 40, scenarios: { source: 'builtin', count: 12 } }), scenarios);
    const t = small.trials.find((x) => x.id === 'decide/thing_4/002')!;
    expect(big.trials.find((x) => x.id === t.id)).toEqual(t);
    expect(big.scenarios[4].target).toEqual(small.scenarios[4].target);
  });

  it('shows self and control reporters the same options (paired by design)', () => {
    const plan = buildPlan(spec(), scenarios);
    const self = plan.trials.find((t) => t.id === 'self-report/thing_3/001')!;
    const control = plan.trials.find((t) => t.id === 'control-report/thing_3/001')!;
    expect([control.a, control.b]).toEqual([self.a, self.b]);
  });

  it('uses given target weights and picks scenarios by id', () => {
    const s = spec({ scenarios: { source: 'builtin', ids: ['thing_7', 'thing_2'], targets: { thing_7: [1, 2, 3, 4, 100] } } });
    const plan = buildPlan(s, scenarios);
    expect(plan.scenarios.map((p) => p.scenario.id)).toEqual(['thing_7', 'thing_2']);
    expect(plan.scenarios[0].target).toEqual([1, 2, 3, 4, 100]);
    expect(() => buildPlan(spec({ scenarios: { source: 'builtin', ids: ['nope'] } }), scenarios)).toThrow(PlanError);
    expect(() => buildPlan(spec({ scenarios: { source: 'builtin', count: 99 } }), scenarios)).toThrow(/asks for 99/);
  });

  it('counterbalances: each decision pair is followed by the same pair swapped, with its own stable id', () => {
    const plan = buildPlan(spec(), scenarios);
    const first = plan.trials.find((t) => t.id === 'decide/thing_2/007')!;
    const swapped = plan.trials.find((t) => t.id === 'decide/thing_2/007-swapped')!;
    expect(plan.trials.indexOf(swapped)).toBe(plan.trials.indexOf(first) + 1);
    expect(swapped).toEqual({ ...first, id: 'decide/thing_2/007-swapped', a: first.b, b: first.a, swapped: true });
    expect(first).not.toHaveProperty('swapped');
    // Reports are not doubled.
    expect(plan.trials.filter((t) => t.id.endsWith('-swapped')).every((t) => t.kind === 'decision')).toBe(true);
    expect(() => validateSpec({ ...spec(), counterbalance: 'yes' })).toThrow(/counterbalance must be true or false/);
  });

  it('a spec without the option (saved before it existed) plans exactly the trials it planned then', () => {
    const { counterbalance: _, ...old } = spec();
    const plain = buildPlan(validateSpec(old), scenarios);
    expect(plain.trials.some((t) => t.kind === 'decision' && t.swapped)).toBe(false);
    expect(serializePlan(plain)).toBe(serializePlan(buildPlan(spec({ counterbalance: false }), scenarios)));
    // Counterbalancing only adds trials: the sampled ones are unchanged, in the same order.
    const balanced = buildPlan(spec(), scenarios).trials.filter((t) => !(t.kind === 'decision' && t.swapped));
    expect(JSON.stringify(balanced)).toBe(JSON.stringify(plain.trials));
    expect(plain.trials).toHaveLength(10 * 30 + 10 * 5 * 2);
  });
});
