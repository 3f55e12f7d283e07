/**
 * "Replicate the paper": Exp 1 → 2 → 3 as steps. Each step has a training set
 * (from the lab's builders), the kit's one training command (training/README.md),
 * an adapter, and the matched evaluation: the set's eval spec with the chosen
 * base model + adapter and the base as the off-the-shelf control, marked with
 * the step (`paperStep`) so its results carry the paper's figures. Exp 2 and 3
 * also have the no-training analogue: the instilled model shown k correct
 * self-reports in context. Pure: the state is plain JSON the store keeps in
 * localStorage; runs are found by their spec's step, so they need no copy here.
 */
import { parseSpec, type ExperimentSpec } from '../lib/experiment/spec';
import type { BuiltSet } from '../lib/training';
import { FILES } from '../lib/training';
import { PAPER_STEPS, type PaperPhase, type PaperStep } from '../lib/experiment/paper-figures';
import type { RunMeta } from '../lib/experiment/runs';
import { formFromSpec, specFromForm, trialCount, type ModelChoice, type SpecForm } from './spec-form';
import { labTrainingSets, type LabSetOptions } from './training-set';
import { isSimulatedId } from '../lib/experiment/simulated';
import { webllmFamilyOf } from '../lib/models/webllm-catalog';

/** How a step's self-reports are made: a trained adapter, or (Exp 2/3) examples in the context. */
export type StepMode = 'adapter' | 'in-context';

export interface ReplicateState {
  /** Sizes and seed of the sets (the base model is the set's `model`). */
  sets: LabSetOptions;
  /** When each step's set was downloaded (ISO time). */
  downloaded: Partial<Record<PaperStep, string>>;
  /** The adapter each step evaluates: its id (served folder, Hub id or stored:NAME). */
  adapters: Partial<Record<PaperStep, string>>;
  mode: Partial<Record<PaperStep, StepMode>>;
}

export const DEFAULT_SETS: LabSetOptions = { seed: 'introspection-lab', model: '', scenarios: 100, decisions: 50 };

/** A stored state, whatever its shape (an old or hand-edited one): unknown parts fall back to the defaults. */
export function readReplicateState(raw: unknown): ReplicateState {
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const sets = (typeof o.sets === 'object' && o.sets !== null ? o.sets : {}) as Record<string, unknown>;
  const count = (v: unknown, d: number) => (Number.isInteger(v) && (v as number) >= 1 ? (v as number) : d);
  const perStep = <T>(v: unknown, ok: (x: unknown) => x is T): Partial<Record<PaperStep, T>> => {
    const m = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    return Object.fromEntries(PAPER_STEPS.filter((s) => ok(m[s])).map((s) => [s, m[s] as T]));
  };
  const isString = (x: unknown): x is string => typeof x === 'string' && x.length > 0;
  return {
    sets: {
      seed: isString(sets.seed) ? sets.seed : DEFAULT_SETS.seed,
      model: typeof sets.model === 'string' ? sets.model : '',
      scenarios: count(sets.scenarios, DEFAULT_SETS.scenarios),
      decisions: count(sets.decisions, DEFAULT_SETS.decisions),
    },
    downloaded: perStep(o.downloaded, isString),
    adapters: perStep(o.adapters, isString),
    mode: perStep(o.mode, (x): x is StepMode => x === 'adapter' || x === 'in-context'),
  };
}

/** Which lab set a step trains on: Exp 1 the instilling set; Exp 2 the first half's self-reports (tested on the last); Exp 3 all. */
export function stepSet(sets: ReturnType<typeof labTrainingSets>, step: PaperStep): BuiltSet {
  return step === 'exp1' ? sets.instill : step === 'exp2' ? sets.introspect.first : sets.introspect.all;
}

/** Folder names the commands use for each step's set. */
export const SET_FOLDER: Record<PaperStep, string> = { exp1: 'instill', exp2: 'itrain-first', exp3: 'itrain-all' };

/**
 * Bases the kit has been run with on this project's machines (training/README.md, docs/real-models.md):
 * the Hub id of the PyTorch weights to train, the flags that suit a CPU, and the measured time per step.
 */
export interface TrainBase {
  pytorch: string;
  /** Extra flags for instilling (Exp 1); introspection training keeps the instilled adapter's layout. */
  instillFlags: string;
  /** Shown after the command, as a shell comment. */
  times: string;
  /** The same measurements as numbers (low, high): seconds per training step of `KIT.batch` examples, and per held-out check. */
  secondsPerStep: [number, number];
  secondsPerCheck: [number, number];
}

/** The kit's defaults (training/train_lora.py): examples per step, epochs, held-out checks at most. */
export const KIT = { batch: 8, epochs: 3, evalLimit: 200 } as const;

export const TRAIN_BASES: Record<string, TrainBase> = {
  'HuggingFaceTB/SmolLM2-135M-Instruct': {
    pytorch: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    instillFlags: '--device cpu --top-layers 10 --rank 16 --dropout 0 --lr 3e-4',
    // Measured with training/real-exp1.sh: 2.4 s a step idle (top 10 layers), 4-5 s beside other work or with
    // every layer adapted; on a machine loaded ~10 deep it was 25-80 s.
    times: 'CPU (2 cores, measured): 2.4-5 s per step of 8 examples, held-out checks 0.2-0.6 s per prompt; 5-15x that on a busy machine; GPU: not measured here',
    secondsPerStep: [2.4, 5],
    secondsPerCheck: [0.2, 0.6],
  },
};

/** The placeholder the command shows where the lab does not know the model's PyTorch weights. */
export const MODEL_FOLDER = 'MODEL_FOLDER';

/**
 * What the kit's `--base` gets for a lab model: the Hub id of its PyTorch weights where the lab
 * knows them (a catalog model, its ONNX or MLC build, or a served folder named like one);
 * otherwise MODEL_FOLDER and a note saying what to put there. The lab's own builds (ONNX, MLC,
 * a served web folder) cannot be trained by the kit, so they are never passed as they are.
 */
export function trainBaseArg(base: string, label = base): { arg: string; hub: boolean; note: string | null } {
  if (!base) return { arg: MODEL_FOLDER, hub: false, note: 'Choose a base model above.' };
  if (isSimulatedId(base)) return { arg: MODEL_FOLDER, hub: false, note: `${label} is simulated: it has no weights to train. Choose a real model above.` };
  const hub = TRAIN_BASES[base]?.pytorch ?? webllmFamilyOf(base)?.upstream;
  if (hub) return { arg: hub, hub: true, note: null };
  return {
    arg: MODEL_FOLDER,
    hub: false,
    note: `${MODEL_FOLDER}: the folder where you saved ${label}'s PyTorch weights (config.json and safetensors), or their Hub id. The lab's copy (ONNX or MLC files) cannot be trained.`,
  };
}

/** The kit's one command (training/README.md): Exp 2/3 continue the instilled adapter. */
export function trainCommand(step: PaperStep, base: string): string {
  const dir = `sets/${SET_FOLDER[step]}`;
  const { arg } = trainBaseArg(base);
  const known = TRAIN_BASES[arg];
  const init = step === 'exp1' ? '' : ` --init-adapter sets/${SET_FOLDER.exp1}/adapter`;
  const flags = known ? ' ' + (step === 'exp1' ? known.instillFlags : '--device cpu') : '';
  const command = `python training/train_lora.py --data ${dir} --base ${arg}${init}${flags} --out ${dir}/adapter`;
  return known ? `${command}  # ${known.times}` : command;
}

/** What a step's sizes cost: the set's examples, the kit's training steps, the time where it was measured, the evaluation's trials. */
export interface StepCost {
  train: number;
  heldout: number;
  /** Training steps with the kit's defaults (batch 8, 3 epochs). */
  steps: number;
  /** Training plus held-out checks, low and high, for a base measured here (TRAIN_BASES); null otherwise. */
  seconds: [number, number] | null;
  /** Trials of the matched evaluation (base + adapter and the base off the shelf), as the experiment form counts them. */
  trials: number;
}

export function stepCost(set: BuiltSet, step: PaperStep, base: string): StepCost {
  const { train, heldout } = set.manifest.lines;
  const steps = Math.ceil(train / KIT.batch) * KIT.epochs;
  const known = TRAIN_BASES[trainBaseArg(base).arg];
  const checks = Math.min(heldout, KIT.evalLimit);
  // The kit checks the held-out set before and after training.
  const seconds = known ? ([0, 1].map((i) => steps * known.secondsPerStep[i] + 2 * checks * known.secondsPerCheck[i]) as [number, number]) : null;
  const form = stepForm(set, step, { base: { id: base || 'MODEL', label: base, device: 'auto', dtype: 'auto', engine: 'auto' }, adapter: 'adapter', mode: 'adapter' });
  const trials = trialCount(specFromForm(form), form.scenarioIds.length || form.scenarioCount);
  return { train, heldout, steps, seconds, trials };
}

/** In-context analogue: how many correct self-reports to show, leaving at least one other context. */
export function inContextK(contexts: number): number {
  return Math.max(1, Math.min(5, contexts - 1));
}

export interface StepEvaluation {
  base: ModelChoice;
  /** The adapter of the evaluated model: the step's (mode adapter) or the instilled one (in-context). */
  adapter: string | null;
  mode: StepMode;
  /** Exp 3 only: 'before' evaluates the instilled adapter on the same native contexts; absent = 'after'. */
  phase?: PaperPhase;
}

/**
 * The form that runs a step's matched evaluation: the set's eval spec, the base
 * model + adapter as "self", the base alone as the control, the step marked.
 */
export function stepForm(set: BuiltSet, step: PaperStep, e: StepEvaluation): SpecForm {
  const text = set.files.find((f) => f.name === FILES.evalSpec)?.text;
  if (!text) throw new Error(`The ${SET_FOLDER[step]} set has no ${FILES.evalSpec}.`);
  if (e.phase && step !== 'exp3') throw new Error(`Only Exp 3 has a before/after evaluation (got ${step}, ${e.phase}).`);
  if (e.phase === 'before' && e.mode !== 'adapter') throw new Error('Exp 3 before introspection training evaluates the instilled adapter, not the in-context analogue.');
  const spec: ExperimentSpec = parseSpec(text);
  const phase = step === 'exp3' ? (e.phase ?? 'after') : undefined;
  const form = formFromSpec({ ...spec, paperStep: step, ...(phase ? { paperPhase: phase } : {}) });
  const inContext = e.mode === 'in-context';
  return {
    ...form,
    name: `${phase === 'before' ? beforeName(spec.name) : spec.name}${inContext ? ' (in-context analogue)' : ''}`,
    model: { ...e.base, ...(e.adapter ? { adapter: { id: e.adapter } } : {}) },
    control: { ...e.base },
    ...(inContext ? { inContext: [inContextK(spec.scenarios.ids?.length ?? 2)] } : {}),
  };
}

/** The adapter a step's evaluation loads: its own, or for the in-context analogue the instilled one (Exp 1's), if any. */
export function evaluatedAdapter(state: ReplicateState, step: PaperStep): string | null {
  return (state.mode[step] === 'in-context' ? state.adapters.exp1 : state.adapters[step]) ?? null;
}

/** The before run's name: the set's Exp 3 spec is named for after training (lib/training/build.ts). */
function beforeName(name: string): string {
  return name.includes('after introspection training') ? name.replace('after introspection training', 'before introspection training') : `${name} (before introspection training)`;
}

/** Exp 3 before introspection training: the same native contexts, the instilled (Exp 1) adapter. */
export function beforeEvaluation(state: ReplicateState, base: ModelChoice): StepEvaluation {
  return { base, adapter: state.adapters.exp1 ?? null, mode: 'adapter', phase: 'before' };
}

/** The newest finished-or-not run of a step (runs carry their step in the spec); Exp 3's 'before' runs only when asked for. */
export function latestStepRun<M extends Pick<RunMeta, 'id' | 'createdAt' | 'spec'>>(runs: readonly M[], step: PaperStep, phase?: PaperPhase): M | null {
  const before = phase === 'before';
  return runs.filter((r) => r.spec.paperStep === step && (r.spec.paperPhase === 'before') === before).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0] ?? null;
}

export type StepPart = 'set' | 'adapter' | 'run';

/** What of a step is done, in order (training shows as its adapter); the in-context analogue needs no set or adapter of its own. */
export function stepProgress(state: ReplicateState, step: PaperStep, hasRun: boolean): Record<StepPart, boolean> {
  const inContext = state.mode[step] === 'in-context';
  return {
    set: inContext || Boolean(state.downloaded[step]),
    adapter: inContext || Boolean(state.adapters[step]),
    run: hasRun,
  };
}
