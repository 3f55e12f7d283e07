/**
 * The experiment form as plain data, and the spec it stands for. A preset
 * (presetSpec) fills the form; any field can then be changed; the spec is
 * always derived from the form, so what is shown, saved and run is the same.
 * Pure.
 */
import { causalSpec, presetSpec, selfPredictionSpec, severalModelsSpec, SIMULATED_PRESET_MODELS, type PresetName } from '../lib/experiment/presets';
import { isSimulatedId } from '../lib/experiment/simulated';
import { checkTemplates, PAPER_PROMPTS, type PromptTemplates } from '../lib/prompts';
import { SpecError, validateSpec, type AdapterRef, type Condition, type DeviceChoice, type EngineChoice, type ExperimentSpec, type ModelRef, type ReportMode } from '../lib/experiment/spec';
import { ScenarioFormatError, validateScenarioSet, type ScenarioSet } from '../lib/scenarios';
import { withInContext } from '../lib/experiment/in-context';
import type { PaperPhase, PaperStep } from '../lib/experiment/paper-figures';

export interface ModelChoice {
  id: string;
  label?: string;
  device: DeviceChoice;
  /** "auto" or a build name (q4, q4f16, fp32…). */
  dtype: string;
  /**
   * Which engine runs it: "auto" (absent) lets the lab choose (WebLLM where it has the model and WebGPU is there);
   * "openai": a model served by the OpenAI-compatible server at `baseUrl` (`id` is its served name).
   */
  engine?: EngineChoice | 'openai';
  baseUrl?: string;
  /** A LoRA adapter applied to the model (the paper's weight-trained model); absent = the model as published. */
  adapter?: AdapterRef;
}

/** The same model and the same adapter (base and base + adapter are two different models). */
export function sameModelChoice(a: Pick<ModelChoice, 'id' | 'adapter'>, b: Pick<ModelChoice, 'id' | 'adapter'>): boolean {
  return a.id.trim() === b.id.trim() && (a.adapter?.id ?? null) === (b.adapter?.id ?? null) && (a.adapter?.scale ?? 1) === (b.adapter?.scale ?? 1);
}

export interface SpecForm {
  preset: PresetName;
  name: string;
  model: ModelChoice;
  /** Second model asked the same report questions: the off-the-shelf control (with several models: the second model). */
  control: ModelChoice | null;
  /** Several-model presets (who-knows, simulated): the models after the first two. Absent in older drafts. */
  others?: ModelChoice[];
  /** Several-model presets: how many decisions observers are shown (kept from a loaded spec; the preset's default when absent). */
  observe?: number[];
  seed: string;
  /** Which scenarios: the built-in set (roles paired by the seed) or a set loaded from a file. */
  scenarioSource: 'builtin' | 'file';
  /**
   * The loaded set (used when scenarioSource is "file"; kept when switching
   * back to the built-in set, so switching again restores it). The spec then
   * holds it inline, so it stays self-contained.
   */
  scenarioSet: ScenarioSet | null;
  /** How many scenarios (the first N of the set) when none are picked by hand. */
  scenarioCount: number;
  /** Scenario ids picked by hand, in order; empty = the first `scenarioCount`. */
  scenarioIds: string[];
  decisionsPerScenario: number;
  reportsPerScenario: number;
  /** Show every decision pair in both orders (A/B swapped); absent in drafts saved before it existed = on. */
  counterbalance?: boolean;
  mode: ReportMode;
  prompts: PromptTemplates;
  /** The paper's experiment this replicates (kept from a step's spec; absent = none). */
  paperStep?: PaperStep;
  /** Exp 3: before or after introspection training (kept from a step's spec; absent = not said). */
  paperPhase?: PaperPhase;
  /** In-context self-report conditions, one per k, answers from the targets (kept from a loaded spec; absent = none). */
  inContext?: number[];
  /**
   * A loaded spec whose models and conditions the form cannot build (e.g. interventions or
   * predictions of a shape no preset makes): they run as loaded, verbatim; the form's sizes,
   * scenarios, seed and prompts still apply. Absent: the form builds them from the preset.
   */
  loaded?: { models: ModelRef[]; conditions: Condition[] };
}

export const PRESET_LABELS: Record<PresetName, string> = {
  classroom: 'Classroom demo',
  paper: 'Paper replication',
  'who-knows': 'Who knows it best?',
  simulated: 'Simulated models (no download)',
  causal: 'Does the self-report follow the behaviour?',
  'self-prediction': 'Can it predict itself?',
};

export const PRESET_BLURBS: Record<PresetName, string> = {
  classroom: '10 scenarios × 30 decisions and 5 self-reports each: a readable result in minutes on a laptop GPU.',
  paper: "The paper's sizes: 100 scenarios × 50 decisions and 10 self-reports each. Hours on a laptop; best on a desktop GPU.",
  'who-knows':
    'Three models, each described by itself, by the others, and by observers shown 0, 5, 10 or 20 of its decisions: does any model know itself better than others can?',
  simulated:
    'No download: see what the analysis can and cannot detect. Three simulated models: one trained on the target weights that knows them, two that know only common sense.',
  causal:
    'Each model decides and describes itself as it is and steered toward one attribute per scenario (and, with an adapter, at adapter scales 0, .25, .5 and 1): does its self-report move with its behaviour?',
  'self-prediction':
    'Each model predicts its own P("A") and its own choice on its decisions, and so do the others and observers shown 0, 5 or 20 of its decisions: can it predict itself better than others can?',
};

/** Presets that compare several models (each a target, with observers). */
export function isSeveralModels(preset: PresetName): boolean {
  return preset === 'who-knows' || preset === 'simulated' || preset === 'self-prediction';
}

/** Presets that study one model on its own (no control): the causal preset. */
export function isOneModel(preset: PresetName): boolean {
  return preset === 'causal';
}

/** The fewest models a several-model preset needs (self-prediction: a model predicting itself is already an experiment). */
export function minModels(preset: PresetName): number {
  return preset === 'self-prediction' ? 1 : isSeveralModels(preset) ? 2 : 1;
}

/** The simulated preset's models as form choices. */
export function simulatedChoices(): ModelChoice[] {
  return SIMULATED_PRESET_MODELS.map((m) => ({ id: m.id, label: m.label, device: 'auto', dtype: 'auto' }));
}

function modelRef(m: ModelChoice): Omit<ModelRef, 'key'> {
  return {
    id: m.id,
    ...(m.label ? { label: m.label } : {}),
    engine: m.engine ?? 'auto',
    ...(m.engine === 'openai' ? { baseUrl: m.baseUrl } : { device: m.device, ...(m.dtype && m.dtype !== 'auto' ? { dtype: m.dtype } : {}) }),
    ...(m.adapter ? { adapter: { ...m.adapter } } : {}),
  };
}

/** Where the form's scenarios come from, as formFromPreset keeps it. */
export interface ScenarioChoice {
  scenarioSource: SpecForm['scenarioSource'];
  scenarioSet: ScenarioSet | null;
}

/** The loaded set the form uses, or null for the built-in set. */
export function loadedSet(form: Pick<SpecForm, 'scenarioSource' | 'scenarioSet'>): ScenarioSet | null {
  return form.scenarioSource === 'file' ? form.scenarioSet : null;
}

/**
 * A fresh form from a preset (keeps the chosen models, seed and scenario
 * source). With a loaded set smaller than the preset's size, the count is
 * the whole set.
 */
/**
 * The models a preset starts from when switching to it: the simulated preset brings its own;
 * any other preset drops the previous preset's simulated models (a real-model run must not
 * silently compare against a formula), putting `fallback` where the main model was simulated.
 */
export function modelsForPreset(
  preset: PresetName,
  current: { model: ModelChoice; control: ModelChoice | null; others: ModelChoice[] },
  fallback: ModelChoice,
): { model: ModelChoice; control: ModelChoice | null; others: ModelChoice[] } {
  if (preset === 'simulated') return current;
  const real = (m: ModelChoice | null) => m !== null && !isSimulatedId(m.id);
  return {
    model: real(current.model) ? current.model : fallback,
    control: real(current.control) ? current.control : null,
    others: current.others.filter(real),
  };
}

export function formFromPreset(
  preset: PresetName,
  model: ModelChoice,
  control: ModelChoice | null = null,
  seed = 'introspection-lab',
  scenarios: ScenarioChoice = { scenarioSource: 'builtin', scenarioSet: null },
  others: ModelChoice[] = [],
): SpecForm {
  const spec = presetSpec(preset, { model: modelRef(model), seed });
  const set = loadedSet(scenarios);
  const count = spec.scenarios.count ?? 10;
  // The simulated preset brings its own three models (no download); the others keep the chosen ones.
  const sims = preset === 'simulated' ? simulatedChoices() : null;
  return {
    preset,
    name: spec.name,
    model: sims ? sims[0] : model,
    // The causal preset studies one model: what the form shows is what runs.
    control: sims ? sims[1] : isOneModel(preset) ? null : control,
    others: sims ? sims.slice(2) : isOneModel(preset) ? [] : others,
    seed,
    scenarioSource: scenarios.scenarioSource,
    scenarioSet: scenarios.scenarioSet,
    scenarioCount: set ? Math.min(count, set.scenarios.length) : count,
    scenarioIds: [],
    decisionsPerScenario: spec.decisionsPerScenario,
    reportsPerScenario: spec.reportsPerScenario,
    counterbalance: spec.counterbalance ?? false,
    mode: 'constrained',
    prompts: { ...PAPER_PROMPTS },
  };
}

function samePrompts(a: PromptTemplates, b: PromptTemplates): boolean {
  return a.system === b.system && a.decision === b.decision && a.introspection === b.introspection;
}

/** Whether the form still has its preset's sizes and prompts. */
export function isPresetUnchanged(form: SpecForm): boolean {
  const base = presetSpec(form.preset, { model: modelRef(form.model) });
  const set = loadedSet(form);
  const count = base.scenarios.count ?? 10;
  return (
    form.scenarioIds.length === 0 &&
    form.scenarioCount === (set ? Math.min(count, set.scenarios.length) : count) &&
    form.decisionsPerScenario === base.decisionsPerScenario &&
    form.reportsPerScenario === base.reportsPerScenario &&
    (form.counterbalance ?? true) === (base.counterbalance ?? false) &&
    samePrompts(form.prompts, PAPER_PROMPTS)
  );
}

/**
 * The scenario count after the form switches to another set: a count the
 * person chose is kept where the new set has room for it; one that was the
 * whole old set (or no longer fits) becomes the preset's size, capped at the
 * new set's size.
 */
export function scenarioCountFor(form: SpecForm, previousAvailable: number, nextAvailable: number): number {
  const presetCount = presetSpec(form.preset, { model: modelRef(form.model) }).scenarios.count ?? 10;
  const keep = form.scenarioCount >= 1 && form.scenarioCount < previousAvailable && form.scenarioCount <= nextAvailable;
  return Math.max(1, Math.min(keep ? form.scenarioCount : presetCount, nextAvailable));
}

/** A deep copy of plain JSON data (structuredClone refuses the page store's reactive proxies). */
function plainCopy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** The models and conditions of the form's preset (sizes are set by specFromForm). */
function presetPart(form: SpecForm): ExperimentSpec {
  const control = form.control && form.control.id.trim() ? modelRef(form.control) : undefined;
  const models = [modelRef(form.model), ...(control ? [control] : []), ...(form.others ?? []).filter((m) => m.id.trim()).map(modelRef)];
  const none = { scenarios: 0, decisions: 0, reports: 0 };
  const label = PRESET_LABELS[form.preset];
  const observe = form.observe ? { observe: form.observe } : {};
  if (form.preset === 'self-prediction') return selfPredictionSpec(label, none, models, { seed: form.seed, mode: form.mode, ...observe });
  if (form.preset === 'causal') return causalSpec(label, none, [modelRef(form.model)], { seed: form.seed, mode: form.mode });
  if (isSeveralModels(form.preset)) return severalModelsSpec(label, none, models, { seed: form.seed, mode: form.mode, ...observe });
  return presetSpec(form.preset, { model: modelRef(form.model), control, seed: form.seed, mode: form.mode });
}

/** The spec the form stands for (not yet validated). */
export function specFromForm(form: SpecForm): ExperimentSpec {
  const spec = presetPart(form);
  // A loaded spec the form cannot build runs with its own models and conditions.
  if (form.loaded) {
    spec.models = plainCopy(form.loaded.models);
    spec.conditions = plainCopy(form.loaded.conditions);
  }
  spec.name = form.name.trim() || spec.name;
  spec.decisionsPerScenario = form.decisionsPerScenario;
  spec.reportsPerScenario = form.reportsPerScenario;
  // A preset that does not counterbalance (self-prediction) leaves the field out, as presetSpec does.
  const counterbalance = form.counterbalance ?? true;
  if (counterbalance || (spec.counterbalance !== undefined && !form.loaded)) spec.counterbalance = counterbalance;
  else delete spec.counterbalance;
  const set = loadedSet(form);
  const source: ExperimentSpec['scenarios'] = set ? { source: 'inline', set } : { source: 'builtin' };
  spec.scenarios = form.scenarioIds.length ? { ...source, ids: [...form.scenarioIds] } : { ...source, count: form.scenarioCount };
  if (!samePrompts(form.prompts, PAPER_PROMPTS)) spec.prompts = { ...form.prompts };
  if (form.paperStep) spec.paperStep = form.paperStep;
  if (form.paperStep && form.paperPhase) spec.paperPhase = form.paperPhase;
  return form.inContext?.length && !form.loaded ? { ...withInContext(spec, form.inContext, 'target'), name: spec.name } : spec;
}

/** JSON with sorted keys: two specs' parts compared whatever order their fields were written in. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** Whether the form builds these models (keys, ids, adapters) and exactly these conditions. */
function formBuilds(form: SpecForm, spec: ExperimentSpec): boolean {
  const built = specFromForm(form);
  const ids = (s: ExperimentSpec) => canonical(s.models.map((m) => [m.key, m.id, m.adapter ?? null]));
  return ids(built) === ids(spec) && canonical(built.conditions) === canonical(spec.conditions);
}

function choiceFrom(ref: ModelRef | undefined): ModelChoice | null {
  if (!ref) return null;
  const device = ref.device ?? 'auto';
  return {
    id: ref.id,
    ...(ref.label ? { label: ref.label } : {}),
    device,
    dtype: ref.dtype ?? 'auto',
    engine: ref.engine ?? 'auto',
    ...(ref.baseUrl ? { baseUrl: ref.baseUrl } : {}),
    ...(ref.adapter ? { adapter: { ...ref.adapter } } : {}),
  };
}

/**
 * A form from a loaded spec: built-in scenarios or an inline scenario set
 * (which must be valid; its problems are refused with their locations).
 */
export function formFromSpec(spec: ExperimentSpec): SpecForm {
  const problems: string[] = [];
  let scenarioSet: ScenarioSet | null = null;
  if (spec.scenarios.source === 'inline') {
    try {
      scenarioSet = validateScenarioSet(spec.scenarios.set);
    } catch (e) {
      if (!(e instanceof ScenarioFormatError)) throw e;
      problems.push(...e.problems.map((p) => `scenarios.set: ${p.location}: ${p.message}`));
    }
  }
  // Predictions: the self-prediction form; interventions: the causal form (one model); several
  // models or observers: the several-model form (its models in spec order).
  const predicts = spec.conditions.some((c) => c.kind === 'predictions');
  const causal = !predicts && spec.conditions.some((c) => c.kind !== 'predictions' && c.intervention);
  const several = predicts || (!causal && (spec.models.length > 2 || spec.conditions.some((c) => c.kind === 'reports' && c.observe)));
  const self = several || causal ? spec.models[0] : (spec.models.find((m) => m.key === 'self') ?? spec.models[0]);
  const control = causal ? undefined : several ? spec.models[1] : spec.models.find((m) => m.key === 'control');
  const report = spec.conditions.find((c) => (c.kind === 'reports' && !c.examples) || c.kind === 'predictions');
  // In-context conditions with answers from the targets come back from their k (learned-weight answers need the run they came from).
  const inContext = [...new Set(spec.conditions.flatMap((c) => (c.kind === 'reports' && c.examples?.answers === 'target' ? [c.examples.k] : [])))].sort((a, b) => a - b);
  if (problems.length) throw new SpecError(problems);
  const preset: PresetName = predicts
    ? 'self-prediction'
    : causal
      ? 'causal'
      : several
        ? spec.models.every((m) => isSimulatedId(m.id)) ? 'simulated' : 'who-knows'
        : spec.decisionsPerScenario >= 50 || (spec.scenarios.count ?? 0) > 20 ? 'paper' : 'classroom';
  const observed = (kind: Condition['kind']) => [...new Set(spec.conditions.flatMap((c) => (c.kind === kind && c.kind !== 'decisions' && c.observe ? [c.observe.k] : [])))].sort((a, b) => a - b);
  const form: SpecForm = {
    preset,
    name: spec.name,
    model: choiceFrom(self)!,
    control: choiceFrom(control),
    others: several ? spec.models.slice(2).map((m) => choiceFrom(m)!) : [],
    // A loaded spec runs as loaded: its observers' k values, not the preset's.
    ...(several ? { observe: observed(predicts ? 'predictions' : 'reports') } : {}),
    seed: spec.seed,
    scenarioSource: scenarioSet ? 'file' : 'builtin',
    scenarioSet,
    scenarioCount: spec.scenarios.count ?? spec.scenarios.ids?.length ?? (scenarioSet ? scenarioSet.scenarios.length : 10),
    scenarioIds: spec.scenarios.ids ? [...spec.scenarios.ids] : [],
    decisionsPerScenario: spec.decisionsPerScenario,
    reportsPerScenario: spec.reportsPerScenario,
    counterbalance: spec.counterbalance ?? false,
    mode: report && report.kind === 'reports' ? report.mode : 'constrained',
    prompts: spec.prompts ? { ...spec.prompts } : { ...PAPER_PROMPTS },
    ...(spec.paperStep ? { paperStep: spec.paperStep } : {}),
    ...(spec.paperPhase ? { paperPhase: spec.paperPhase } : {}),
    ...(inContext.length ? { inContext } : {}),
  };
  // Interventions and predictions the form cannot build run as loaded (and the form says so), never dropped.
  if ((predicts || causal) && !formBuilds(form, spec)) {
    form.loaded = { models: plainCopy(spec.models), conditions: plainCopy(spec.conditions) };
    delete form.inContext;
  }
  return form;
}

export interface FormCheck {
  spec: ExperimentSpec | null;
  problems: string[];
}

/** Validate the form's spec; problems are in words a person can act on. */
export function checkForm(form: SpecForm, availableScenarios: number): FormCheck {
  const problems: string[] = [];
  if (!form.model.id.trim()) problems.push('Choose a model to study (Models tab).');
  if (form.control && form.control.id.trim() && sameModelChoice(form.control, form.model))
    problems.push('The control model must be a different model from the one studied (another model, or the same base with or without its adapter).');
  if (isSeveralModels(form.preset) && !form.loaded) {
    const chosen = [form.model, form.control, ...(form.others ?? [])].filter((m): m is ModelChoice => !!m && !!m.id.trim());
    if (chosen.length < minModels(form.preset)) problems.push(`${PRESET_LABELS[form.preset]} compares models: choose at least two.`);
    if (chosen.some((m, i) => chosen.slice(0, i).some((n) => sameModelChoice(m, n)))) problems.push('Each model can be in the experiment once.');
  }
  if (form.scenarioSource === 'file' && !form.scenarioSet)
    problems.push('Load a scenario file (a scenario-set JSON or the paper\'s scenarios.csv), or choose the built-in set.');
  else if (!form.scenarioIds.length && (form.scenarioCount < 1 || form.scenarioCount > availableScenarios))
    problems.push(`Scenario count must be between 1 and ${availableScenarios}.`);
  if (form.decisionsPerScenario < 2) problems.push('At least 2 decision trials per scenario are needed to fit weights.');
  if (form.reportsPerScenario < 0) problems.push('Self-reports per scenario cannot be negative.');
  problems.push(...checkTemplates(form.prompts));
  const spec = specFromForm(form);
  try {
    validateSpec(spec);
  } catch (e) {
    if (e instanceof SpecError) problems.push(...e.problems.filter((p) => !problems.some((q) => q.includes(p))));
    else problems.push(String(e));
  }
  return { spec: problems.length ? null : spec, problems: [...new Set(problems)] };
}

/** Total trials of a spec: what the run will do (counterbalanced decisions twice). */
export function trialCount(spec: ExperimentSpec, scenarios: number): number {
  // Example pools are not counterbalanced: they run their own size.
  const decisions = spec.decisionsPerScenario * (spec.counterbalance ? 2 : 1);
  return spec.conditions.reduce((n, c) => n + scenarios * (c.kind === 'decisions' ? (c.pool ?? decisions) : c.kind === 'predictions' ? (c.perScenario ?? decisions) : spec.reportsPerScenario), 0);
}
