/**
 * Loading a scenario file chosen by a person (the lab's "Load a file…") or
 * named on the command line (`cli run --scenario-file`): our scenario-set JSON
 * or the paper's `scenarios.csv`, told apart by content first and by the
 * file's extension second, with an optional row range for the paper's CSV
 * (its file has 1,100 rows; rows 1–100 are the instilled contexts).
 *
 * Every failure is a ScenarioFormatError whose problems say where
 * (`scenarios[3].attributes[1].max`, `row 12, attr3_max`, `rows`, `(file)`)
 * and what is wrong. Pure: no DOM, no Node.
 */
import {
  importPaperScenariosCsv,
  paperCsvColumns,
  parseScenarioSet,
  ScenarioFormatError,
  type FormatProblem,
  type ScenarioSet,
} from '../lib/scenarios';

export type ScenarioFileKind = 'json' | 'paper-csv';

export const SCENARIO_FILE_KIND_LABELS: Record<ScenarioFileKind, string> = {
  json: 'scenario-set JSON',
  'paper-csv': "the paper's CSV format",
};

/** What the lab's file input accepts. */
export const SCENARIO_FILE_ACCEPT = '.json,.csv,application/json,text/csv';

const WHAT = 'scenario file';

function fail(problem: Omit<FormatProblem, 'code'> & { code?: FormatProblem['code'] }): never {
  throw new ScenarioFormatError([{ code: 'wrong_format', ...problem }], WHAT);
}

function extensionOf(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

const KNOWN_WRONG: Record<string, string> = {
  xlsx: 'an Excel workbook',
  xls: 'an Excel workbook',
  ods: 'a spreadsheet document',
  numbers: 'a Numbers document',
  tsv: 'tab-separated text',
  zip: 'a zip archive',
  pdf: 'a PDF document',
};

const EXPECTED = `a scenario-set JSON file (.json, "format": "introspection-lab/scenarios") or the paper's scenarios.csv (.csv, header ${paperCsvColumns().slice(0, 4).join(',')},…)`;

/**
 * Which format a file is in. Content decides where it is clear (a JSON object
 * or list; a CSV header naming the paper's `scenario` and `question` columns);
 * otherwise the extension (.json or .csv) does, so that a damaged file is
 * still reported by the right reader. Anything else is refused with a
 * problem saying what was expected.
 */
export function detectScenarioFile(fileName: string, text: string): ScenarioFileKind {
  const body = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).trimStart();
  const ext = extensionOf(fileName);
  // Binary files (spreadsheets, archives, images) hold NUL bytes or replacement characters when read as text.
  if (/[\u0000\ufffd]/.test(body.slice(0, 4096)) || body.startsWith('PK\u0003\u0004')) {
    fail({
      location: '(file)',
      message: `${fileName || 'this file'} is not text${KNOWN_WRONG[ext] ? ` (it looks like ${KNOWN_WRONG[ext]}${ext.startsWith('xls') || ext === 'ods' || ext === 'numbers' ? '; save it as CSV first' : ''})` : ''}; expected ${EXPECTED}`,
    });
  }
  if (body.startsWith('{') || body.startsWith('[')) return 'json';
  const firstLine = body.split(/\r?\n/, 1)[0] ?? '';
  const header = firstLine.split(',').map((h) => h.trim().replace(/^"|"$/g, ''));
  if (header.length > 1 && header.includes('scenario') && header.includes('question')) return 'paper-csv';
  if (ext === 'json') return 'json';
  if (ext === 'csv') return 'paper-csv';
  if (body === '') fail({ code: 'empty', location: '(file)', message: `${fileName || 'the file'} is empty; expected ${EXPECTED}` });
  fail({
    location: '(file)',
    message: `${fileName || 'this file'} is ${KNOWN_WRONG[ext] ?? 'neither a scenario-set JSON file nor a scenario CSV'}; expected ${EXPECTED}`,
  });
}

/**
 * A row range as a person types it: "1-100", "1–100", "1 to 100", "101..200",
 * or a single row "7". Empty text means all rows (undefined). Bad text throws
 * a ScenarioFormatError located at `rows`.
 */
export function parseRowRange(text: string | undefined): [number, number] | undefined {
  const t = (text ?? '').trim();
  if (t === '') return undefined;
  const m = /^(\d+)\s*(?:(?:-|–|—|\.\.|to)\s*(\d+))?$/i.exec(t);
  const range: [number, number] | null = m ? [Number(m[1]), Number(m[2] ?? m[1])] : null;
  if (!range || range[0] < 1 || range[1] < range[0]) {
    fail({
      code: 'bad_rows',
      location: 'rows',
      message: `"${t}" is not a row range: write the first and last data row, as in 1-100 (row 1 is the first row after the header)`,
    });
  }
  return range;
}

export function formatRowRange(rows: [number, number]): string {
  return rows[0] === rows[1] ? `row ${rows[0]}` : `rows ${rows[0]}–${rows[1]}`;
}

export interface ScenarioFileImport {
  set: ScenarioSet;
  kind: ScenarioFileKind;
  fileName: string;
  /** The CSV rows used, where a range was given. */
  rows?: [number, number];
}

export interface ScenarioFileOptions {
  /** Paper CSV only: data rows, 1-based and inclusive. */
  rows?: [number, number];
}

function baseName(fileName: string): string {
  return fileName.split(/[\\/]/).pop() || fileName;
}

/**
 * Reads a scenario file into a validated scenario set (see detectScenarioFile
 * for how the format is chosen). A paper CSV's set is named after the file
 * and its rows; a JSON set keeps its own name. Throws ScenarioFormatError.
 */
export function importScenarioFile(fileName: string, text: string, options: ScenarioFileOptions = {}): ScenarioFileImport {
  const kind = detectScenarioFile(fileName, text);
  const name = baseName(fileName);
  if (kind === 'json') {
    if (options.rows) {
      fail({
        code: 'bad_rows',
        location: 'rows',
        message: `a row range applies to the paper's scenarios.csv only; ${name || 'this file'} is a scenario-set JSON file (leave the range empty)`,
      });
    }
    return { set: parseScenarioSet(text), kind, fileName: name };
  }
  const rows = options.rows;
  const set = importPaperScenariosCsv(text, {
    ...(rows ? { rows } : {}),
    name: rows ? `${name} (${formatRowRange(rows)})` : name || 'Imported scenarios (paper CSV)',
    description: `Imported from the paper's CSV format${name ? ` (${name}${rows ? `, ${formatRowRange(rows)}` : ''})` : ''}. The format has no units.`,
  });
  return { set, kind, fileName: name, ...(rows ? { rows } : {}) };
}

/** Problems of any error, as ScenarioFormatError lists them (other errors become one `(file)` problem). */
export function problemsOf(e: unknown): FormatProblem[] {
  if (e instanceof ScenarioFormatError) return e.problems;
  return [{ code: 'wrong_format', location: '(file)', message: e instanceof Error ? e.message : String(e) }];
}
