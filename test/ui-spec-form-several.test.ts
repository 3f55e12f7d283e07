/**
 * A spec of several models (observers, example pools) loaded into the lab's
 * form runs as loaded: every model, every condition and the observers' k values
 * survive the form, and the plan's trials are the same.
 */
import { describe, expect, it } from 'vitest';
import { formFromSpec, specFromForm } from '../src/app/spec-form';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { presetSpec, severalModelsSpec, SIMULATED_PRESET_MODELS } from '../src/lib/experiment/presets';
import { validateSpec } from '../src/lib/experiment/spec';

describe('several-models specs in the experiment form', () => {
  it('the fixture model and two simulated models with observers at 0, 2, 4: the same conditions and trials after the form', () => {
    const spec = severalModelsSpec('PA fixture', { scenarios: 3, decisions: 6, reports: 1 }, [{ id: '/models/tiny-llama', device: 'wasm' }, ...SIMULATED_PRESET_MODELS.slice(0, 2)], {
      seed: 's',
      observe: [0, 2, 4],
    });
    const form = formFromSpec(validateSpec(spec));
    expect(form.preset).toBe('who-knows');
    expect([form.model.id, form.control?.id, ...(form.others ?? []).map((m) => m.id)]).toEqual(spec.models.map((m) => m.id));
    expect(form.observe).toEqual([0, 2, 4]);
    const back = validateSpec(specFromForm(form));
    expect(back.name).toBe('PA fixture');
    expect(back.models.map((m) => [m.key, m.id, m.label])).toEqual(spec.models.map((m) => [m.key, m.id, m.label]));
    expect(back.conditions).toEqual(spec.conditions);
    const ids = (s: typeof spec) => buildPlan(s, resolveScenarios(s)).trials.map((t) => t.id);
    expect(ids(back)).toEqual(ids(spec));
  });

  it('a self + control spec still loads as before (two models, no observers)', () => {
    const spec = presetSpec('classroom', { model: { id: 'a/b' }, control: { id: 'c/d' } });
    const form = formFromSpec(spec);
    expect(form.preset).toBe('classroom');
    expect(form.others ?? []).toEqual([]);
    expect(form.observe).toBeUndefined();
    expect(specFromForm(form).conditions).toEqual(spec.conditions);
  });
});
