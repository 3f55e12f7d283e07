/**
 * Experiment spec → trial plan: a deterministic list of trials with stable ids.
 *
 * Every random draw comes from its own named stream (seed, purpose, scenario,
 * index), so a trial's options do not depend on how many other trials or
 * scenarios there are, and all decision conditions see the same choices (as do
 * all reporters): comparisons between models are paired by construction.
 */
import { rngFor, shuffled } from '../rng';
import { sampleOption, sampleTargetWeights } from '../sampling';
import type { OptionValues, Scenario, Weights } from '../scenarios/types';
import type { Condition, DecisionCondition, ExperimentSpec, Intervention, ReportMode } from './spec';
import type { TrialIntervention } from './intervention';

export type { TrialIntervention } from './intervention';
import { builtinScenarioSet, validateScenarioSet } from '../scenarios';

export const PLAN_FORMAT = 'introspection-lab/plan';
export const PLAN_VERSION = 1;

interface TrialBase {
  /** `${condition}/${scenarioId}/${index}`: stable across runs, the resume key. */
  id: string;
  condition: string;
  scenarioId: string;
  index: number;
  a: OptionValues;
  b: OptionValues;
  /** The condition's intervention in this scenario (issue 18); absent: none. */
  intervention?: TrialIntervention;
}

export interface DecisionTrial extends TrialBase {
  kind: 'decision';
  model: string;
  /**
   * Counterbalanced specs: trial `index`'s pair shown with A and B swapped
   * (id `${condition}/${scenarioId}/${index}-swapped`). Absent on the pair as sampled.
   */
  swapped?: true;
  /** An example-pool decision (shown to observers, not used for learned weights). */
  pool?: true;
}

export interface ReportTrial extends TrialBase {
  kind: 'report';
  reporter: string;
  about: string;
  mode: ReportMode;
  /** Observer trial: the first k decisions of this pool condition in the scenario are shown first. */
  observe?: { pool?: string; k: number };
  /** In-context trial: these other contexts' correct self-reports are shown first (src/lib/experiment/in-context.ts). */
  shown?: ShownReport[];
}

/** A self-prediction trial (issue 18): the options of decision trial `decision` of the condition `about`. */
export interface PredictionTrial extends TrialBase {
  kind: 'prediction';
  reporter: string;
  about: string;
  predict: 'probability' | 'choice';
  mode: ReportMode;
  observe?: { pool?: string; k: number };
  /** The id of the predicted decision trial. */
  decision: string;
}

export type Trial = DecisionTrial | ReportTrial | PredictionTrial;

export interface PlannedScenario {
  scenario: Scenario;
  /** Target weights: those the spec gives, else drawn from the seed. */
  target: Weights;
}

export interface TrialPlan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  seed: string;
  scenarios: PlannedScenario[];
  trials: Trial[];
}

export class PlanError extends Error {
  override name = 'PlanError';
}

/**
 * The scenario set a spec refers to: the built-in set (agent roles paired by
 * `roleSeed`, else the spec's seed) or the spec's inline set, validated.
 */
export function resolveScenarios(spec: ExperimentSpec): Scenario[] {
  const sc = spec.scenarios;
  if (sc.source === 'inline') return validateScenarioSet(sc.set).scenarios;
  return builtinScenarioSet(sc.roleSeed ?? spec.seed).scenarios;
}

/** Pick the spec's scenarios from a resolved set, in the spec's order. */
export function selectScenarios(spec: ExperimentSpec, available: readonly Scenario[]): Scenario[] {
  const { ids, count } = spec.scenarios;
  if (ids?.length) {
    const byId = new Map(available.map((s) => [s.id, s]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length) throw new PlanError(`Unknown scenario ids: ${missing.join(', ')}.`);
    return ids.map((id) => byId.get(id)!);
  }
  const n = count ?? available.length;
  if (n > available.length) throw new PlanError(`The spec asks for ${n} scenarios but the set has ${available.length}.`);
  return available.slice(0, n);
}

function pad(i: number): string {
  return String(i).padStart(3, '0');
}

/** The stable id of a condition's index-th trial in a scenario. */
export function trialIdOf(condition: string, scenarioId: string, index: number): string {
  return `${condition}/${scenarioId}/${pad(index)}`;
}

/** One shown self-report: a context other than the asked one and the options of its prompt. */
export interface ShownReport {
  scenarioId: string;
  a: OptionValues;
  b: OptionValues;
}

/**
 * The k shown self-reports for a trial in `askedId`, from the plan's other contexts:
 * a seeded shuffle of the others, the first k, so a condition with k = 5 shows
 * a subset of k = 10's examples. The asked context is never among them.
 */
export function pickShownReports(seed: string, planned: readonly PlannedScenario[], askedId: string, k: number): ShownReport[] {
  const others = planned.filter((p) => p.scenario.id !== askedId).map((p) => p.scenario);
  if (k > others.length) throw new RangeError(`${k} in-context examples need ${k + 1} contexts in the experiment; it has ${planned.length}.`);
  return shuffled(others, rngFor(seed, 'in-context', askedId))
    .slice(0, k)
    .map((s) => {
      const rng = rngFor(seed, 'in-context-options', askedId, s.id);
      return { scenarioId: s.id, a: sampleOption(s.attributes, rng), b: sampleOption(s.attributes, rng) };
    });
}

/** The intervention a condition applies: its own, else (a report or prediction) that of the decisions it is about. */
export function conditionIntervention(spec: ExperimentSpec, c: Condition): Intervention | undefined {
  if (c.kind !== 'predictions' && c.intervention) return c.intervention;
  if (c.kind === 'decisions') return undefined;
  const about = spec.conditions.find((d): d is DecisionCondition => d.kind === 'decisions' && d.key === c.about);
  return about?.intervention;
}

/**
 * An intervention resolved in one scenario: a random steered attribute and random
 * stated weights are seeded by (seed, scenario) alone, so every condition steering
 * "random" steers the same attribute of a scenario.
 */
export function resolveIntervention(seed: string, iv: Intervention, planned: PlannedScenario): TrialIntervention {
  const n = planned.scenario.attributes.length;
  const out: TrialIntervention = {};
  if (iv.adapterScale !== undefined) out.adapterScale = iv.adapterScale;
  if (iv.steer) {
    const attribute = iv.steer.attribute === 'random' ? Math.floor(rngFor(seed, 'steer', planned.scenario.id).next() * n) : iv.steer.attribute;
    if (attribute >= n) throw new PlanError(`Steered attribute ${attribute} does not exist in "${planned.scenario.id}" (${n} attributes).`);
    out.steer = { attribute, direction: iv.steer.direction };
  }
  if (iv.stated) out.stated = iv.stated === 'target' ? planned.target.slice() : sampleTargetWeights(n, rngFor(seed, 'stated', planned.scenario.id));
  return out;
}

/** Build the plan. `available` is the spec's resolved scenario set. */
export function buildPlan(spec: ExperimentSpec, available: readonly Scenario[]): TrialPlan {
  const scenarios = selectScenarios(spec, available);
  const planned: PlannedScenario[] = scenarios.map((scenario) => {
    const given = spec.scenarios.targets?.[scenario.id];
    if (given && given.length !== scenario.attributes.length)
      throw new PlanError(`Target weights for "${scenario.id}" have ${given.length} values, expected ${scenario.attributes.length}.`);
    const target = given ?? sampleTargetWeights(scenario.attributes.length, rngFor(spec.seed, 'target', scenario.id));
    return { scenario, target };
  });

  const trials: Trial[] = [];
  for (const c of spec.conditions) {
    const iv = conditionIntervention(spec, c);
    for (const ps of planned) {
      const scenario = ps.scenario;
      const intervention = iv ? { intervention: resolveIntervention(spec.seed, iv, ps) } : {};
      if (c.kind === 'predictions') {
        // The same seeded options as the predicted decision trials (stream 'decision', same index).
        for (let index = 0; index < (c.perScenario ?? spec.decisionsPerScenario); index++) {
          const rng = rngFor(spec.seed, 'decision', scenario.id, index);
          const a = sampleOption(scenario.attributes, rng);
          const b = sampleOption(scenario.attributes, rng);
          trials.push({
            id: trialIdOf(c.key, scenario.id, index), condition: c.key, scenarioId: scenario.id, index, a, b, kind: 'prediction',
            reporter: c.reporter, about: c.about, predict: c.predict, mode: c.mode, ...(c.observe ? { observe: { ...c.observe } } : {}), decision: trialIdOf(c.about, scenario.id, index), ...intervention,
          });
        }
        continue;
      }
      const pool = c.kind === 'decisions' && c.pool !== undefined;
      const n = c.kind === 'decisions' ? (pool ? c.pool! : spec.decisionsPerScenario) : spec.reportsPerScenario;
      for (let index = 0; index < n; index++) {
        // Pool decisions have their own stream: they are never the decisions learned weights come from.
        const purpose = c.kind === 'decisions' ? (pool ? 'pool' : 'decision') : 'report';
        const rng = rngFor(spec.seed, purpose, scenario.id, index);
        const a = sampleOption(scenario.attributes, rng);
        const b = sampleOption(scenario.attributes, rng);
        const base = { id: trialIdOf(c.key, scenario.id, index), condition: c.key, scenarioId: scenario.id, index, a, b, ...intervention };
        if (c.kind === 'reports') {
          const shown = c.examples ? { shown: pickShownReports(spec.seed, planned, scenario.id, c.examples.k) } : {};
          trials.push({ ...base, kind: 'report', reporter: c.reporter, about: c.about, mode: c.mode, ...(c.observe ? { observe: { ...c.observe } } : {}), ...shown });
          continue;
        }
        trials.push({ ...base, kind: 'decision', model: c.model, ...(pool ? { pool: true as const } : {}) });
        // Example pools are shown to observers as sampled; only measured decisions are counterbalanced.
        if (spec.counterbalance && !pool)
          trials.push({ ...base, id: `${base.id}-swapped`, a: b, b: a, kind: 'decision', model: c.model, swapped: true });
      }
    }
  }
  return { format: PLAN_FORMAT, version: PLAN_VERSION, seed: spec.seed, scenarios: planned, trials };
}

/** Canonical text of a plan: what "byte-identical in Node and the browser" compares. */
export function serializePlan(plan: TrialPlan): string {
  return JSON.stringify(plan);
}
