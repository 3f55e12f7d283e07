/**
 * Import and export of the scenario CSV format of Plunkett et al. (2025)
 * (`scenarios.csv`), so their contexts can be run here and the paper's R
 * scripts can read our runs:
 *
 *   scenario,question,attr1,…,attr5,attr1_min,…,attr5_min,attr1_max,…,attr5_max
 *
 * The format has no units column: imported attributes get units "", and units
 * are dropped on export. Row numbers in errors count data rows: row 1 is the
 * first row after the header (the numbering the paper's README uses: "rows
 * 101-200 are the latent contexts").
 */
import Papa from 'papaparse';
import type { Scenario } from './types';
import {
  DEFAULT_ATTRIBUTE_COUNT,
  SCENARIO_SET_FORMAT,
  SCENARIO_SET_VERSION,
  ScenarioFormatError,
  checkScenarioList,
  type FormatProblem,
  type ScenarioPath,
  type ScenarioSet,
  type ValidateOptions,
} from './format';

export interface PaperCsvImportOptions extends ValidateOptions {
  /**
   * Only these data rows, 1-based and inclusive: `[101, 200]` is the 101st to
   * the 200th scenario (header not counted). Default: all rows.
   */
  rows?: [number, number];
  /** Name of the returned set (default "Imported scenarios (paper CSV)"). */
  name?: string;
  description?: string;
  /** The file's name, for error messages ("Invalid scenario CSV runs/x/scenarios.csv …"). */
  source?: string;
}

/** Column names for `count` attributes, in the paper's order. */
export function paperCsvColumns(count: number = DEFAULT_ATTRIBUTE_COUNT): string[] {
  const idx = Array.from({ length: count }, (_, i) => i + 1);
  return [
    'scenario',
    'question',
    ...idx.map((i) => `attr${i}`),
    ...idx.map((i) => `attr${i}_min`),
    ...idx.map((i) => `attr${i}_max`),
  ];
}

/**
 * Attributes per scenario a CSV's header declares (its `attrN` columns), for
 * readers that accept any count; undefined when the header has none.
 */
export function paperCsvAttributeCount(csvText: string): number | undefined {
  const firstLine = csvText.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0];
  const header = Papa.parse<string[]>(firstLine, { delimiter: ',' }).data[0] ?? [];
  const n = header.filter((h) => /^attr\d+$/.test(h.trim())).length;
  return n > 0 ? n : undefined;
}

/** The CSV column that holds a scenario path's value. */
function columnFor(path: ScenarioPath): string {
  if (path.length === 0) return '';
  if (path[0] === 'id') return 'scenario';
  if (path[0] === 'question') return 'question';
  if (path[0] === 'attributes' && typeof path[1] === 'number') {
    const n = path[1] + 1;
    if (path[2] === 'min') return `attr${n}_min`;
    if (path[2] === 'max') return `attr${n}_max`;
    return `attr${n}`;
  }
  return String(path[0]);
}

function rowLocation(row: number, column: string): string {
  return column ? `row ${row}, ${column}` : `row ${row}`;
}

/** A strict number: decimal or exponent notation only (no empty cells, hex, "Infinity"). */
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Reads the paper's `scenarios.csv` format into a validated ScenarioSet.
 * Throws ScenarioFormatError listing every problem with its row and column.
 * Handles a BOM, CRLF line ends and quoted fields (commas, doubled quotes).
 */
export function importPaperScenariosCsv(csvText: string, options: PaperCsvImportOptions = {}): ScenarioSet {
  const count = options.attributeCount ?? DEFAULT_ATTRIBUTE_COUNT;
  const text = csvText.charCodeAt(0) === 0xfeff ? csvText.slice(1) : csvText;
  const what = options.source ? `scenario CSV ${options.source}` : 'scenario CSV';
  if (text.trim() === '') {
    throw new ScenarioFormatError([{ code: 'invalid_csv', location: '(file)', message: 'the file is empty' }], what);
  }

  const parsed = Papa.parse<Record<string, string>>(text, {
    header: true,
    skipEmptyLines: 'greedy',
    dynamicTyping: false,
    delimiter: ',',
    transformHeader: (h) => h.trim(),
  });

  const problems: FormatProblem[] = [];
  const header = parsed.meta.fields ?? [];
  const missing = paperCsvColumns(count).filter((c) => !header.includes(c));
  if (missing.length) {
    problems.push({
      code: 'missing_field',
      location: 'header',
      message: `the header lacks the column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}; expected ${paperCsvColumns(count).join(',')}`,
    });
    throw new ScenarioFormatError(problems, what);
  }

  const total = parsed.data.length;
  if (total === 0) {
    problems.push({ code: 'empty', location: '(file)', message: 'the file has a header but no scenario rows' });
    throw new ScenarioFormatError(problems, what);
  }
  let start = 1;
  let end = total;
  if (options.rows) {
    const [a, b] = options.rows;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < a || b > total) {
      problems.push({
        code: 'bad_rows',
        location: 'rows',
        message: `the row range [${a}, ${b}] is not valid for this file: it needs whole numbers with 1 ≤ start ≤ end ≤ ${total} (the file has ${total} data rows)`,
      });
      throw new ScenarioFormatError(problems, what);
    }
    [start, end] = [a, b];
  }
  const inRange = (row: number) => row >= start && row <= end;

  // Structural CSV problems (wrong number of fields, unclosed quotes). A row
  // with the wrong number of fields has its cells shifted, so its cells are
  // not checked one by one: the structural problem is the one to fix.
  const brokenRows = new Set<number>();
  const width = header.length;
  const seen = new Set<string>();
  for (const e of parsed.errors) {
    if (e.type === 'Quotes') {
      // Papa's row numbers for quote errors are unreliable (they count the
      // header and blank lines), so these are located by file line instead.
      const line = typeof e.index === 'number' ? text.slice(0, e.index).split('\n').length : undefined;
      const location = line !== undefined ? `line ${line}` : '(file)';
      if (seen.has(location)) continue;
      seen.add(location);
      problems.push({
        code: 'invalid_csv',
        location,
        message: 'a quoted field is not closed properly: a field that starts with a double quote must end with one, and a double quote inside it must be written twice ("")',
      });
      continue;
    }
    const row = typeof e.row === 'number' ? e.row + 1 : undefined;
    if (row !== undefined && !inRange(row)) continue;
    let message: string;
    if (e.code === 'TooFewFields' || e.code === 'TooManyFields') {
      const got = /parsed (\d+)/.exec(e.message)?.[1] ?? '?';
      message =
        `this row has ${got} fields but the header has ${width}` +
        (e.code === 'TooManyFields' ? ' (is there an unquoted comma in the question? put the question in double quotes)' : '');
    } else {
      message = `the CSV cannot be read here: ${e.message}`;
    }
    if (row !== undefined) brokenRows.add(row);
    problems.push({ code: 'invalid_csv', location: row !== undefined ? rowLocation(row, '') : '(file)', message, ...(row !== undefined ? { row } : {}) });
  }

  // Cells → scenario-like objects. Empty and non-numeric cells are reported
  // here with CSV wording; the shared checks below do the rest.
  const rows = parsed.data.slice(start - 1, end);
  const candidates: unknown[] = [];
  const candidateRows: number[] = [];
  rows.forEach((cells, k) => {
    const row = start + k;
    if (brokenRows.has(row)) return;
    const cell = (c: string) => (cells[c] ?? '').trim();
    const text = (c: string, what: string): string | undefined => {
      const s = cell(c);
      if (s !== '') return s;
      problems.push({ code: 'missing_field', location: rowLocation(row, c), message: `the ${c} cell is empty; it needs ${what}`, row });
      return undefined;
    };
    const num = (c: string): number | undefined => {
      const s = cell(c);
      if (s === '') {
        problems.push({ code: 'missing_field', location: rowLocation(row, c), message: `the ${c} cell is empty; it needs a number`, row });
        return undefined;
      }
      if (!NUMBER_TEXT.test(s) || !Number.isFinite(Number(s))) {
        problems.push({ code: 'not_finite', location: rowLocation(row, c), message: `the ${c} cell must be a finite number, but it is ${JSON.stringify(s)}`, row });
        return undefined;
      }
      return Number(s);
    };
    candidateRows.push(row);
    candidates.push({
      id: text('scenario', 'the scenario id'),
      question: text('question', 'the question'),
      attributes: Array.from({ length: count }, (_, i) => ({
        name: text(`attr${i + 1}`, 'an attribute name'),
        units: '',
        min: num(`attr${i + 1}_min`),
        max: num(`attr${i + 1}_max`),
      })),
    });
  });

  const cellProblems = new Set(problems.map((p) => p.location));
  const checked = checkScenarioList(
    candidates,
    (k, path) => {
      const row = candidateRows[k];
      return { location: rowLocation(row, columnFor(path)), row };
    },
    { ...options, attributeCount: count },
  );
  // An empty or bad cell was already explained above; drop the generic "has no …" echo.
  for (const p of checked.problems) {
    if (p.code === 'missing_field' && cellProblems.has(p.location)) continue;
    problems.push(p);
  }

  if (problems.length) {
    problems.sort((x, y) => (x.row ?? 0) - (y.row ?? 0));
    throw new ScenarioFormatError(problems, what);
  }
  const set: ScenarioSet = {
    format: SCENARIO_SET_FORMAT,
    version: SCENARIO_SET_VERSION,
    name: options.name ?? 'Imported scenarios (paper CSV)',
    scenarios: checked.scenarios,
  };
  if (options.description !== undefined) set.description = options.description;
  return set;
}

/** Numbers as Python/pandas writes floats: `70.0`, `0.1`, `1e-07` style is left to JS (`1e-7`); R reads both. */
function pyFloat(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e16 ? x.toFixed(1) : String(x);
}

/**
 * Writes scenarios in the paper's `scenarios.csv` format (LF line ends, a
 * trailing newline, fields quoted only where needed). Units are not part of
 * the format and are dropped. All scenarios must have the same number of
 * attributes.
 */
export function exportPaperScenariosCsv(scenarios: readonly Scenario[]): string {
  const count = scenarios.length ? scenarios[0].attributes.length : DEFAULT_ATTRIBUTE_COUNT;
  const problems: FormatProblem[] = [];
  scenarios.forEach((s, k) => {
    if (s.attributes.length !== count) {
      problems.push({
        code: 'attribute_count',
        location: `scenarios[${k}].attributes`,
        message: `every scenario in a CSV needs the same number of attributes (${count}), but "${s.id}" has ${s.attributes.length}`,
      });
    }
  });
  if (problems.length) throw new ScenarioFormatError(problems, 'scenario list for CSV export');

  const fields = paperCsvColumns(count);
  const data = scenarios.map((s) => [
    s.id,
    s.question,
    ...s.attributes.map((a) => a.name),
    ...s.attributes.map((a) => pyFloat(a.min)),
    ...s.attributes.map((a) => pyFloat(a.max)),
  ]);
  return Papa.unparse({ fields, data }, { newline: '\n', quotes: false }) + '\n';
}
