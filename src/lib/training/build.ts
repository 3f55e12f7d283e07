/**
 * Building training sets. Every draw comes from its own named stream
 * (seed, purpose, context, index), as in the trial plan, so a set is the same
 * on every machine; training options are drawn from streams the evaluation
 * never uses, and any pair that still coincides with an evaluation trial (or
 * ties under the rule) is skipped, so nothing evaluated was seen in training.
 */
import { presetSpec } from '../experiment/presets';
import { decisionMessages, introspectionMessages, PAPER_PROMPTS, type PromptTemplates } from '../prompts';
import { rngFor } from '../rng';
import { sampleOption, sampleTargetWeights } from '../sampling';
import type { ExperimentSpec, ScenarioSource } from '../experiment/spec';
import type { OptionValues, Scenario, Weights } from '../scenarios/types';
import { writeTargetWeightsCsv } from '../paper-csv';
import { exportPaperScenariosCsv } from '../scenarios/paper-csv';
import {
  choiceKey,
  FILES,
  foldSplit,
  reportAnswer,
  ruleAnswer,
  toJsonl,
  TrainingSetError,
  TRAINING_SET_FORMAT,
  TRAINING_SET_VERSION,
  type Fold,
  type OutputFile,
  type TrainingExample,
  type TrainingSetManifest,
} from './set';
import { evaluationChoices, readTrainingSet } from './validate';

/** What every set needs: the contexts, the seed, and the model the evaluation specs load. */
export interface SetContext {
  /** How the evaluation specs name the scenario set (built-in with a role seed, or inline). */
  source: ScenarioSource;
  /** That set, resolved. */
  available: readonly Scenario[];
  seed: string;
  /** Base model id or folder the adapter is trained on. */
  model: string;
  /** Where the trained adapter will be (the eval specs load it). */
  adapter: string;
  /** Native (Exp 3) contexts: the first this many of the set that are never trained. Default: as many as instilled, if the set has them. */
  nativeCount?: number;
  /** Decisions and self-reports per context in the evaluation (the paper's 50 and 10). */
  evalDecisions?: number;
  evalReports?: number;
}

export interface BuiltSet {
  manifest: TrainingSetManifest;
  files: OutputFile[];
}

const STREAM_LIMIT = 50;

function evalSpec(ctx: SetContext, name: string, ids: string[], targets?: Record<string, Weights>): ExperimentSpec {
  const spec = presetSpec('paper', {
    model: { id: ctx.model, adapter: { id: ctx.adapter } },
    control: { id: ctx.model },
    seed: ctx.seed,
  });
  return {
    ...spec,
    name,
    scenarios: { ...ctx.source, ids, ...(targets ? { targets } : {}) },
    decisionsPerScenario: ctx.evalDecisions ?? 50,
    reportsPerScenario: ctx.evalReports ?? 10,
  };
}

/** `count` option pairs from stream (seed, purpose, context, j), skipping excluded and refused pairs; adds what it takes to `exclude`. */
function drawChoices(
  seed: string,
  purpose: string,
  scenario: Scenario,
  count: number,
  exclude: Set<string>,
  accept: (a: OptionValues, b: OptionValues) => boolean,
): Array<[OptionValues, OptionValues]> {
  const out: Array<[OptionValues, OptionValues]> = [];
  for (let j = 0; out.length < count; j++) {
    if (j >= count * STREAM_LIMIT + 100)
      throw new TrainingSetError([`could not draw ${count} distinct, untied choices for "${scenario.id}" (are its attribute ranges degenerate?)`]);
    const rng = rngFor(seed, purpose, scenario.id, j);
    const a = sampleOption(scenario.attributes, rng);
    const b = sampleOption(scenario.attributes, rng);
    const key = choiceKey(scenario.id, a, b);
    if (exclude.has(key) || !accept(a, b)) continue;
    exclude.add(key);
    out.push([a, b]);
  }
  return out;
}

function nativeIds(ctx: SetContext, instilled: readonly string[]): string[] {
  const taken = new Set(instilled);
  const rest = ctx.available.filter((s) => !taken.has(s.id));
  return rest.slice(0, ctx.nativeCount ?? Math.min(instilled.length, rest.length)).map((s) => s.id);
}

function byIdOf(available: readonly Scenario[]): (id: string) => Scenario {
  const m = new Map(available.map((s) => [s.id, s]));
  return (id) => {
    const s = m.get(id);
    if (!s) throw new TrainingSetError([`context "${id}" is not in the scenario set`]);
    return s;
  };
}

function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

/** Assemble the files, then read them back through the validator: a set that would not pass is never handed out. */
function finish(manifest: TrainingSetManifest, parts: { train: TrainingExample[]; heldout: TrainingExample[]; specs: ExperimentSpec[]; scenarios: Scenario[]; targets: Record<string, Weights>; answers?: Record<string, Weights> }): BuiltSet {
  const [primary, native] = parts.specs;
  const files: OutputFile[] = [
    { name: FILES.manifest, text: json(manifest) },
    { name: FILES.train, text: toJsonl(parts.train) },
    { name: FILES.heldout, text: toJsonl(parts.heldout) },
    { name: FILES.evalSpec, text: json(primary) },
    ...(native ? [{ name: FILES.nativeSpec, text: json(native) }] : []),
    { name: FILES.scenarios, text: exportPaperScenariosCsv(parts.scenarios) },
    { name: FILES.targets, text: writeTargetWeightsCsv(Object.entries(parts.targets)) },
    ...(parts.answers ? [{ name: FILES.answers, text: writeTargetWeightsCsv(Object.entries(parts.answers)) }] : []),
  ];
  readTrainingSet(Object.fromEntries(files.map((f) => [f.name, f.text])));
  return { manifest, files };
}

export interface InstillOptions extends SetContext {
  /** Instilled contexts: the first N of the set. */
  scenarios: number;
  /** Training decisions per context. */
  decisions: number;
  /** Decisions per context kept out of training, for the trainer's agreement check (default 10). */
  heldout?: number;
  templates?: PromptTemplates;
}

/** Exp 1: K decisions per context, each answered by the paper's rule under the context's random target weights. */
export function buildInstillSet(o: InstillOptions): BuiltSet {
  if (!(Number.isInteger(o.scenarios) && o.scenarios >= 1 && o.scenarios <= o.available.length))
    throw new TrainingSetError([`--scenarios must be a whole number from 1 to ${o.available.length} (the set's size), got ${o.scenarios}`]);
  if (!(Number.isInteger(o.decisions) && o.decisions >= 1)) throw new TrainingSetError([`--decisions must be a whole number ≥ 1, got ${o.decisions}`]);
  const heldoutPer = o.heldout ?? 10;
  const templates = o.templates ?? PAPER_PROMPTS;
  const instilled = o.available.slice(0, o.scenarios);
  const ids = instilled.map((s) => s.id);
  const targets: Record<string, Weights> = Object.fromEntries(
    instilled.map((s) => [s.id, sampleTargetWeights(s.attributes.length, rngFor(o.seed, 'target', s.id))]),
  );
  const native = nativeIds(o, ids);
  const specs = [evalSpec(o, 'Exp 1: instilled preferences', ids, targets), ...(native.length ? [evalSpec(o, 'Exp 3: native contexts', native)] : [])];
  const taken = new Set(evaluationChoices(specs, o.available).keys());

  const train: TrainingExample[] = [];
  const heldout: TrainingExample[] = [];
  for (const s of instilled) {
    const w = targets[s.id];
    const decided = (purpose: string, n: number) =>
      drawChoices(o.seed, purpose, s, n, taken, (a, b) => ruleAnswer(s, w, a, b) !== null).map(([a, b]) => ({
        messages: [...decisionMessages(s, a, b, templates), { role: 'assistant' as const, content: ruleAnswer(s, w, a, b)! }],
      }));
    train.push(...decided('train-decision', o.decisions));
    heldout.push(...decided('heldout-decision', heldoutPer));
  }
  const manifest: TrainingSetManifest = {
    format: TRAINING_SET_FORMAT,
    version: TRAINING_SET_VERSION,
    kind: 'instill',
    experiment: 1,
    seed: o.seed,
    answers: 'target',
    trained: ids,
    heldOut: [],
    native,
    examplesPerScenario: o.decisions,
    heldoutPerScenario: heldoutPer,
    lines: { train: train.length, heldout: heldout.length },
  };
  const byId = byIdOf(o.available);
  return finish(manifest, { train, heldout, specs, scenarios: [...ids, ...native].map(byId), targets });
}

export interface IntrospectOptions extends SetContext {
  /** The instilled contexts, in order (the folds split this list). */
  instilled: string[];
  /** Their target weights (the evaluation specs keep them). */
  targets: Record<string, Weights>;
  /** The weights the answers state: the targets, or a finished run's learned weights. */
  answers: 'target' | 'learned';
  weights: Record<string, Weights>;
  fromRun?: string;
  fold: Fold;
  /** Introspection examples per trained context (the paper: 1, i.e. 50 for 50 contexts). */
  examples?: number;
  /** Examples per trained context with fresh options, kept out of training (default 2). */
  heldout?: number;
  templates?: PromptTemplates;
}

/**
 * Exp 2 and 3 (the paper's appendix D): the introspection prompt answered with
 * the context's correct weights as JSON, for one fold of the instilled contexts.
 * eval-spec.json tests the other fold (Exp 2), or with fold "all" the native contexts (Exp 3).
 */
export function buildIntrospectSet(o: IntrospectOptions): BuiltSet {
  const templates = o.templates ?? PAPER_PROMPTS;
  const perContext = o.examples ?? 1;
  const heldoutPer = o.heldout ?? 2;
  if (!(Number.isInteger(perContext) && perContext >= 1)) throw new TrainingSetError([`--examples must be a whole number ≥ 1, got ${perContext}`]);
  const byId = byIdOf(o.available);
  const missing = o.instilled.filter((id) => !o.weights[id] || !o.targets[id]);
  if (missing.length) throw new TrainingSetError([`no ${o.answers} weights for context(s) ${missing.join(', ')}`]);
  const { trained, heldOut } = foldSplit(o.instilled, o.fold);
  const native = nativeIds(o, o.instilled);
  if (o.fold === 'all' && native.length === 0)
    throw new TrainingSetError(['fold "all" is tested on native contexts (Exp 3), but the scenario set has none beyond the instilled ones']);
  const heldTargets = Object.fromEntries(heldOut.map((id) => [id, o.targets[id]]));
  const nativeSpec = native.length ? evalSpec(o, 'Exp 3: native contexts after introspection training', native) : null;
  const specs = o.fold === 'all' ? [nativeSpec!] : [evalSpec(o, `Exp 2: held-out ${o.fold === 'first' ? 'last' : 'first'} half`, heldOut, heldTargets), ...(nativeSpec ? [nativeSpec] : [])];
  const taken = new Set(evaluationChoices(specs, o.available).keys());

  const train: TrainingExample[] = [];
  const heldout: TrainingExample[] = [];
  for (const id of trained) {
    const s = byId(id);
    const answer = reportAnswer(s, o.weights[id]);
    const reports = (purpose: string, n: number) =>
      drawChoices(o.seed, purpose, s, n, taken, () => true).map(([a, b]) => ({
        messages: [...introspectionMessages(s, a, b, templates), { role: 'assistant' as const, content: answer }],
      }));
    train.push(...reports('train-report', perContext));
    heldout.push(...reports('heldout-report', heldoutPer));
  }
  const manifest: TrainingSetManifest = {
    format: TRAINING_SET_FORMAT,
    version: TRAINING_SET_VERSION,
    kind: 'introspect',
    experiment: o.fold === 'all' ? 3 : 2,
    seed: o.seed,
    answers: o.answers,
    fold: o.fold,
    ...(o.fromRun ? { fromRun: o.fromRun } : {}),
    trained,
    heldOut,
    native,
    examplesPerScenario: perContext,
    heldoutPerScenario: heldoutPer,
    lines: { train: train.length, heldout: heldout.length },
  };
  const round = (w: Weights) => w.map((x) => Math.round(x) || 0);
  return finish(manifest, {
    train,
    heldout,
    specs,
    scenarios: [...o.instilled, ...native].map(byId),
    targets: Object.fromEntries(o.instilled.map((id) => [id, o.targets[id]])),
    answers: Object.fromEntries(trained.map((id) => [id, round(o.weights[id])])),
  });
}
