/**
 * A run record as the paper's CSV files, so `cli analyze` and the paper's own
 * R scripts read our runs. One selections file per decision condition and one
 * weight-reports file per report condition: pooling them would mix models.
 * The first of each kind gets the plain name (selections.csv,
 * weight_reports.csv); others are suffixed with their condition key.
 */
import { writePaperScenariosCsv, writeSelectionsCsv, writeTargetWeightsCsv, writeWeightReportsCsv } from './paper-csv';
import type { Trial } from './plan';
import type { RunRecord } from './runs';

export type CsvFiles = Record<string, string>;

export function runToPaperCsv(record: RunRecord): CsvFiles {
  const trials = new Map<string, Trial>(record.plan.trials.map((t) => [t.id, t]));
  const modelId = new Map(record.spec.models.map((m) => [m.key, m.id]));
  const files: CsvFiles = {
    'scenarios.csv': writePaperScenariosCsv(record.plan.scenarios.map((p) => p.scenario)),
    'target_weights.csv': writeTargetWeightsCsv(record.plan.scenarios.map((p) => [p.scenario.id, p.target] as const)),
  };
  let firstDecisions = true;
  let firstReports = true;
  for (const c of record.spec.conditions) {
    const results = record.results.filter((r) => trials.get(r.trialId)?.condition === c.key);
    if (c.kind === 'decisions') {
      const name = firstDecisions ? 'selections.csv' : `selections.${c.key}.csv`;
      firstDecisions = false;
      files[name] = writeSelectionsCsv(
        results.flatMap((r) => {
          const t = trials.get(r.trialId)!;
          return r.kind === 'decision' ? [{ model: modelId.get(c.model)!, scenario: t.scenarioId, selection: r.choice, a: t.a, b: t.b, pA: r.pA }] : [];
        }),
      );
    } else {
      const name = firstReports ? 'weight_reports.csv' : `weight_reports.${c.key}.csv`;
      firstReports = false;
      files[name] = writeWeightReportsCsv(
        results.flatMap((r) => {
          const t = trials.get(r.trialId)!;
          if (r.kind !== 'report') return [];
          // Invalid replies become empty cells: the paper's readers count and drop them.
          const report = r.weights ?? t.a.map(() => null);
          return [{ explainingModel: modelId.get(c.reporter)!, version: c.key, scenario: t.scenarioId, report, a: t.a, b: t.b }];
        }),
      );
    }
  }
  return files;
}
