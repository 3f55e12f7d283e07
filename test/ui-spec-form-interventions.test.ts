/**
 * The causal and self-prediction presets in the page's Experiment form (issue 18,
 * item 5): picking them builds exactly the spec `presetSpec` (and so `cli run
 * --preset`) builds for the same models, and a loaded spec with interventions or
 * predictions keeps them through the form: rebuilt where the form builds that
 * shape, otherwise run as loaded (`form.loaded`, which the form shows).
 */
import { describe, expect, it } from 'vitest';
import { checkForm, formFromPreset, formFromSpec, isPresetUnchanged, specFromForm, trialCount, type ModelChoice } from '../src/app/spec-form';
import { CAUSAL_SCALES, PRESETS, presetSpec } from '../src/lib/experiment/presets';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { parseSpec, SPEC_FORMAT, SPEC_VERSION, validateSpec, type ExperimentSpec } from '../src/lib/experiment/spec';
import { simulatedId } from '../src/lib/experiment/simulated';

const choice = (id: string, extra: Partial<ModelChoice> = {}): ModelChoice => ({ id, device: 'auto', dtype: 'auto', ...extra });
/** The model ref the form writes for a choice (engine and device spelled out). */
const ref = (id: string, extra: object = {}) => ({ id, engine: 'auto' as const, device: 'auto' as const, ...extra });
const adapter = { id: 'lora-target', url: 'https://example.org/lora-target' };
const trialIds = (s: ExperimentSpec) => buildPlan(s, resolveScenarios(s)).trials.map((t) => t.id);
/** Through JSON and the validator, as a saved or shared spec comes back. */
const reload = (s: ExperimentSpec) => parseSpec(JSON.stringify(s));

describe('the causal and self-prediction presets in the form', () => {
  it('both are on the page\'s preset picker', () => {
    expect(PRESETS).toContain('causal');
    expect(PRESETS).toContain('self-prediction');
  });

  it('causal, one model: the form\'s spec is presetSpec\'s (baseline and steer, no scale series); a control from before is dropped', () => {
    const form = formFromPreset('causal', choice('a/b'), choice('c/d'), 's1');
    expect(form.control).toBeNull();
    expect(isPresetUnchanged(form)).toBe(true);
    const spec = specFromForm(form);
    expect(spec).toEqual(presetSpec('causal', { model: ref('a/b'), seed: 's1' }));
    expect(spec.models.map((m) => m.id)).toEqual(['a/b']);
    expect(spec.conditions.filter((c) => c.kind === 'decisions').map((c) => c.key)).toEqual(['decide-m1', 'decide-m1-steer']);
    expect(checkForm(form, 146)).toEqual({ spec, problems: [] });
    expect(trialCount(spec, form.scenarioCount)).toBe(trialIds(spec).length);
  });

  it('causal with an adapter: the scale series 0, .25, .5, 1 too, as presetSpec builds it', () => {
    const form = formFromPreset('causal', choice('a/b', { adapter }));
    const spec = specFromForm(form);
    expect(spec).toEqual(presetSpec('causal', { model: ref('a/b', { adapter }), seed: 'introspection-lab' }));
    const scales = spec.conditions.flatMap((c) => (c.kind === 'decisions' && c.intervention?.adapterScale !== undefined ? [c.intervention.adapterScale] : []));
    expect(scales).toEqual([...CAUSAL_SCALES]);
    expect(checkForm(form, 146).problems).toEqual([]);
  });

  it('self-prediction: the model and the other models as observers give presetSpec\'s spec (no counterbalance field, like the preset)', () => {
    const form = formFromPreset('self-prediction', choice('a/b'), choice('c/d'), 's2', undefined, [choice('e/f')]);
    expect(isPresetUnchanged(form)).toBe(true);
    const spec = specFromForm(form);
    expect(spec).toEqual(presetSpec('self-prediction', { model: ref('a/b'), control: ref('c/d'), others: [ref('e/f')], seed: 's2' }));
    expect(spec.counterbalance).toBeUndefined();
    expect(spec.conditions.filter((c) => c.kind === 'predictions')).toHaveLength(2 * 3 * (1 + 3 * 3));
    expect(checkForm(form, 146)).toEqual({ spec, problems: [] });
    expect(trialCount(spec, form.scenarioCount)).toBe(trialIds(spec).length);
  });

  it('self-prediction with one model is a valid experiment (it predicts itself and observes itself)', () => {
    const form = formFromPreset('self-prediction', choice('a/b'));
    const spec = specFromForm(form);
    expect(spec).toEqual(presetSpec('self-prediction', { model: ref('a/b') }));
    expect(checkForm(form, 146).problems).toEqual([]);
  });

  it('the form\'s sizes apply to the new presets as to the others', () => {
    const form = formFromPreset('causal', choice('a/b'));
    form.decisionsPerScenario = 6;
    form.reportsPerScenario = 2;
    form.scenarioCount = 3;
    expect(isPresetUnchanged(form)).toBe(false);
    const spec = validateSpec(specFromForm(form));
    expect([spec.decisionsPerScenario, spec.reportsPerScenario, spec.scenarios.count]).toEqual([6, 2, 3]);
    expect(spec.conditions).toEqual(presetSpec('causal', { model: ref('a/b') }).conditions);
  });
});

describe('loaded specs with interventions or predictions keep them through the form', () => {
  it('a causal preset spec (with an adapter) comes back as the causal form and gives the same spec and trials', () => {
    const spec = presetSpec('causal', { model: ref('a/b', { adapter }), seed: 'x' });
    const form = formFromSpec(reload(spec));
    expect(form.preset).toBe('causal');
    expect(form.loaded).toBeUndefined();
    const back = validateSpec(specFromForm(form));
    expect(back).toEqual(spec);
    expect(trialIds(back)).toEqual(trialIds(spec));
  });

  it('a self-prediction spec of three models with its own k values comes back as the self-prediction form, k values kept', () => {
    const spec = presetSpec('self-prediction', { model: ref('a/b'), control: ref('c/d'), others: [ref('e/f')], seed: 'y', observe: [0, 3] });
    spec.decisionsPerScenario = 4;
    const form = formFromSpec(reload(spec));
    expect(form.preset).toBe('self-prediction');
    expect(form.loaded).toBeUndefined();
    expect(form.observe).toEqual([0, 3]);
    expect([form.model.id, form.control?.id, ...(form.others ?? []).map((m) => m.id)]).toEqual(['a/b', 'c/d', 'e/f']);
    const back = validateSpec(specFromForm(form));
    expect(back).toEqual(spec);
    expect(trialIds(back)).toEqual(trialIds(spec));
  });

  it('a causal spec of two models (cli --other) is not a shape the form builds: it runs as loaded, nothing dropped', () => {
    const spec = presetSpec('causal', { model: ref('a/b'), others: [ref('c/d')], seed: 'z' });
    const form = formFromSpec(reload(spec));
    expect(form.preset).toBe('causal');
    expect(form.loaded).toBeDefined();
    const back = validateSpec(specFromForm(form));
    expect(back.models).toEqual(spec.models);
    expect(back.conditions).toEqual(spec.conditions);
    expect(trialIds(back)).toEqual(trialIds(spec));
    expect(checkForm(form, 146).problems).toEqual([]);
  });

  it('a hand-written spec with a stated intervention and a prediction condition runs as loaded; the form\'s sizes and seed still apply', () => {
    const sim = simulatedId({ label: 'hand', weights: 'target', access: 0.5 });
    const spec: ExperimentSpec = validateSpec({
      format: SPEC_FORMAT,
      version: SPEC_VERSION,
      name: 'Hand-written',
      seed: 'h',
      scenarios: { source: 'builtin', count: 2 },
      decisionsPerScenario: 4,
      reportsPerScenario: 1,
      models: [{ key: 'self', id: sim }],
      conditions: [
        { kind: 'decisions', key: 'decide', model: 'self' },
        { kind: 'decisions', key: 'decide-stated', model: 'self', intervention: { stated: 'random' } },
        { kind: 'reports', key: 'report-stated', reporter: 'self', about: 'decide-stated', mode: 'free' },
        { kind: 'predictions', key: 'predict', reporter: 'self', about: 'decide', predict: 'probability', mode: 'free', perScenario: 2 },
      ],
    });
    const form = formFromSpec(reload(spec));
    expect(form.loaded).toBeDefined();
    expect(form.mode).toBe('free');
    expect(validateSpec(specFromForm(form))).toEqual(spec);
    form.decisionsPerScenario = 6;
    form.seed = 'h2';
    const edited = validateSpec(specFromForm(form));
    expect(edited.conditions).toEqual(spec.conditions);
    expect(edited.models).toEqual(spec.models);
    expect([edited.decisionsPerScenario, edited.seed]).toEqual([6, 'h2']);
    expect(checkForm(form, 146).problems).toEqual([]);
  });

  it('a preset chosen afterwards starts over: no loaded conditions left', () => {
    expect(formFromPreset('causal', choice('a/b')).loaded).toBeUndefined();
  });
});
