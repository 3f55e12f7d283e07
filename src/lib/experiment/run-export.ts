/**
 * A run record as the paper's CSV files, so `cli analyze` and the paper's own
 * R scripts read our runs. Rows follow the plan's order.
 *
 * selections.csv holds the first decision condition and weight_reports.csv the
 * first report condition (the self-report in the presets). With more than one
 * condition of a kind, each also gets its own file, `selections_<key>.csv` or
 * `weight_reports_<key>.csv`: pooling conditions would mix models.
 * A simulated model's id is written with " (simulated)" after it.
 */
import { writeSelectionsCsv, writeTargetWeightsCsv, writeWeightReportsCsv } from '../paper-csv';
import { exportPaperScenariosCsv } from '../scenarios/paper-csv';
import { resultsInPlanOrder, type RunRecord } from './runs';
import type { Condition } from './spec';
import { exportedModelId } from './simulated';

export interface CsvFile {
  name: string;
  text: string;
}

function selections(record: RunRecord, key: string): string {
  const modelId = new Map(record.spec.models.map((m) => [m.key, exportedModelId(m.id)]));
  return writeSelectionsCsv(
    resultsInPlanOrder(record).flatMap(({ trial, result }) =>
      trial.kind === 'decision' && result.kind === 'decision' && trial.condition === key
        ? [{
            model: modelId.get(trial.model) ?? trial.model, scenario: trial.scenarioId, selection: result.choice, a: trial.a, b: trial.b,
            pA: result.pA, labelMass: result.labelMass, index: trial.index, ...(trial.swapped ? { swapped: true } : {}),
          }]
        : [],
    ),
  );
}

function weightReports(record: RunRecord, key: string): string {
  const modelId = new Map(record.spec.models.map((m) => [m.key, exportedModelId(m.id)]));
  return writeWeightReportsCsv(
    resultsInPlanOrder(record).flatMap(({ trial, result }) => {
      if (trial.kind !== 'report' || result.kind !== 'report' || trial.condition !== key) return [];
      // An invalid reply keeps its reason in the first cell: the paper's readers count such rows as invalid.
      const report = result.weights ?? [`invalid: ${result.invalid?.reason ?? 'no weights'}`, ...trial.a.slice(1).map(() => null)];
      return [{ explainingModel: modelId.get(trial.reporter) ?? trial.reporter, version: trial.condition, scenario: trial.scenarioId, report, a: trial.a, b: trial.b }];
    }),
  );
}

function filesFor(kind: Condition['kind'], conditions: readonly Condition[], base: string, write: (key: string) => string): CsvFile[] {
  const keys = conditions.filter((c) => c.kind === kind).map((c) => c.key);
  if (!keys.length) return [];
  return [{ name: `${base}.csv`, text: write(keys[0]) }, ...(keys.length > 1 ? keys.map((k) => ({ name: `${base}_${k}.csv`, text: write(k) })) : [])];
}

export function runToPaperCsv(record: RunRecord): CsvFile[] {
  const conditions = record.spec.conditions;
  return [
    { name: 'scenarios.csv', text: exportPaperScenariosCsv(record.plan.scenarios.map((p) => p.scenario)) },
    ...filesFor('decisions', conditions, 'selections', (k) => selections(record, k)),
    ...filesFor('reports', conditions, 'weight_reports', (k) => weightReports(record, k)),
    { name: 'target_weights.csv', text: writeTargetWeightsCsv(record.plan.scenarios.map((p) => [p.scenario.id, p.target] as const)) },
  ];
}
