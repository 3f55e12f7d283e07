/**
 * Run → privileged-access analysis (src/lib/analysis/privileged.ts): what the
 * Results page shows for a run with two or more models and what
 * `cli analyze --run DIR --json` prints as `privileged_access`. Pure, and
 * works on partial runs (live updates): scenarios without results yet are
 * left out, and `complete` says whether every trial has run.
 *
 * Which trials feed what:
 * - learned weights of a model: its first decision condition that is not an
 *   example pool, fitted exactly as the lab's other analyses fit it;
 * - a reporter's reports: all its report conditions without `observe` (the
 *   introspection prompt, the same whatever decisions it is scored against);
 * - observers: report conditions with `observe`, pooled per (reporter,
 *   target model, k); at k = 0 they serve every target;
 * - the statistical observer: the first k decisions of the target's pool.
 */
import { reportedWeights, DEFAULT_SEED, type Decision } from '../lib/analysis';
import { privilegedAccess, type PrivilegedInput } from '../lib/analysis/privileged';
import type { PAModel, PrivilegedAccess } from '../lib/analysis/privileged-types';
import { learnedWeights } from '../lib/analysis/weights';
import { decisionsToFit, type PositionedDecision } from '../lib/analysis/position';
import { DEFAULT_OBSERVE_K } from '../lib/experiment/presets';
import type { RunRecord } from '../lib/experiment/runs';
import { conditionIntervention } from '../lib/experiment/plan';
import { isSimulatedId } from '../lib/experiment/simulated';
import type { DecisionCondition, ModelRef, ReportCondition } from '../lib/experiment/spec';

export interface PrivilegedOptions {
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Bootstrap seed (default the analysis default). */
  seed?: string;
  /** Fit P(A) instead of the 0/1 choices (unset: as the lab, soft only where the hard fit is degenerate). */
  soft?: boolean;
}

/** A model's label; a simulated model's always says "simulated". */
export function modelLabel(m: PAModel): string {
  return m.simulated && !/simulated/i.test(m.label) ? `${m.label} (simulated)` : m.label;
}

/** A model as the privileged-access views name it; a simulated one says so. */
function paModel(m: ModelRef): PAModel {
  const simulated = isSimulatedId(m.id);
  return { key: m.key, label: modelLabel({ key: m.key, label: m.label ?? m.id, simulated }), simulated };
}

type Grouped<T> = Map<string, Map<string, T[]>>; // condition → scenario → items (plan order)

function push<T>(g: Grouped<T>, condition: string, scenario: string, item: T) {
  let byScenario = g.get(condition);
  if (!byScenario) g.set(condition, (byScenario = new Map()));
  let list = byScenario.get(scenario);
  if (!list) byScenario.set(scenario, (list = []));
  list.push(item);
}

/** Mean valid report per scenario, scaled ±100, pooling several conditions. */
function meanReports(reports: Grouped<number[]>, keys: readonly string[]): Map<string, number[]> {
  const pooled = new Map<string, number[][]>();
  for (const key of keys)
    for (const [scenario, list] of reports.get(key) ?? []) {
      const into = pooled.get(scenario) ?? [];
      into.push(...list);
      pooled.set(scenario, into);
    }
  return new Map([...pooled].map(([s, list]) => [s, reportedWeights(list)]));
}

/**
 * Learned weights per scenario exactly as the lab's other analyses fit them
 * (src/lib/analysis/analyze.ts): the fit chosen for the whole condition (the
 * soft one when asked, or when the hard one is degenerate), counterbalanced
 * pairs debiased for a soft fit.
 */
function learnedAsTheLab(byScenario: Map<string, PositionedDecision[]>, attrs: Map<string, PrivilegedInput['scenarios'][number]['attributes']>, soft?: boolean): Map<string, number[]> {
  const { fit, byScenario: fitted } = decisionsToFit([...byScenario.values()].flat(), soft);
  return new Map([...fitted].map(([s, ds]) => [s, learnedWeights(attrs.get(s)!, ds, { soft: fit === 'soft' }).weights]));
}

export function privilegedAccessOf(record: RunRecord, opts: PrivilegedOptions = {}): PrivilegedAccess | null {
  const spec = record.spec;
  if (spec.models.length < 2) return null;
  const decisions: Grouped<PositionedDecision> = new Map();
  const reports: Grouped<number[]> = new Map();
  // Plan order (pool decisions by index), without building a pair per trial: this runs on every live update.
  const byId = new Map(record.results.map((r) => [r.trialId, r]));
  for (const trial of record.plan.trials) {
    const result = byId.get(trial.id);
    if (!result) continue;
    if (trial.kind === 'decision' && result.kind === 'decision')
      push(decisions, trial.condition, trial.scenarioId, { scenario: trial.scenarioId, a: trial.a, b: trial.b, choice: result.choice, pA: result.pA, index: trial.index, ...(trial.swapped ? { swapped: true } : {}) });
    else if (result.kind === 'report' && result.weights) push(reports, trial.condition, trial.scenarioId, result.weights);
  }

  const decisionConds = spec.conditions.filter((c): c is DecisionCondition => c.kind === 'decisions');
  const reportConds = spec.conditions.filter((c): c is ReportCondition => c.kind === 'reports');
  const deciderOf = new Map(decisionConds.map((c) => [c.key, c.model]));
  const scenarios = record.plan.scenarios.map((p) => ({ id: p.scenario.id, attributes: p.scenario.attributes }));
  const attrs = new Map(scenarios.map((s) => [s.id, s.attributes]));

  const learned = new Map<string, Map<string, number[]>>();
  const pools = new Map<string, Map<string, Decision[]>>();
  for (const m of spec.models) {
    // An intervened condition (issue 18) describes the model changed: not its learned weights or self-reports here.
    const own = decisionConds.find((c) => c.model === m.key && c.pool === undefined && !c.intervention);
    const byScenario = own && decisions.get(own.key);
    if (byScenario) learned.set(m.key, learnedAsTheLab(byScenario, attrs, opts.soft));
    const pool = decisionConds.find((c) => c.model === m.key && c.pool !== undefined);
    const poolDecisions = pool && decisions.get(pool.key);
    if (poolDecisions) pools.set(m.key, poolDecisions);
  }

  const reported = new Map<string, Map<string, number[]>>();
  for (const m of spec.models) {
    const keys = reportConds.filter((c) => c.reporter === m.key && !c.observe && !conditionIntervention(spec, c)).map((c) => c.key);
    const mean = meanReports(reports, keys);
    if (mean.size) reported.set(m.key, mean);
  }

  const observerGroups = new Map<string, { reporter: string; target: string | null; k: number; keys: string[] }>();
  for (const c of reportConds) {
    if (!c.observe) continue;
    const target = c.observe.k === 0 ? null : (deciderOf.get(c.about) ?? null);
    const id = `${c.reporter}|${target}|${c.observe.k}`;
    const g = observerGroups.get(id) ?? { reporter: c.reporter, target, k: c.observe.k, keys: [] };
    g.keys.push(c.key);
    observerGroups.set(id, g);
  }
  const observed: PrivilegedInput['observed'] = [...observerGroups.values()]
    .map((g) => ({ reporter: g.reporter, target: g.target, k: g.k, reported: meanReports(reports, g.keys) }))
    .filter((o) => o.reported.size > 0);

  const observerKs = [...observerGroups.values()].map((g) => g.k);
  const done = byId.size;
  return privilegedAccess({
    models: spec.models.map((m) => ({ ...paModel(m), decides: decisionConds.some((c) => c.model === m.key && c.pool === undefined && !c.intervention) })),
    scenarios,
    learned,
    reported,
    observed,
    pools,
    ks: observerKs.length ? observerKs : DEFAULT_OBSERVE_K,
    complete: done === record.plan.trials.length,
    bootstrap: { resamples: opts.resamples, seed: opts.seed ?? DEFAULT_SEED },
  });
}
