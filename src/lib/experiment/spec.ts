/**
 * The experiment spec: a versioned, seeded JSON document that fully determines
 * a trial plan. It names models by a short key so conditions can refer to them,
 * which is what lets one experiment hold several models, a reporter other than
 * the decider (the paper's off-the-shelf control), and adapters per model.
 */
import type { PromptTemplates } from '../prompts';
import { checkTemplates } from '../prompts';
import type { Weights } from '../scenarios/types';
import type { ScenarioSet } from '../scenarios/format';
import { isSimulatedId, parseSimulatedId } from './simulated';
import { PAPER_PHASES, PAPER_STEPS, type PaperPhase, type PaperStep } from './paper-figures';

export const SPEC_FORMAT = 'introspection-lab/experiment';
export const SPEC_VERSION = 1;

export type ReportMode = 'constrained' | 'free';
export type DeviceChoice = 'auto' | 'webgpu' | 'wasm' | 'cpu';
export type EngineChoice = 'auto' | 'transformers' | 'webllm';

export interface AdapterRef {
  /** Hugging Face id, URL or local folder of a PEFT LoRA adapter. */
  id: string;
  /** Multiplier on the adapter's own alpha/r scale (1 = as trained). */
  scale?: number;
}

export interface ModelRef {
  /** Short handle used by conditions ("self", "control"). */
  key: string;
  /** Hugging Face id, URL or local folder. */
  id: string;
  label?: string;
  /** A browser engine (or 'auto'), or "openai": an OpenAI-compatible server at `baseUrl`. */
  engine?: EngineChoice | 'openai';
  device?: DeviceChoice;
  dtype?: string;
  adapter?: AdapterRef;
  /** With engine "openai": the server's OpenAI-compatible base URL ("http://host:8000/v1"); `id` is the served model name. */
  baseUrl?: string;
}

/** Decision trials by one model → its learned (or native) weights. */
export interface DecisionCondition {
  kind: 'decisions';
  key: string;
  model: string;
  /**
   * An example pool: this many decisions per scenario (instead of
   * decisionsPerScenario), drawn from their own seeded stream, shown to
   * observers and never used for the model's learned weights. Absent: an
   * ordinary decision condition.
   */
  pool?: number;
  /** An intervention on the model for these decisions (issue 18); absent: the model as it is. */
  intervention?: Intervention;
}

/**
 * An intervention on a model (issue 18), on decision conditions and the report
 * conditions about them (a report about intervened decisions describes the
 * intervened model, so it carries the same intervention):
 * - `adapterScale`: the model's adapter at scale s (0 = base, 1 = as trained);
 * - `steer`: a sentence in the system prompt (PromptTemplates.steer) naming one
 *   attribute per scenario (its index, or "random": seeded per scenario) and a
 *   direction (1: prefer higher values, −1: lower);
 * - `stated`: a self-description given before each prompt (PromptTemplates.stated):
 *   the scenario's target weights or seeded random ones.
 */
export interface Intervention {
  adapterScale?: number;
  steer?: { attribute: number | 'random'; direction: 1 | -1 };
  stated?: 'target' | 'random';
}

/** A condition's in-context self-reports (`examples`): k shown, and whose weights their answers state. */
export interface InContextExamples {
  k: number;
  /** Whose weights the shown answers state: the contexts' targets, or `weights` (a run's learned weights). */
  answers: 'target' | 'learned';
  weights?: Record<string, Weights>;
}

/**
 * Self-report trials: `reporter` describes the weights behind `about`'s
 * decisions. reporter = about is introspection; reporter ≠ about is the
 * cross-model control that tests for privileged access.
 */
export interface ReportCondition {
  kind: 'reports';
  key: string;
  reporter: string;
  /** Key of the decision condition whose learned weights the reports are scored against. */
  about: string;
  mode: ReportMode;
  /**
   * An observer condition: before the question, the reporter is shown the first
   * `k` decisions of `pool` (a pool condition of the model `about` names) in
   * that scenario, and asked about that decision-maker (`pool` may be left out
   * when k = 0). Absent: a self-report prompt (the paper's introspection task).
   */
  observe?: { pool?: string; k: number };
  /**
   * In-context introspection training (issue 11): before the question, k correct
   * self-reports for other contexts of the experiment are shown as earlier turns
   * (src/lib/experiment/in-context.ts). Absent: the paper's self-report prompt.
   */
  examples?: InContextExamples;
  /** Absent: the intervention of the decision condition it is `about`, if any (a report describes the intervened model). */
  intervention?: Intervention;
}

/**
 * Self-prediction trials (issue 18; Binder et al. 2024): `reporter` predicts a
 * property of `about`'s answer to a decision with the same seeded options as
 * `about`'s decision trial of the same index: its P(A) (`probability`, an
 * integer 0..100, compared with the exact P(A)) or its choice (`choice`, the
 * hypothetical question, compared with the actual choice). reporter = about's
 * model without `observe` is self-prediction; observers are shown k decisions
 * of the target's pool first, as for reports.
 */
export interface PredictionCondition {
  kind: 'predictions';
  key: string;
  reporter: string;
  /** Key of the decision condition whose trials are predicted. */
  about: string;
  predict: 'probability' | 'choice';
  mode: ReportMode;
  observe?: { pool?: string; k: number };
  /** Predictions per scenario (the first n decision indices); decisionsPerScenario when absent. */
  perScenario?: number;
}

export type Condition = DecisionCondition | ReportCondition | PredictionCondition;

export type ScenarioSource =
  | { source: 'builtin'; /** Seeds the pairing of agent roles to choice types. */ roleSeed?: string }
  | { source: 'inline'; set: ScenarioSet };

export interface ExperimentSpec {
  format: typeof SPEC_FORMAT;
  version: typeof SPEC_VERSION;
  name: string;
  /** Seeds options and target weights: same spec + seed → same trials everywhere. */
  seed: string;
  scenarios: ScenarioSource & {
    /** Explicit scenario ids, in order; otherwise the first `count` of the set. */
    ids?: string[];
    count?: number;
    /** Target weights per scenario id (e.g. those an adapter was trained on); otherwise drawn from the seed. */
    targets?: Record<string, number[]>;
  };
  decisionsPerScenario: number;
  reportsPerScenario: number;
  /**
   * Also show every sampled decision pair with A and B swapped, as its own
   * trial, so position bias can be measured and removed. Absent (specs saved
   * before it existed) means false: the same trials as then.
   */
  counterbalance?: boolean;
  models: ModelRef[];
  conditions: Condition[];
  /** Prompt templates; the paper's when absent. */
  prompts?: PromptTemplates;
  /** Which of the paper's experiments this run replicates (the lab's "Replicate the paper" steps): its results show the paper's figures as marks. Absent = none. */
  paperStep?: PaperStep;
  /** Exp 3 only: before introspection training (the instilled adapter) or after. Absent = not said: both of Exp 3's figures are marked. */
  paperPhase?: PaperPhase;
}

export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid experiment spec:\n- ${problems.join('\n- ')}`);
    this.name = 'SpecError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;

/** Check a parsed spec and return it typed, or throw SpecError listing every problem. */
export function validateSpec(input: unknown): ExperimentSpec {
  const p: string[] = [];
  if (!isObj(input)) throw new SpecError(['The spec must be a JSON object.']);
  const s = input;
  if (s.format !== SPEC_FORMAT) p.push(`format must be "${SPEC_FORMAT}" (got ${JSON.stringify(s.format)}).`);
  if (s.version !== SPEC_VERSION) p.push(`version ${JSON.stringify(s.version)} is not supported; this lab reads version ${SPEC_VERSION}.`);
  if (typeof s.name !== 'string' || !s.name.trim()) p.push('name must be a non-empty string.');
  if (typeof s.seed !== 'string' || !s.seed) p.push('seed must be a non-empty string.');
  if (!isCount(s.decisionsPerScenario, 0)) p.push('decisionsPerScenario must be an integer ≥ 0.');
  if (!isCount(s.reportsPerScenario, 0)) p.push('reportsPerScenario must be an integer ≥ 0.');
  if (s.counterbalance !== undefined && typeof s.counterbalance !== 'boolean') p.push('counterbalance must be true or false.');
  if (s.paperStep !== undefined && !PAPER_STEPS.includes(s.paperStep as PaperStep)) p.push(`paperStep must be one of ${PAPER_STEPS.join(', ')} (got ${JSON.stringify(s.paperStep)}).`);
  if (s.paperPhase !== undefined && !PAPER_PHASES.includes(s.paperPhase as PaperPhase)) p.push(`paperPhase must be one of ${PAPER_PHASES.join(', ')} (got ${JSON.stringify(s.paperPhase)}).`);
  else if (s.paperPhase !== undefined && s.paperStep !== 'exp3') p.push(`paperPhase is for paperStep exp3 only (got paperStep ${JSON.stringify(s.paperStep)}).`);

  const sc = s.scenarios;
  if (!isObj(sc)) p.push('scenarios must be an object.');
  else {
    if (sc.source !== 'builtin' && sc.source !== 'inline') p.push('scenarios.source must be "builtin" or "inline".');
    if (sc.source === 'inline' && !isObj(sc.set)) p.push('scenarios.set must hold a scenario set when source is "inline".');
    if (sc.count !== undefined && !isCount(sc.count, 1)) p.push('scenarios.count must be an integer ≥ 1.');
    if (sc.ids !== undefined && (!Array.isArray(sc.ids) || !sc.ids.every((x) => typeof x === 'string')))
      p.push('scenarios.ids must be a list of scenario ids.');
    if (sc.targets !== undefined && !isObj(sc.targets)) p.push('scenarios.targets must map scenario ids to weight lists.');
  }

  const modelKeys = new Set<string>();
  if (!Array.isArray(s.models) || s.models.length === 0) p.push('models must list at least one model.');
  else
    s.models.forEach((m, i) => {
      if (!isObj(m) || typeof m.key !== 'string' || !m.key || typeof m.id !== 'string' || !m.id)
        p.push(`models[${i}] needs a non-empty "key" and "id".`);
      else if (modelKeys.has(m.key)) p.push(`models[${i}]: key "${m.key}" is used twice.`);
      else if (m.engine === 'openai' && (typeof m.baseUrl !== 'string' || !/^https?:\/\//.test(m.baseUrl)))
        p.push(`models[${i}]: engine "openai" needs a "baseUrl" (http://… or https://…).`);
      else {
        modelKeys.add(m.key);
        if (isSimulatedId(m.id)) {
          try {
            parseSimulatedId(m.id);
          } catch (e) {
            p.push(`models[${i}]: ${(e as Error).message}`);
          }
          if (m.adapter !== undefined) p.push(`models[${i}]: a simulated model takes no adapter.`);
        }
      }
    });

  const decisionKeys = new Set<string>();
  const condKeys = new Set<string>();
  if (!Array.isArray(s.conditions) || s.conditions.length === 0) p.push('conditions must list at least one condition.');
  else {
    const pools = new Map<string, { model: string; size: number }>();
    const deciderOf = new Map<string, string>();
    for (const c of s.conditions)
      if (isObj(c) && c.kind === 'decisions') {
        decisionKeys.add(String(c.key));
        deciderOf.set(String(c.key), String(c.model));
        if (c.pool !== undefined) pools.set(String(c.key), { model: String(c.model), size: Number(c.pool) });
      }
    s.conditions.forEach((c, i) => {
      const at = `conditions[${i}]`;
      if (!isObj(c) || typeof c.key !== 'string' || !/^[A-Za-z0-9_-]+$/.test(c.key)) {
        p.push(`${at} needs a "key" of letters, digits, "_" or "-".`);
        return;
      }
      if (condKeys.has(c.key)) p.push(`${at}: key "${c.key}" is used twice.`);
      condKeys.add(c.key);
      if (c.kind === 'decisions') {
        if (!modelKeys.has(String(c.model))) p.push(`${at}: model "${String(c.model)}" is not in models.`);
        if (c.pool !== undefined && !isCount(c.pool, 1)) p.push(`${at}: pool must be an integer ≥ 1 (decisions per scenario shown to observers).`);
        if (c.intervention !== undefined) p.push(...interventionProblems(at, c.intervention, (s.models as unknown[]).find((m) => isObj(m) && m.key === c.model)));
      } else if (c.kind === 'reports') {
        if (!modelKeys.has(String(c.reporter))) p.push(`${at}: reporter "${String(c.reporter)}" is not in models.`);
        if (!decisionKeys.has(String(c.about))) p.push(`${at}: about "${String(c.about)}" must name a decisions condition.`);
        else if (pools.has(String(c.about))) p.push(`${at}: about "${String(c.about)}" is an example pool; name the decisions the learned weights come from.`);
        if (c.mode !== 'constrained' && c.mode !== 'free') p.push(`${at}: mode must be "constrained" or "free".`);
        if (c.observe !== undefined) p.push(...observeProblems(at, c.observe, pools, deciderOf.get(String(c.about))));
        if (c.intervention !== undefined) {
          p.push(...interventionProblems(at, c.intervention, (s.models as unknown[]).find((m) => isObj(m) && m.key === c.reporter)));
          const about = (s.conditions as unknown[]).find((d) => isObj(d) && d.kind === 'decisions' && d.key === c.about) as Record<string, unknown> | undefined;
          if (about?.intervention !== undefined && JSON.stringify(about.intervention) !== JSON.stringify(c.intervention))
            p.push(`${at}: its intervention differs from that of "${String(c.about)}"; a report about intervened decisions carries the same intervention (leave it out).`);
        }
        if (c.examples !== undefined) p.push(...examplesProblems(c.examples, at), ...(c.observe !== undefined ? [`${at}: a condition shows either observed decisions or in-context self-reports, not both.`] : []));
      } else if (c.kind === 'predictions') {
        if (!modelKeys.has(String(c.reporter))) p.push(`${at}: reporter "${String(c.reporter)}" is not in models.`);
        if (!decisionKeys.has(String(c.about)) || pools.has(String(c.about))) p.push(`${at}: about "${String(c.about)}" must name a decisions condition (not an example pool).`);
        if (c.predict !== 'probability' && c.predict !== 'choice') p.push(`${at}: predict must be "probability" or "choice".`);
        if (c.mode !== 'constrained' && c.mode !== 'free') p.push(`${at}: mode must be "constrained" or "free".`);
        if (c.perScenario !== undefined && (!isCount(c.perScenario, 1) || (isCount(s.decisionsPerScenario, 0) && (c.perScenario as number) > (s.decisionsPerScenario as number))))
          p.push(`${at}: perScenario must be an integer from 1 to decisionsPerScenario (each prediction is of one decision trial).`);
        if (c.observe !== undefined) p.push(...observeProblems(at, c.observe, pools, deciderOf.get(String(c.about))));
      } else p.push(`${at}: kind must be "decisions", "reports" or "predictions".`);
    });
  }

  if (s.prompts !== undefined) {
    const t = s.prompts;
    if (!isObj(t) || typeof t.system !== 'string' || typeof t.decision !== 'string' || typeof t.introspection !== 'string')
      p.push('prompts must have string fields system, decision and introspection.');
    else p.push(...checkTemplates(t as unknown as PromptTemplates).map((m) => `prompts: ${m}`));
  }
  if (p.length) throw new SpecError(p);
  return input as unknown as ExperimentSpec;
}

/** Problems with a condition's `intervention` (for the spec's validator). */
function interventionProblems(at: string, v: unknown, model: unknown): string[] {
  if (!isObj(v)) return [`${at}: intervention must be an object {adapterScale?, steer?, stated?}.`];
  const p: string[] = [];
  const known = ['adapterScale', 'steer', 'stated'];
  for (const k of Object.keys(v)) if (!known.includes(k)) p.push(`${at}: intervention has an unknown field "${k}" (known: ${known.join(', ')}).`);
  if (v.adapterScale !== undefined) {
    if (typeof v.adapterScale !== 'number' || !Number.isFinite(v.adapterScale) || v.adapterScale < 0) p.push(`${at}: intervention.adapterScale must be a number ≥ 0.`);
    else if (isObj(model)) {
      const simTarget = isSimulatedId(String(model.id)) && (() => {
        try {
          return parseSimulatedId(String(model.id)).weights === 'target';
        } catch {
          return false;
        }
      })();
      if (!model.adapter && !simTarget) p.push(`${at}: intervention.adapterScale needs a model with an adapter (or a simulated model with weights=target).`);
    }
  }
  if (v.steer !== undefined) {
    const st = v.steer;
    if (!isObj(st) || !(st.attribute === 'random' || isCount(st.attribute, 0)) || (st.direction !== 1 && st.direction !== -1))
      p.push(`${at}: intervention.steer must be {attribute: an attribute index or "random", direction: 1 or -1}.`);
  }
  if (v.stated !== undefined && v.stated !== 'target' && v.stated !== 'random') p.push(`${at}: intervention.stated must be "target" or "random".`);
  return p;
}

/** Problems with a condition's `examples` field (for the spec's validator). */
function examplesProblems(v: unknown, at: string): string[] {
  if (typeof v !== 'object' || v === null) return [`${at}: examples must be an object {k, answers}.`];
  const e = v as Record<string, unknown>;
  const p: string[] = [];
  if (!Number.isInteger(e.k) || (e.k as number) < 0) p.push(`${at}: examples.k must be an integer ≥ 0.`);
  if (e.answers !== 'target' && e.answers !== 'learned') p.push(`${at}: examples.answers must be "target" or "learned".`);
  if (e.answers === 'learned' && (typeof e.weights !== 'object' || e.weights === null)) p.push(`${at}: examples.weights must give the learned weights per context when answers is "learned".`);
  return p;
}

function observeProblems(at: string, o: unknown, pools: Map<string, { model: string; size: number }>, aboutModel: string | undefined): string[] {
  if (!isObj(o) || !isCount(o.k, 0)) return [`${at}: observe needs k, an integer ≥ 0 (decisions shown).`];
  if (o.pool === undefined && o.k === 0) return [];
  if (typeof o.pool !== 'string') return [`${at}: observe needs a "pool" condition key to show ${o.k} decisions from.`];
  const pool = pools.get(o.pool);
  if (!pool) return [`${at}: observe.pool "${o.pool}" must name a decisions condition with a pool size.`];
  const p: string[] = [];
  if (aboutModel !== undefined && pool.model !== aboutModel)
    p.push(`${at}: observe.pool "${o.pool}" holds decisions of "${pool.model}", but the reports are about "${aboutModel}".`);
  if ((o.k as number) > pool.size) p.push(`${at}: observe.k ${o.k} is more than the pool's ${pool.size} decisions per scenario.`);
  return p;
}

export function parseSpec(json: string): ExperimentSpec {
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch (e) {
    throw new SpecError([`The spec is not valid JSON: ${(e as Error).message}`]);
  }
  return validateSpec(obj);
}

/** The models a condition loads (decider or reporter). */
export function conditionModel(c: Condition): string {
  return c.kind === 'decisions' ? c.model : c.reporter;
}
