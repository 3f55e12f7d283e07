/**
 * "Replicate the paper": the reference figures (one module, the paper as
 * source), the step state read back from storage, and each step's matched
 * evaluation — the set's contexts and targets, base + adapter vs the base,
 * marked with the step — including the in-context analogue for Exp 2/3.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEARNED_VS_TARGET, PAPER, paperMarks, paperSelfFigures, preferenceUptake } from '../src/lib/experiment/paper-figures';
import {
  beforeEvaluation,
  evaluatedAdapter,
  inContextK,
  latestStepRun,
  readReplicateState,
  stepForm,
  stepProgress,
  stepCost,
  stepSet,
  trainBaseArg,
  trainCommand,
  MODEL_FOLDER,
  TRAIN_BASES,
} from '../src/app/replicate';
import { labTrainingSets } from '../src/app/training-set';
import { formFromSpec, specFromForm, type ModelChoice } from '../src/app/spec-form';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { parseSpec, SpecError, validateSpec, type ExperimentSpec } from '../src/lib/experiment/spec';
import { FILES } from '../src/lib/training';
import { setFiles } from '../src/app/training-set';
import { zipFiles } from '../src/app/zip';
import { strFromU8, unzipSync } from 'fflate';

const root = join(__dirname, '..');
const base: ModelChoice = { id: '/models/tiny-llama', label: 'tiny-llama', device: 'auto', dtype: 'auto', engine: 'auto' };
const sets = labTrainingSets({ seed: 'rep-test', model: base.id, scenarios: 6, decisions: 4 });

describe('the paper reference figures', () => {
  it('are the paper\'s numbers, per step and per model', () => {
    expect(LEARNED_VS_TARGET).toEqual([0.84, 0.87]);
    expect(paperMarks('exp1', 'self').map((m) => m.value)).toEqual([0.54, 0.5]);
    expect(paperMarks('exp2', 'self').map((m) => m.value)).toEqual([0.74, 0.75]);
    // Exp 3: before introspection training, then after.
    expect(paperMarks('exp3', 'self').map((m) => m.value)).toEqual([0.46, 0.4, 0.71, 0.7]);
    expect(paperMarks('exp3', 'self')[0].label).toBe('paper before training, GPT-4o .46');
    expect(paperMarks('exp2', 'learned-vs-target').map((m) => m.label)).toEqual(['paper, GPT-4o .84', 'paper, GPT-4o-mini .87']);
    expect(PAPER.exp3.before).toEqual([0.46, 0.4]);
  });

  it('say plainly when the preferences did not take', () => {
    expect(preferenceUptake(0.1).verdict).toBe('failed');
    expect(preferenceUptake(0.1).text).toMatch(/^No: learned vs target r = \.10 .*did not instil/);
    expect(preferenceUptake(-0.3).text).toContain('r = -0.30');
    expect(preferenceUptake(0.45).verdict).toBe('partly');
    // Judged as shown: .2966 reads ".30", so "partly", not "No".
    expect(preferenceUptake(0.2966)).toMatchObject({ verdict: 'partly', text: expect.stringContaining('r = .30') });
    expect(preferenceUptake(0.294).verdict).toBe('failed');
    expect(preferenceUptake(0.85).verdict).toBe('took');
    expect(preferenceUptake(NaN).verdict).toBe('unknown');
    expect(preferenceUptake(null).verdict).toBe('unknown');
  });
});

describe('the steps\' state', () => {
  it('reads back what was stored, and falls back on anything else', () => {
    const state = readReplicateState({
      sets: { seed: 's', model: 'm', scenarios: 4, decisions: 3 },
      downloaded: { exp1: '2026-01-01T00:00:00Z', exp9: 'x' },
      adapters: { exp1: 'stored:a', exp2: 7 },
      mode: { exp2: 'in-context', exp3: 'telepathy' },
    });
    expect(readReplicateState(JSON.parse(JSON.stringify(state)))).toEqual(state);
    expect(state).toEqual({
      sets: { seed: 's', model: 'm', scenarios: 4, decisions: 3 },
      downloaded: { exp1: '2026-01-01T00:00:00Z' },
      adapters: { exp1: 'stored:a' },
      mode: { exp2: 'in-context' },
    });
    for (const bad of [null, 'x', 3, { sets: { scenarios: -1, decisions: 1.5 } }])
      expect(readReplicateState(bad)).toEqual({ sets: { seed: 'introspection-lab', model: '', scenarios: 100, decisions: 50 }, downloaded: {}, adapters: {}, mode: {} });
  });

  it('progress: set, adapter, run; the in-context analogue needs no set or adapter', () => {
    const s = readReplicateState({ downloaded: { exp1: 't' }, adapters: { exp1: 'a' }, mode: { exp3: 'in-context' } });
    expect(stepProgress(s, 'exp1', false)).toEqual({ set: true, adapter: true, run: false });
    expect(stepProgress(s, 'exp2', true)).toEqual({ set: false, adapter: false, run: true });
    expect(stepProgress(s, 'exp3', false)).toEqual({ set: true, adapter: true, run: false });
    // The in-context analogue evaluates the instilled (Exp 1) adapter.
    expect(evaluatedAdapter(s, 'exp3')).toBe('a');
    expect(evaluatedAdapter(s, 'exp2')).toBeNull();
  });

  it('finds a step\'s newest run by its spec', () => {
    const run = (id: string, createdAt: string, paperStep?: ExperimentSpec['paperStep']) => ({ id, createdAt, spec: { paperStep } as ExperimentSpec });
    const runs = [run('a', '2026-01-01', 'exp1'), run('b', '2026-01-03', 'exp1'), run('c', '2026-01-04'), run('d', '2026-01-02', 'exp2')];
    expect(latestStepRun(runs, 'exp1')?.id).toBe('b');
    expect(latestStepRun(runs, 'exp2')?.id).toBe('d');
    expect(latestStepRun(runs, 'exp3')).toBeNull();
  });

  it('the training commands are the kit\'s (training/README.md)', () => {
    const readme = readFileSync(join(root, 'training', 'README.md'), 'utf8');
    expect(readme).toContain(trainCommand('exp1', 'Qwen/Qwen2.5-0.5B-Instruct'));
    expect(trainCommand('exp2', 'Qwen/Qwen2.5-0.5B-Instruct')).toBe('python training/train_lora.py --data sets/itrain-first --base Qwen/Qwen2.5-0.5B-Instruct --init-adapter sets/instill/adapter --out sets/itrain-first/adapter');
    expect(trainCommand('exp3', 'Qwen/Qwen2.5-0.5B-Instruct')).toContain('--data sets/itrain-all ');
  });

  it('--base is the PyTorch weights\' Hub id for the chosen model, never a web path or a lab build', () => {
    // The lab's ONNX and MLC builds, and a served folder named like a known model: the upstream Hub id.
    expect(trainBaseArg('onnx-community/Qwen2.5-0.5B-Instruct')).toEqual({ arg: 'Qwen/Qwen2.5-0.5B-Instruct', hub: true, note: null });
    expect(trainBaseArg('Qwen2.5-0.5B-Instruct-q4f16_1-MLC').arg).toBe('Qwen/Qwen2.5-0.5B-Instruct');
    expect(trainBaseArg('/models/SmolLM2-135M-Instruct').arg).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(trainCommand('exp1', 'onnx-community/Qwen2.5-0.5B-Instruct')).toBe(trainCommand('exp1', 'Qwen/Qwen2.5-0.5B-Instruct'));
    // A served SmolLM2 135M folder gets the CPU flags measured for it.
    expect(trainCommand('exp1', '/models/SmolLM2-135M-Instruct')).toBe(trainCommand('exp1', 'HuggingFaceTB/SmolLM2-135M-Instruct'));
    // A folder the lab does not know (here the fixture's): a placeholder, and a note that says what goes there.
    const tiny = trainBaseArg(base.id, base.label);
    expect(tiny.arg).toBe(MODEL_FOLDER);
    expect(tiny.note).toMatch(/^MODEL_FOLDER: the folder where you saved tiny-llama's PyTorch weights/);
    for (const step of ['exp1', 'exp2', 'exp3'] as const) {
      const command = trainCommand(step, base.id);
      expect(command).toContain(`--base ${MODEL_FOLDER} `);
      expect(command).not.toContain('/models/');
    }
    expect(trainBaseArg('sim:{"label":"x"}', 'Simulated x').note).toMatch(/simulated: it has no weights to train/);
    expect(trainBaseArg('').note).toBe('Choose a base model above.');
  });

  it('SmolLM2 135M Instruct: its PyTorch weights, the CPU flags the README measured, the times as a shell comment', () => {
    const readme = readFileSync(join(root, 'training', 'README.md'), 'utf8');
    const exp1 = trainCommand('exp1', 'HuggingFaceTB/SmolLM2-135M-Instruct');
    const [command, comment] = exp1.split('  # ');
    expect(readme).toContain(command);
    expect(command).toContain('--base HuggingFaceTB/SmolLM2-135M-Instruct --device cpu --top-layers');
    expect(comment).toMatch(/CPU.*s per step.*GPU/);
    // Introspection training continues the instilled adapter: its layers, not new flags.
    expect(trainCommand('exp2', 'HuggingFaceTB/SmolLM2-135M-Instruct')).not.toContain('--top-layers');
  });
});

describe('what the sizes cost', () => {
  it('examples, the kit\'s steps, the time where measured, and the evaluation\'s trials as the form counts them', () => {
    const smol = 'HuggingFaceTB/SmolLM2-135M-Instruct';
    // 6 contexts × 4 decisions: Exp 1 trains on all 24 decisions; 3 steps of 8 a epoch, 3 epochs.
    const exp1 = stepCost(stepSet(sets, 'exp1'), 'exp1', base.id);
    expect(exp1).toMatchObject({ train: 24, heldout: stepSet(sets, 'exp1').manifest.lines.heldout, steps: 9, seconds: null });
    // The evaluation: the form's trial count for the set's spec (its contexts, self and control).
    const form = stepForm(stepSet(sets, 'exp1'), 'exp1', { base, adapter: 'a', mode: 'adapter' });
    const spec = validateSpec(specFromForm(form));
    expect(exp1.trials).toBe(buildPlan(spec, resolveScenarios(spec)).trials.length);
    expect(exp1.trials).toBeGreaterThan(0);
    // Sizes change the cost: twice the decisions, twice the examples.
    const bigger = labTrainingSets({ seed: 'rep-test', model: base.id, scenarios: 6, decisions: 8 });
    expect(stepCost(stepSet(bigger, 'exp1'), 'exp1', base.id).train).toBe(48);
    // A base measured here: training steps and held-out checks (before and after) × the measured seconds.
    const measured = stepCost(stepSet(sets, 'exp1'), 'exp1', smol);
    const t = TRAIN_BASES[smol];
    const checks = Math.min(exp1.heldout, 200);
    expect(measured.seconds).toEqual([9 * t.secondsPerStep[0] + 2 * checks * t.secondsPerCheck[0], 9 * t.secondsPerStep[1] + 2 * checks * t.secondsPerCheck[1]]);
    // The numbers match the comment the command prints.
    expect(t.times).toContain(`${t.secondsPerStep[0]}-${t.secondsPerStep[1]} s per step of 8 examples`);
    expect(t.times).toContain(`${t.secondsPerCheck[0]}-${t.secondsPerCheck[1]} s per prompt`);
    // Exp 2 trains on the first half's self-reports: fewer examples than Exp 3 (all).
    const [e2, e3] = [stepCost(stepSet(sets, 'exp2'), 'exp2', base.id), stepCost(stepSet(sets, 'exp3'), 'exp3', base.id)];
    expect(e2.train).toBeLessThan(e3.train);
    expect(e2.steps).toBe(Math.ceil(e2.train / 8) * 3);
  });
});

describe('a step\'s set as one zip', () => {
  it('unzips into the step\'s folder with every file, byte for byte', () => {
    const files = setFiles(stepSet(sets, 'exp1'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    const when = new Date('2026-01-02T03:04:06Z');
    const bytes = zipFiles(files, 'instill', when);
    // A zip: the local file header's signature.
    expect([...bytes.slice(0, 4)]).toEqual([0x50, 0x4b, 0x03, 0x04]);
    const back = unzipSync(bytes);
    expect(Object.keys(back).sort()).toEqual(files.map((f) => `instill/${f.name}`).sort());
    for (const f of files) expect(strFromU8(back[`instill/${f.name}`])).toBe(f.text);
    // Non-ASCII text survives (UTF-8), and the same files and date give the same bytes.
    const odd = [{ name: 'notes.txt', text: 'weights −100..100 ✓ é' }];
    expect(strFromU8(unzipSync(zipFiles(odd, 'x/', when))['x/notes.txt'])).toBe(odd[0].text);
    expect(zipFiles(files, 'instill', when)).toEqual(bytes);
    // No folder: the files at the top.
    expect(Object.keys(unzipSync(zipFiles(odd)))).toEqual(['notes.txt']);
    expect(() => zipFiles([...odd, ...odd], 'x')).toThrow(/Two files named x\/notes.txt/);
  });
});

describe('a step\'s matched evaluation', () => {
  const evalSpec = (step: 'exp1' | 'exp2' | 'exp3') => parseSpec(stepSet(sets, step).files.find((f) => f.name === FILES.evalSpec)!.text);

  it.each(['exp1', 'exp2', 'exp3'] as const)('%s: the set\'s contexts and targets, base + adapter vs the base, the step marked', (step) => {
    const form = stepForm(stepSet(sets, step), step, { base, adapter: 'stored:trained', mode: 'adapter' });
    const spec = validateSpec(specFromForm(form));
    expect(spec.paperStep).toBe(step);
    expect(spec.models.map((m) => [m.key, m.id, m.adapter?.id ?? null])).toEqual([
      ['self', base.id, 'stored:trained'],
      ['control', base.id, null],
    ]);
    const want = evalSpec(step);
    expect(spec.scenarios.ids).toEqual(want.scenarios.ids);
    // The form drops scenarios.targets: the plan must still evaluate against the set's targets.
    const planned = buildPlan(spec, resolveScenarios(spec)).scenarios.map((p) => [p.scenario.id, p.target]);
    expect(planned).toEqual(buildPlan(want, resolveScenarios(want)).scenarios.map((p) => [p.scenario.id, p.target]));
    for (const [id, target] of planned) if (want.scenarios.targets) expect(target).toEqual(want.scenarios.targets[id as string]);
    // The step survives saving the spec and loading it again.
    expect(specFromForm(formFromSpec(parseSpec(JSON.stringify(spec)))).paperStep).toBe(step);
  });

  it('Exp 2 without training: k correct self-reports in context, next to the plain self-report', () => {
    const form = stepForm(stepSet(sets, 'exp2'), 'exp2', { base, adapter: 'stored:instilled', mode: 'in-context' });
    const spec = validateSpec(specFromForm(form));
    const held = evalSpec('exp2').scenarios.ids!;
    const k = inContextK(held.length);
    expect(k).toBe(2);
    const shown = spec.conditions.filter((c) => c.kind === 'reports' && c.examples);
    expect(shown).toEqual([expect.objectContaining({ key: `in-context-k${k}`, reporter: 'self', examples: { k, answers: 'target' } })]);
    expect(spec.conditions.some((c) => c.kind === 'reports' && c.reporter === 'self' && !c.examples)).toBe(true);
    expect(spec.name).toMatch(/in-context analogue/);
    // Loading the spec again keeps the condition.
    expect(specFromForm(formFromSpec(parseSpec(JSON.stringify(spec)))).conditions).toEqual(spec.conditions);
  });

  it('Exp 3 before introspection training: the instilled adapter on the same native contexts, marked .46/.40 (after: .71/.70)', () => {
    const state = readReplicateState({ adapters: { exp1: 'stored:instilled', exp3: 'stored:introspective' } });
    const e = beforeEvaluation(state, base);
    expect(e).toEqual({ base, adapter: 'stored:instilled', mode: 'adapter', phase: 'before' });
    const before = validateSpec(specFromForm(stepForm(stepSet(sets, 'exp3'), 'exp3', e)));
    const after = validateSpec(specFromForm(stepForm(stepSet(sets, 'exp3'), 'exp3', { base, adapter: evaluatedAdapter(state, 'exp3'), mode: 'adapter' })));
    expect([before.paperStep, before.paperPhase, after.paperStep, after.paperPhase]).toEqual(['exp3', 'before', 'exp3', 'after']);
    expect(before.models.map((m) => [m.key, m.adapter?.id ?? null])).toEqual([['self', 'stored:instilled'], ['control', null]]);
    expect(after.models.map((m) => [m.key, m.adapter?.id ?? null])).toEqual([['self', 'stored:introspective'], ['control', null]]);
    expect(before.name).toBe('Exp 3: native contexts before introspection training');
    expect(after.name).toBe('Exp 3: native contexts after introspection training');
    // The same new native contexts as after, none of them Exp 1's: the same plan, trial for trial.
    expect(before.scenarios.ids).toEqual(evalSpec('exp3').scenarios.ids);
    expect(before.scenarios.ids).toEqual(after.scenarios.ids);
    for (const id of before.scenarios.ids!) expect(evalSpec('exp1').scenarios.ids).not.toContain(id);
    expect(buildPlan(before, resolveScenarios(before)).trials.map((t) => t.id)).toEqual(buildPlan(after, resolveScenarios(after)).trials.map((t) => t.id));
    // Marks: the phase's figures only; a spec that does not say (saved before phases) keeps both.
    expect(paperMarks('exp3', 'self', 'before').map((m) => m.value)).toEqual([0.46, 0.4]);
    expect(paperMarks('exp3', 'self', 'after').map((m) => m.value)).toEqual([0.71, 0.7]);
    expect(paperMarks('exp3', 'self').map((m) => m.value)).toEqual([0.46, 0.4, 0.71, 0.7]);
    expect(paperSelfFigures('exp3', 'before')).toEqual([0.46, 0.4]);
    expect(paperSelfFigures('exp3', 'after')).toEqual([0.71, 0.7]);
    // The phase survives saving and loading; other steps have none.
    expect(specFromForm(formFromSpec(parseSpec(JSON.stringify(before)))).paperPhase).toBe('before');
    expect(validateSpec(specFromForm(stepForm(stepSet(sets, 'exp2'), 'exp2', { base, adapter: 'a', mode: 'adapter' }))).paperPhase).toBeUndefined();
    expect(() => stepForm(stepSet(sets, 'exp2'), 'exp2', { base, adapter: 'a', mode: 'adapter', phase: 'before' })).toThrow(/Only Exp 3/);
    // Runs: the before run and the after run are found apart.
    const run = (id: string, createdAt: string, spec: Partial<ExperimentSpec>) => ({ id, createdAt, spec: spec as ExperimentSpec });
    const runs = [run('after', '2026-01-01', { paperStep: 'exp3', paperPhase: 'after' }), run('old', '2026-01-02', { paperStep: 'exp3' }), run('before', '2026-01-03', { paperStep: 'exp3', paperPhase: 'before' })];
    expect(latestStepRun(runs, 'exp3', 'before')?.id).toBe('before');
    expect(latestStepRun(runs, 'exp3')?.id).toBe('old');
  });

  it('a spec with an unknown step is refused with the reason; none means no step', () => {
    const spec = evalSpec('exp1');
    expect(spec.paperStep).toBeUndefined();
    expect(() => validateSpec({ ...spec, paperStep: 'exp4' })).toThrow(SpecError);
    expect(() => validateSpec({ ...spec, paperStep: 'exp4' })).toThrow(/paperStep must be one of exp1, exp2, exp3/);
    expect(() => validateSpec({ ...spec, paperStep: 'exp3', paperPhase: 'during' })).toThrow(/paperPhase must be one of before, after \(got "during"\)/);
    expect(() => validateSpec({ ...spec, paperStep: 'exp1', paperPhase: 'before' })).toThrow(/paperPhase is for paperStep exp3 only/);
    expect(validateSpec({ ...spec, paperStep: 'exp3', paperPhase: 'before' }).paperPhase).toBe('before');
  });
});
