/** The lab's form for several models and simulated models (pure app modules, Node). */
import { describe, expect, it } from 'vitest';
import { checkForm, formFromPreset, formFromSpec, specFromForm, trialCount, type ModelChoice } from '../src/app/spec-form';
import { simulatedFromForm } from '../src/app/simulated-models';
import { shortModelName } from '../src/app/format';
import { WorkerEngineProvider } from '../src/app/engine-provider';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { SIMULATED_PRESET_MODELS } from '../src/lib/experiment/presets';
import { validateSpec } from '../src/lib/experiment/spec';

const model = (id: string): ModelChoice => ({ id, device: 'auto', dtype: 'auto' });

describe('several-model presets in the form', () => {
  it('"Simulated models" brings its three simulated models and a valid spec with pools and observers', () => {
    const form = formFromPreset('simulated', model('onnx-community/Qwen2.5-0.5B-Instruct'));
    expect([form.model, form.control, ...form.others!].map((m) => m!.id)).toEqual(SIMULATED_PRESET_MODELS.map((m) => m.id));
    const { spec, problems } = checkForm(form, 100);
    expect(problems).toEqual([]);
    validateSpec(spec);
    expect(spec!.models.map((m) => m.key)).toEqual(['m1', 'm2', 'm3']);
    expect(spec!.conditions.filter((c) => c.kind === 'reports' && c.observe).map((c) => (c.kind === 'reports' ? c.observe!.k : -1))).toContain(20);
    // The trial count the form shows is the plan's (pools count their own size).
    expect(trialCount(spec!, form.scenarioCount)).toBe(buildPlan(spec!, resolveScenarios(spec!)).trials.length);
  });

  it('round-trips a several-model spec through the form', () => {
    const spec = specFromForm(formFromPreset('simulated', model('x')));
    const again = formFromSpec(spec);
    expect(again.preset).toBe('simulated');
    expect(again.others!.map((m) => m.id)).toEqual([SIMULATED_PRESET_MODELS[2].id]);
    expect(specFromForm(again)).toEqual(spec);
  });

  it('"Who knows it best?" needs two or more different models and keeps further ones', () => {
    const one = formFromPreset('who-knows', model('a/one'));
    expect(checkForm(one, 100).problems).toContain('Who knows it best? compares models: choose at least two.');
    const three = formFromPreset('who-knows', model('a/one'), model('b/two'), 'seed', undefined, [model('sim:c?access=0')]);
    const checked = checkForm(three, 100);
    expect(checked.problems).toEqual([]);
    expect(checked.spec!.models.map((m) => m.id)).toEqual(['a/one', 'b/two', 'sim:c?access=0']);
    const twice = { ...three, others: [model('a/one')] };
    expect(checkForm(twice, 100).problems).toContain('Each model can be in the experiment once.');
  });
});

describe('simulated models in the lab', () => {
  it('are made from the form, refused with the reason, and always named "simulated"', () => {
    const made = simulatedFromForm({ label: 'Pat', weights: 'native', access: '0.5', noise: '10', bias: '' });
    expect(made).toEqual({ id: 'sim:Pat?access=0.5&noise=10', label: 'Pat (simulated)' });
    expect(simulatedFromForm({ label: 'Pat', weights: 'native', access: '2', noise: '10', bias: '0' })).toEqual({ error: expect.stringMatching(/access must be between 0 and 1/) });
    expect(simulatedFromForm({ label: ' ', weights: 'target', access: '1', noise: '0', bias: '0' })).toEqual({ error: 'Give the simulated model a name.' });
    expect(shortModelName('sim:trained?weights=target&access=0.9')).toBe('trained (simulated)');
    expect(shortModelName('onnx-community/Qwen2.5-0.5B-Instruct')).toBe('Qwen2.5-0.5B-Instruct');
  });
});

describe('the lab\'s engine provider', () => {
  it('runs a simulated model in the page: no worker, no device probe, no download', async () => {
    let workers = 0, probes = 0;
    const events: string[] = [];
    const provider = new WorkerEngineProvider({
      onEngine: (e) => events.push(`${e.kind} ${e.name}`),
      create: async () => { workers++; throw new Error('no worker expected'); },
      probe: async () => { probes++; throw new Error('no probe expected'); },
    });
    const { engine, caps } = await provider.acquire({ key: 'm1', id: 'sim:trained?weights=target&access=0.9' });
    expect(caps.engine).toBe('simulated');
    expect(caps.choice?.reason).toMatch(/simulated model/i);
    expect([workers, probes]).toEqual([0, 0]);
    // The Run view's engine rows hear of it as of any model, by a name that says "simulated".
    expect(events).toEqual(['planned trained (simulated)', 'loaded trained (simulated)']);
    await expect(engine.scoreChoice([], ['A', 'B'])).rejects.toThrow(/trial context/);
    await provider.releaseAll();
    await expect(provider.acquire({ key: 'm2', id: 'sim:x?access=7' })).rejects.toThrow(/access must be between 0 and 1/);
  });
});
