/**
 * A run as files: the paper's CSVs (via src/lib/paper-csv.ts) and run.json
 * (the whole RunRecord), and reading a run.json back. Pure: returns strings;
 * the page turns them into downloads.
 */
import { runToPaperCsv } from '../lib/experiment/run-export';
import { indexResults, RUN_FORMAT, RUN_VERSION, type RunRecord, type RunStatus, type TrialResult } from '../lib/experiment/runs';
import { validateSpec } from '../lib/experiment/spec';
import { slug } from './format';

export interface ExportFile {
  name: string;
  text: string;
  mime: string;
}

const CSV = 'text/csv';

/** The paper's CSV files of a run (one rule for the lab and the CLI: src/lib/experiment/run-export.ts). */
export function runCsvFiles(record: RunRecord): ExportFile[] {
  return runToPaperCsv(record).map((f) => ({ ...f, mime: CSV }));
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
