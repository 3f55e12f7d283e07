/**
 * Run → causal-consistency analysis (src/lib/analysis/causal.ts): what the
 * Results page shows for a run with interventions and what
 * `cli analyze --run DIR --json` prints as `causal`. Pure; partial runs give
 * provisional numbers on the scenarios that have results.
 *
 * Each decision condition with an intervention (not an example pool) is
 * compared with the same model's first decision condition without one (its
 * baseline); the reports of each are its self-report conditions (reporter =
 * the model, no observers, no in-context examples) about that condition.
 */
import { causalConsistency, type CausalResult, type CausalScenario } from '../lib/analysis/causal';
import type { Intervention, ReportCondition, DecisionCondition } from '../lib/experiment/spec';
import type { RunRecord } from '../lib/experiment/runs';
import { decisionsOf, reportsOf } from './run-analysis';

export interface CausalEntry {
  /** Model key. */
  model: string;
  condition: string;
  baseline: string;
  intervention: Intervention;
  result: CausalResult;
}

export interface CausalOptions {
  resamples?: number;
  seed?: string;
  soft?: boolean;
}

/** Self-report conditions about a decision condition (the model describing itself). */
function selfReports(record: RunRecord, d: DecisionCondition): string[] {
  return record.spec.conditions
    .filter((c): c is ReportCondition => c.kind === 'reports' && c.about === d.key && c.reporter === d.model && !c.observe && !c.examples)
    .map((c) => c.key);
}

export function causalOf(record: RunRecord, opts: CausalOptions = {}): CausalEntry[] {
  const decisions = record.spec.conditions.filter((c): c is DecisionCondition => c.kind === 'decisions' && c.pool === undefined);
  const out: CausalEntry[] = [];
  for (const d of decisions) {
    if (!d.intervention) continue;
    const baseline = decisions.find((b) => b.model === d.model && !b.intervention);
    if (!baseline) continue;
    // The steered attribute and stated weights per scenario, as the plan resolved them.
    const perScenario = new Map<string, CausalScenario>();
    for (const p of record.plan.scenarios) perScenario.set(p.scenario.id, { id: p.scenario.id, attributes: p.scenario.attributes, ...(d.intervention.adapterScale !== undefined ? { target: p.target } : {}) });
    for (const t of record.plan.trials) {
      if (t.condition !== d.key || !t.intervention) continue;
      const s = perScenario.get(t.scenarioId)!;
      if (t.intervention.steer && !s.steer) s.steer = t.intervention.steer;
      if (t.intervention.stated && !s.stated) s.stated = t.intervention.stated;
    }
    const arm = (c: DecisionCondition) => ({ decisions: decisionsOf(record, c.key), reports: selfReports(record, c).flatMap((k) => reportsOf(record, k).rows) });
    const a = arm(baseline);
    const b = arm(d);
    if (!a.decisions.length || !b.decisions.length) continue;
    const result = causalConsistency({
      scenarios: [...perScenario.values()],
      baseline: a,
      intervened: b,
      soft: opts.soft,
      bootstrap: { resamples: opts.resamples, seed: opts.seed },
    });
    out.push({ model: d.model, condition: d.key, baseline: baseline.key, intervention: d.intervention, result });
  }
  return out;
}

// Unrounded (null where undefined), so the page's numbers can be checked against the CLI's within 1e-9.
const r4 = (x: number): number | null => (Number.isFinite(x) ? x : null);
const ci4 = (c: [number, number]) => c.map(r4);

/** The `causal` section of `analyze --run --json`. */
export function causalToJson(entries: readonly CausalEntry[]): Record<string, unknown>[] {
  return entries.map(({ model, condition, baseline, intervention, result: r }) => ({
    model,
    condition,
    baseline,
    intervention,
    r_delta: r4(r.delta.r),
    ci: ci4(r.delta.ci),
    n_scenarios: r.n_scenarios,
    behaviour_moved: r.behaviour_moved,
    movement: { half_r: r4(r.movement.half_r), reliability: r4(r.movement.reliability), ci: ci4(r.movement.ci), n_scenarios: r.movement.n_scenarios },
    steered_shift: r.steered_shift ? { learned: r4(r.steered_shift.learned), reported: r4(r.steered_shift.reported), sign_agreement: r.steered_shift.sign_agreement } : null,
    ...(r.vs_target ? { learned_vs_target: { r: r4(r.vs_target.learned.r), ci: ci4(r.vs_target.learned.ci) }, reported_vs_target: { r: r4(r.vs_target.reported.r), ci: ci4(r.vs_target.reported.ci) } } : {}),
    ...(r.stated ? { learned_vs_stated: { r: r4(r.stated.r), ci: ci4(r.stated.ci) } } : {}),
    verdict: r.verdict,
    why: r.why,
  }));
}
