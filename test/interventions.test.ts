/** Issue 18, interventions: in the spec, the plan, the prompts, the runner's loads, and the simulated models' ground truth. */
import { describe, expect, it } from 'vitest';
import { buildPlan, resolveScenarios, serializePlan, type Trial } from '../src/lib/experiment/plan';
import { runExperiment, trialMessages, type EngineProvider } from '../src/lib/experiment/runner';
import { SPEC_FORMAT, SPEC_VERSION, SpecError, validateSpec, type Condition, type ExperimentSpec, type ModelRef } from '../src/lib/experiment/spec';
import { commonSensePrior, parseSimulatedId, simulatedId, simulatedReport, simulatedWeights } from '../src/lib/experiment/simulated';
import { PAPER_PROMPTS, STEER_PROMPT } from '../src/lib/prompts';
import { SimulatedEngine } from '../workers/simulated-engine';
import { newMeta } from './support/sim-run';
import { MemoryStore } from './support/memory-store';

function spec(conditions: Condition[], models: ModelRef[] = [{ key: 'm', id: simulatedId({ label: 'm', weights: 'target' }) }], extra: Partial<ExperimentSpec> = {}): ExperimentSpec {
  return { format: SPEC_FORMAT, version: SPEC_VERSION, name: 'iv', seed: 'iv-seed', scenarios: { source: 'builtin', count: 6 }, decisionsPerScenario: 4, reportsPerScenario: 2, models, conditions, ...extra };
}
const base: Condition[] = [
  { kind: 'decisions', key: 'd', model: 'm' },
  { kind: 'reports', key: 'r', reporter: 'm', about: 'd', mode: 'constrained' },
];
const steered: Condition[] = [
  { kind: 'decisions', key: 'ds', model: 'm', intervention: { steer: { attribute: 'random', direction: 1 } } },
  { kind: 'reports', key: 'rs', reporter: 'm', about: 'ds', mode: 'constrained' },
];
const plan = (s: ExperimentSpec) => buildPlan(validateSpec(s), resolveScenarios(s));

describe('interventions in the spec and the plan', () => {
  it('leave a spec without interventions planning exactly as before, and the baseline trials unchanged by an added intervened condition', () => {
    const before = plan(spec(base));
    expect(serializePlan(before)).not.toContain('intervention');
    const withSteer = plan(spec([...base, ...steered]));
    const baseTrials = withSteer.trials.filter((t) => t.condition === 'd' || t.condition === 'r');
    expect(JSON.stringify(baseTrials)).toBe(JSON.stringify(before.trials));
  });

  it('carry the decision condition\'s intervention onto the reports about it, with the random attribute seeded per scenario', () => {
    const p = plan(spec([...base, ...steered, { kind: 'decisions', key: 'ds2', model: 'm', intervention: { steer: { attribute: 'random', direction: -1 } } }]));
    const of = (c: string) => p.trials.filter((t) => t.condition === c);
    for (const t of of('rs')) {
      const d = of('ds').find((x) => x.scenarioId === t.scenarioId)!;
      expect(t.intervention).toEqual(d.intervention);
    }
    // Same scenario → same steered attribute in every condition; the attributes differ across scenarios.
    for (const t of of('ds2')) expect(t.intervention!.steer!.attribute).toBe(of('ds').find((x) => x.scenarioId === t.scenarioId)!.intervention!.steer!.attribute);
    expect(new Set(of('ds').map((t) => t.intervention!.steer!.attribute)).size).toBeGreaterThan(1);
    expect(of('d').every((t) => t.intervention === undefined)).toBe(true);
    // Stated target weights are the scenario's targets.
    const st = plan(spec([{ kind: 'decisions', key: 'dt', model: 'm', intervention: { stated: 'target', adapterScale: 0.5 } }]));
    for (const t of st.trials) {
      expect(t.intervention!.stated).toEqual(st.scenarios.find((s) => s.scenario.id === t.scenarioId)!.target);
      expect(t.intervention!.adapterScale).toBe(0.5);
    }
  });

  it('refuse bad interventions, naming each problem', () => {
    const bad = spec([
      { kind: 'decisions', key: 'a', model: 'm', intervention: { steer: { attribute: 'x' as unknown as number, direction: 2 as 1 } } },
      { kind: 'decisions', key: 'b', model: 'n', intervention: { adapterScale: 0.5 } },
      { kind: 'decisions', key: 'c', model: 'm', intervention: { stated: 'mine' as 'target', colour: 1 } as never },
      { kind: 'reports', key: 'r', reporter: 'm', about: 'a', mode: 'constrained', intervention: { stated: 'target' } },
    ], [{ key: 'm', id: simulatedId({ label: 'm', weights: 'target' }) }, { key: 'n', id: 'HuggingFaceTB/SmolLM2-135M-Instruct' }]);
    try {
      validateSpec(bad);
      expect.unreachable();
    } catch (e) {
      const p = (e as SpecError).problems.join('\n');
      for (const s of ['intervention.steer must be', 'adapterScale needs a model with an adapter', 'intervention.stated must be', 'unknown field "colour"', 'differs from that of "a"']) expect(p).toContain(s);
    }
    expect(() => validateSpec(spec(base, undefined, { prompts: { ...PAPER_PROMPTS, steer: 'no placeholder' } }))).toThrow(/steer prompt/);
  });
});

describe('interventions in the prompts', () => {
  const s = spec([...base, ...steered, { kind: 'decisions', key: 'dt', model: 'm', intervention: { stated: 'target' } }]);
  const p = plan(s);
  const meta = { spec: s, plan: p };
  const msgs = (t: Trial, sp = s) => trialMessages(t, p.scenarios.find((x) => x.scenario.id === t.scenarioId)!, { ...meta, spec: sp });

  it('add the (editable) steering sentence to the system prompt of decisions and of the reports about them', () => {
    for (const c of ['ds', 'rs']) {
      const t = p.trials.find((x) => x.condition === c)!;
      const attr = p.scenarios.find((x) => x.scenario.id === t.scenarioId)!.scenario.attributes[t.intervention!.steer!.attribute];
      const sentence = STEER_PROMPT.replace('{{attribute}}', attr.name).replace('{{direction}}', 'higher');
      expect(msgs(t)[0]).toEqual({ role: 'system', content: `${PAPER_PROMPTS.system} ${sentence}` });
      const plainUser = msgs(p.trials.find((x) => x.condition === c[0] && x.scenarioId === t.scenarioId && x.index === t.index)!)[1];
      expect(msgs(t)[1]).toEqual(plainUser);
      const edited = { ...s, prompts: { ...PAPER_PROMPTS, steer: 'Mind {{attribute}} ({{direction}}).' } };
      expect(msgs(t, edited)[0].content).toBe(`${PAPER_PROMPTS.system} Mind ${attr.name} (higher).`);
    }
    expect(msgs(p.trials.find((x) => x.condition === 'd')!)[0].content).toBe(PAPER_PROMPTS.system);
  });

  it('give the stated self-description before the decision prompt', () => {
    const t = p.trials.find((x) => x.condition === 'dt')!;
    const ps = p.scenarios.find((x) => x.scenario.id === t.scenarioId)!;
    const user = msgs(t)[1].content;
    expect(user.startsWith('When you make this decision, you weight the attributes as follows: {')).toBe(true);
    expect(user).toContain(`"${ps.scenario.attributes[0].name}":${Math.round(ps.target[0])}`);
    expect(user.endsWith(msgs(p.trials.find((x) => x.condition === 'd' && x.scenarioId === t.scenarioId && x.index === t.index)!)[1].content)).toBe(true);
  });
});

describe('adapterScale through the runner', () => {
  it('loads the model\'s adapter at each scale once, the model\'s own scale for unintervened trials', async () => {
    const s = spec(
      [{ kind: 'decisions', key: 'd', model: 'm' }, ...[0, 0.5, 1].map((x, i): Condition => ({ kind: 'decisions', key: `s${i}`, model: 'm', intervention: { adapterScale: x } }))],
      [{ key: 'm', id: 'some/model', adapter: { id: 'some/adapter', scale: 1 } }],
    );
    const loads: (number | undefined)[] = [];
    const seen: [string, number | undefined][] = [];
    const provider: EngineProvider = {
      async acquire(model) {
        loads.push(model.adapter?.scale);
        const engine = new SimulatedEngine();
        await engine.load({ model: simulatedId({ label: 'm' }) });
        const scale = model.adapter?.scale;
        const score = engine.scoreChoice.bind(engine);
        engine.scoreChoice = async (m, l, c) => (seen.push([c!.trialId, scale]), score(m, l, c));
        return { engine, caps: (await engine.capabilities())! };
      },
      async releaseAll() {},
    };
    const final = await runExperiment({ meta: newMeta(validateSpec(s)), store: new MemoryStore(), provider });
    expect(final.status).toBe('done');
    expect(loads).toEqual([1, 0, 0.5, 1]);
    for (const [id, scale] of seen) expect(scale).toBe({ d: 1, s0: 0, s1: 0.5, s2: 1 }[id.split('/')[0]]);
  });
});

describe('simulated models under interventions (ground truth)', () => {
  const target = [100, -40, 20, 0, -70];
  const attrs = target.map(() => ({ min: 0, max: 1 }));
  const p = parseSimulatedId(simulatedId({ label: 'x', weights: 'target', access: 0.9, noise: 0 }));

  it('steering moves the steered weight by `steer` (default 60), in either direction, and by nothing at steer=0', () => {
    expect(simulatedWeights(p, 's', target, { steer: { attribute: 3, direction: 1 } })).toEqual([100, -40, 20, 60, -70]);
    expect(simulatedWeights(p, 's', target, { steer: { attribute: 1, direction: -1 } })).toEqual([100, -100, 20, 0, -70]);
    expect(simulatedWeights({ ...p, steer: 0 }, 's', target, { steer: { attribute: 1, direction: -1 } })).toEqual(target);
  });

  it('stated weights pull the weights by `follow`; adapterScale runs from native (0) to the target (1)', () => {
    const v = [0, 0, 0, 100, 0];
    expect(simulatedWeights({ ...p, follow: 0.25 }, 's', target, { stated: v })).toEqual(target.map((x, i) => x + 0.25 * (v[i] - x)));
    const native = simulatedWeights({ ...p, weights: 'native' }, 's', target);
    expect(simulatedWeights(p, 's', target, { adapterScale: 0 })).toEqual(native);
    expect(simulatedWeights(p, 's', target, { adapterScale: 1 })).toEqual(target);
    simulatedWeights(p, 's', target, { adapterScale: 0.5 }).forEach((w, i) => expect(w).toBeCloseTo((native[i] + target[i]) / 2, 12));
  });

  it('the self-report follows the moved weights in proportion to access', () => {
    const iv = { steer: { attribute: 3, direction: 1 as const } };
    const prior = commonSensePrior('s', 5);
    for (const access of [0, 0.5, 0.9]) {
      const r = simulatedReport({ ...p, access }, { trialId: 't', scenarioId: 's', attributes: attrs, target, intervention: iv });
      const moved = simulatedWeights(p, 's', target, iv);
      expect(r).toEqual(moved.map((w, i) => Math.max(-100, Math.min(100, Math.round(access * w + (1 - access) * prior[i])))));
    }
  });
});
