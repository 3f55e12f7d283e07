/** A stand-in for a model that copies the prompt: a run record whose valid reports are option A's displayed values. */
import { formatValue } from '../../src/lib/prompts';
import type { RunRecord } from '../../src/lib/experiment/runs';

/** Every valid report replaced by option A's values as the prompt showed them, clipped to the report range ±100. */
export function copyingReports(record: RunRecord): RunRecord {
  const trials = new Map(record.plan.trials.map((t) => [t.id, t]));
  const attrs = new Map(record.plan.scenarios.map((p) => [p.scenario.id, p.scenario.attributes]));
  const results = record.results.map((r) => {
    const t = trials.get(r.trialId)!;
    if (r.kind !== 'report' || !r.weights) return r;
    return { ...r, weights: t.a.map((v, i) => Math.max(-100, Math.min(100, Number(formatValue(v, attrs.get(t.scenarioId)![i]))))) };
  });
  return { ...record, results };
}
