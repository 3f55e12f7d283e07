/**
 * A run as files: the paper's CSVs (via src/lib/paper-csv.ts) and run.json
 * (the whole RunRecord), and reading a run.json back. Pure: returns strings;
 * the page turns them into downloads.
 */
import {
  writePaperScenariosCsv,
  writeSelectionsCsv,
  writeTargetWeightsCsv,
  writeWeightReportsCsv,
  type SelectionWriteRow,
  type WeightReportWriteRow,
} from '../lib/paper-csv';
import { indexResults, RUN_FORMAT, RUN_VERSION, type RunRecord, type RunStatus, type TrialResult } from '../lib/runs';
import { validateSpec } from '../lib/spec';
import { resultsInPlanOrder } from './run-analysis';
import { slug } from './format';

export interface ExportFile {
  name: string;
  text: string;
  mime: string;
}

const CSV = 'text/csv';

function modelIdOf(record: RunRecord, key: string): string {
  return record.spec.models.find((m) => m.key === key)?.id ?? key;
}

/** selections.csv rows: every decision result, in plan order, with P(A). */
export function selectionRows(record: RunRecord): SelectionWriteRow[] {
  const rows: SelectionWriteRow[] = [];
  for (const { trial, result } of resultsInPlanOrder(record)) {
    if (trial.kind !== 'decision' || result.kind !== 'decision') continue;
    rows.push({ model: modelIdOf(record, trial.model), scenario: trial.scenarioId, selection: result.choice, a: trial.a, b: trial.b, pA: result.pA });
  }
  return rows;
}

/**
 * weight_reports.csv rows: explaining_model = the reporter's model id,
 * version = the report condition's key. An invalid report keeps its reason in
 * the first report cell (so a reader counts it as invalid, as in the paper's data).
 */
export function weightReportRows(record: RunRecord, conditionKey?: string): WeightReportWriteRow[] {
  const rows: WeightReportWriteRow[] = [];
  for (const { trial, result } of resultsInPlanOrder(record)) {
    if (trial.kind !== 'report' || result.kind !== 'report') continue;
    if (conditionKey && trial.condition !== conditionKey) continue;
    const k = trial.a.length;
    const report: (number | string | null)[] = result.weights
      ? result.weights
      : [`invalid: ${result.invalid?.reason ?? 'no weights'}`, ...Array.from({ length: k - 1 }, () => null)];
    rows.push({ explainingModel: modelIdOf(record, trial.reporter), version: trial.condition, scenario: trial.scenarioId, report, a: trial.a, b: trial.b });
  }
  return rows;
}

/**
 * The CSV files of a run. weight_reports.csv holds every report condition;
 * with more than one, weight_reports_<condition>.csv holds each alone, which is
 * what `cli analyze --reports` needs to reproduce one condition's r.
 */
export function runCsvFiles(record: RunRecord): ExportFile[] {
  const files: ExportFile[] = [
    { name: 'scenarios.csv', text: writePaperScenariosCsv(record.plan.scenarios.map((p) => p.scenario)), mime: CSV },
    { name: 'selections.csv', text: writeSelectionsCsv(selectionRows(record)), mime: CSV },
  ];
  const reportKeys = record.spec.conditions.filter((c) => c.kind === 'reports').map((c) => c.key);
  if (reportKeys.length) {
    files.push({ name: 'weight_reports.csv', text: writeWeightReportsCsv(weightReportRows(record)), mime: CSV });
    if (reportKeys.length > 1)
      for (const key of reportKeys)
        files.push({ name: `weight_reports_${slug(key)}.csv`, text: writeWeightReportsCsv(weightReportRows(record, key)), mime: CSV });
  }
  files.push({
    name: 'target_weights.csv',
    text: writeTargetWeightsCsv(record.plan.scenarios.map((p) => [p.scenario.id, p.target] as const)),
    mime: CSV,
  });
  return files;
}

export function runJson(record: RunRecord): ExportFile {
  return { name: 'run.json', text: JSON.stringify(record, null, 1), mime: 'application/json' };
}

/** A prefix for downloaded file names: "classroom-demo-20261122-…". */
export function exportPrefix(record: RunRecord): string {
  return `${slug(record.spec.name)}-${record.id.replace(/^run-/, '')}`;
}

export class RunImportError extends Error {
  override name = 'RunImportError';
}

const STATUSES: RunStatus[] = ['running', 'paused', 'cancelled', 'done', 'failed'];

/** Read a run.json: checks the format, the spec, and that every result belongs to the plan. */
export function parseRunJson(text: string): RunRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new RunImportError(`This file is not valid JSON: ${(e as Error).message}`);
  }
  const r = obj as Partial<RunRecord> | null;
  if (!r || typeof r !== 'object') throw new RunImportError('This file does not hold a run.');
  if (r.format !== RUN_FORMAT) throw new RunImportError(`This is not a run file (format should be "${RUN_FORMAT}").`);
  if (r.version !== RUN_VERSION) throw new RunImportError(`Run file version ${String(r.version)} is not supported; this lab reads version ${RUN_VERSION}.`);
  if (typeof r.id !== 'string' || !r.id) throw new RunImportError('The run has no id.');
  if (!r.plan || !Array.isArray(r.plan.trials) || !Array.isArray(r.plan.scenarios)) throw new RunImportError('The run has no trial plan.');
  if (!Array.isArray(r.results)) throw new RunImportError('The run has no results list.');
  if (!STATUSES.includes(r.status as RunStatus)) throw new RunImportError(`Unknown run status ${JSON.stringify(r.status)}.`);
  try {
    validateSpec(r.spec);
  } catch (e) {
    throw new RunImportError(`The run's experiment spec is invalid: ${(e as Error).message}`);
  }
  const record = r as RunRecord;
  let byId: Map<string, TrialResult>;
  try {
    byId = indexResults(record.plan, record.results);
  } catch (e) {
    throw new RunImportError((e as Error).message);
  }
  if (byId.size !== record.results.length) throw new RunImportError('The run holds the same trial twice.');
  return { ...record, engines: record.engines ?? {} };
}
