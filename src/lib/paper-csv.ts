/**
 * Readers and writers for the CSV formats of Plunkett et al. (2025)'s published data
 * (see shared/reference/plunkett-2025/README.md):
 *
 * - selections:      model, scenario, selection, A_attribute_1..k, B_attribute_1..k [, p_A, label_mass, index, swapped]
 *                    (our optional extra columns: the model's probability of A, the probability it
 *                    put on the labels at all, the plan's trial index and, for counterbalanced runs,
 *                    1 where the pair was shown with A and B swapped)
 * - weight reports:  explaining_model, version, scenario, report_attr1..k [, A_attribute_*, B_attribute_*]
 *                    rows with a non-numeric report cell are invalid: counted, not used
 * - target weights:  scenario, attr1..k            (instilled_weights.csv)
 * - regression:      scenario, b_attr1..k          (*_regression_results.csv)
 *
 * The scenarios file (scenarios.csv) has its own reader with located errors:
 * src/lib/scenarios/paper-csv.ts.
 *
 * Pure (string in, string out): file IO lives in cli/. Errors name the source and
 * the row; rows count data rows, row 1 being the first row after the header (as in
 * src/lib/scenarios/paper-csv.ts and the paper's README: "rows 101-200").
 */
import Papa from 'papaparse';

export class PaperCsvError extends Error {
  constructor(
    readonly source: string,
    message: string,
    /** Data row (1 = first row after the header), or 'header'. */
    readonly row?: number | 'header',
  ) {
    super(`${source}: ${row === 'header' ? 'header: ' : row !== undefined ? `row ${row}: ` : ''}${message}`);
    this.name = 'PaperCsvError';
  }
}

export interface CsvSourceOptions {
  /** Name used in error messages (a file name); default names the format, e.g. 'selections CSV'. */
  source?: string;
}

type Row = Record<string, string | undefined>;

interface ParsedTable {
  fields: string[];
  rows: Row[];
  /** Data-row indices (0-based) papaparse flagged as having too few / too many fields. */
  mismatched: Map<number, string>;
}

function parseTable(text: string, source: string): ParsedTable {
  const clean = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (clean.trim() === '') throw new PaperCsvError(source, 'file is empty');
  const result = Papa.parse<Row>(clean, {
    header: true,
    delimiter: ',',
    skipEmptyLines: 'greedy',
    transformHeader: (h) => h.trim(),
  });
  const mismatched = new Map<number, string>();
  for (const e of result.errors) {
    if (e.type === 'FieldMismatch' && e.row !== undefined) {
      mismatched.set(e.row, e.message);
    } else {
      throw new PaperCsvError(source, `CSV syntax error: ${e.message}`, e.row !== undefined ? e.row + 1 : undefined);
    }
  }
  const fields = (result.meta.fields ?? []).filter((f) => f !== '');
  const dup = fields.find((f, i) => fields.indexOf(f) !== i);
  if (dup) throw new PaperCsvError(source, `duplicate column "${dup}" in header`, 'header');
  return { fields, rows: result.data, mismatched };
}

function requireColumns(table: ParsedTable, source: string, columns: readonly string[]): void {
  const missing = columns.filter((c) => !table.fields.includes(c));
  if (missing.length > 0) {
    throw new PaperCsvError(source, `missing column(s) ${missing.join(', ')} (header has: ${table.fields.join(', ')})`, 'header');
  }
}

/** Numbered columns `prefix1..k` (or `prefix_1..k`): k, checking they run 1..k without gaps. */
function countNumbered(table: ParsedTable, source: string, pattern: RegExp, label: string): number {
  const nums = table.fields
    .map((f) => pattern.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (nums.length === 0) throw new PaperCsvError(source, `no ${label} columns in header`, 'header');
  nums.forEach((n, i) => {
    if (n !== i + 1) throw new PaperCsvError(source, `${label} columns must be numbered 1..${nums.length} without gaps`, 'header');
  });
  return nums.length;
}

/** Strict number: trimmed, non-empty, finite. */
export function parseNumberCell(cell: string | undefined): number | undefined {
  if (cell === undefined) return undefined;
  const s = cell.trim();
  if (s === '') return undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

function numberAt(row: Row, column: string, source: string, rowNumber: number): number {
  const v = parseNumberCell(row[column]);
  if (v === undefined) {
    throw new PaperCsvError(source, `column ${column} must be a number, got ${JSON.stringify(row[column] ?? '')}`, rowNumber);
  }
  return v;
}

function textAt(row: Row, column: string, source: string, rowNumber: number): string {
  const v = (row[column] ?? '').trim();
  if (v === '') throw new PaperCsvError(source, `column ${column} is empty`, rowNumber);
  return v;
}

function checkNoMismatch(table: ParsedTable, source: string): void {
  for (const [i, message] of table.mismatched) throw new PaperCsvError(source, message, i + 1);
}

function unparse(fields: string[], data: unknown[][]): string {
  return Papa.unparse({ fields, data }, { newline: '\n' }) + '\n';
}

function range(k: number): number[] {
  return Array.from({ length: k }, (_, i) => i + 1);
}

// ─── selections ────────────────────────────────────────────────────────────

export interface SelectionRow {
  model: string;
  scenario: string;
  selection: 'A' | 'B';
  /** Option A's attribute values (A_attribute_1..k). */
  a: number[];
  /** Option B's attribute values (B_attribute_1..k). */
  b: number[];
  /** The model's probability of choosing A (our optional `p_A` column). */
  pA?: number;
  /** Probability mass on the two labels (`label_mass`). */
  labelMass?: number;
  /** The plan's trial index (`index`): both orders of a counterbalanced pair share it. */
  index?: number;
  /** Shown with A and B swapped (`swapped` = 1). */
  swapped?: boolean;
}

export function parseSelectionsCsv(text: string, options: CsvSourceOptions = {}): SelectionRow[] {
  const source = options.source ?? 'selections CSV';
  const t = parseTable(text, source);
  checkNoMismatch(t, source);
  requireColumns(t, source, ['model', 'scenario', 'selection']);
  const k = countNumbered(t, source, /^A_attribute_(\d+)$/, 'A_attribute_N');
  const kb = countNumbered(t, source, /^B_attribute_(\d+)$/, 'B_attribute_N');
  if (k !== kb) throw new PaperCsvError(source, `${k} A_attribute columns but ${kb} B_attribute columns`, 'header');
  const hasP = t.fields.includes('p_A');
  return t.rows.map((row, i) => {
    const rn = i + 1;
    const selection = (row.selection ?? '').trim().toUpperCase();
    if (selection !== 'A' && selection !== 'B') {
      throw new PaperCsvError(source, `selection must be A or B, got ${JSON.stringify(row.selection ?? '')}`, rn);
    }
    const out: SelectionRow = {
      model: (row.model ?? '').trim(),
      scenario: textAt(row, 'scenario', source, rn),
      selection,
      a: range(k).map((j) => numberAt(row, `A_attribute_${j}`, source, rn)),
      b: range(k).map((j) => numberAt(row, `B_attribute_${j}`, source, rn)),
    };
    if (hasP && (row.p_A ?? '').trim() !== '') {
      const p = numberAt(row, 'p_A', source, rn);
      if (p < 0 || p > 1) throw new PaperCsvError(source, `p_A must be in [0, 1], got ${p}`, rn);
      out.pA = p;
    }
    if ((row.label_mass ?? '').trim() !== '') out.labelMass = numberAt(row, 'label_mass', source, rn);
    if ((row.index ?? '').trim() !== '') {
      const index = numberAt(row, 'index', source, rn);
      if (!Number.isInteger(index) || index < 0) throw new PaperCsvError(source, `index must be a whole number ≥ 0, got ${index}`, rn);
      out.index = index;
    }
    if ((row.swapped ?? '').trim() === '1') out.swapped = true;
    return out;
  });
}

/** A selection row to write (read-only arrays accepted). */
export type SelectionWriteRow = Omit<SelectionRow, 'a' | 'b'> & { a: readonly number[]; b: readonly number[] };

export function writeSelectionsCsv(rows: readonly SelectionWriteRow[]): string {
  const k = rows.length > 0 ? rows[0].a.length : 5;
  const withP = rows.some((r) => r.pA !== undefined);
  const withMass = rows.some((r) => r.labelMass !== undefined);
  const withIndex = rows.some((r) => r.index !== undefined);
  const withOrder = rows.some((r) => r.swapped);
  const fields = [
    'model', 'scenario', 'selection',
    ...range(k).map((j) => `A_attribute_${j}`),
    ...range(k).map((j) => `B_attribute_${j}`),
    ...(withP ? ['p_A'] : []),
    ...(withMass ? ['label_mass'] : []),
    ...(withIndex ? ['index'] : []),
    ...(withOrder ? ['swapped'] : []),
  ];
  const data = rows.map((r) => {
    if (r.a.length !== k || r.b.length !== k) throw new RangeError(`writeSelectionsCsv: rows with different attribute counts`);
    return [
      r.model, r.scenario, r.selection, ...r.a, ...r.b,
      ...(withP ? [r.pA ?? ''] : []),
      ...(withMass ? [r.labelMass ?? ''] : []),
      ...(withIndex ? [r.index ?? ''] : []),
      ...(withOrder ? [r.swapped ? 1 : 0] : []),
    ];
  });
  return unparse(fields, data);
}

// ─── weight reports ────────────────────────────────────────────────────────

export interface WeightReportRow {
  explainingModel: string;
  version: string;
  scenario: string;
  /** The reported weights report_attr1..k. */
  report: number[];
  /** The options shown with the question (A_attribute_*, B_attribute_*), when present. */
  a?: number[];
  b?: number[];
}

export interface InvalidReportRow {
  /** Data row (1 = first row after the header). */
  row: number;
  scenario: string;
  reason: string;
}

export interface WeightReports {
  reports: WeightReportRow[];
  /** Rows whose report cells are not all numbers (invalid responses): counted, not used. */
  invalid: InvalidReportRow[];
}

export function parseWeightReportsCsv(text: string, options: CsvSourceOptions = {}): WeightReports {
  const source = options.source ?? 'weight reports CSV';
  const t = parseTable(text, source);
  requireColumns(t, source, ['scenario']);
  const k = countNumbered(t, source, /^report_attr(\d+)$/, 'report_attrN');
  const hasA = t.fields.includes('A_attribute_1');
  const hasB = t.fields.includes('B_attribute_1');
  const kA = hasA ? countNumbered(t, source, /^A_attribute_(\d+)$/, 'A_attribute_N') : 0;
  const kB = hasB ? countNumbered(t, source, /^B_attribute_(\d+)$/, 'B_attribute_N') : 0;
  const reports: WeightReportRow[] = [];
  const invalid: InvalidReportRow[] = [];
  t.rows.forEach((row, i) => {
    const rn = i + 1;
    const scenario = textAt(row, 'scenario', source, rn);
    const mismatch = t.mismatched.get(i);
    if (mismatch) {
      invalid.push({ row: rn, scenario, reason: mismatch });
      return;
    }
    const report = range(k).map((j) => parseNumberCell(row[`report_attr${j}`]));
    const bad = report.findIndex((v) => v === undefined);
    if (bad >= 0) {
      invalid.push({
        row: rn,
        scenario,
        reason: `report_attr${bad + 1} is not a number: ${JSON.stringify(row[`report_attr${bad + 1}`] ?? '')}`,
      });
      return;
    }
    const out: WeightReportRow = {
      explainingModel: (row.explaining_model ?? '').trim(),
      version: (row.version ?? '').trim(),
      scenario,
      report: report as number[],
    };
    // Option values are context only: keep them when they parse, never reject a report for them.
    if (hasA) {
      const a = range(kA).map((j) => parseNumberCell(row[`A_attribute_${j}`]));
      if (a.every((v) => v !== undefined)) out.a = a as number[];
    }
    if (hasB) {
      const b = range(kB).map((j) => parseNumberCell(row[`B_attribute_${j}`]));
      if (b.every((v) => v !== undefined)) out.b = b as number[];
    }
    reports.push(out);
  });
  return { reports, invalid };
}

/** A report row to write; report cells may be raw text (an unparseable response) or null (empty). */
export interface WeightReportWriteRow {
  explainingModel: string;
  version: string;
  scenario: string;
  report: readonly (number | string | null)[];
  a?: readonly number[];
  b?: readonly number[];
}

export function writeWeightReportsCsv(rows: readonly WeightReportWriteRow[]): string {
  const k = rows.length > 0 ? rows[0].report.length : 5;
  const kOpt = rows.find((r) => r.a)?.a?.length ?? 0;
  const fields = [
    'explaining_model', 'version', 'scenario',
    ...range(k).map((j) => `report_attr${j}`),
    ...range(kOpt).map((j) => `A_attribute_${j}`),
    ...range(kOpt).map((j) => `B_attribute_${j}`),
  ];
  const data = rows.map((r) => {
    if (r.report.length !== k) throw new RangeError('writeWeightReportsCsv: rows with different report lengths');
    const opt = (v: readonly number[] | undefined) => range(kOpt).map((j) => v?.[j - 1] ?? '');
    return [r.explainingModel, r.version, r.scenario, ...r.report.map((v) => v ?? ''), ...opt(r.a), ...opt(r.b)];
  });
  return unparse(fields, data);
}

// ─── per-scenario weight tables (target weights, regression results) ───────

function parseWeightTable(text: string, source: string, pattern: RegExp, prefix: string): Map<string, number[]> {
  const t = parseTable(text, source);
  checkNoMismatch(t, source);
  requireColumns(t, source, ['scenario']);
  const k = countNumbered(t, source, pattern, `${prefix}N`);
  const out = new Map<string, number[]>();
  t.rows.forEach((row, i) => {
    const rn = i + 1;
    const scenario = textAt(row, 'scenario', source, rn);
    if (out.has(scenario)) throw new PaperCsvError(source, `scenario ${scenario} appears twice`, rn);
    out.set(scenario, range(k).map((j) => numberAt(row, `${prefix}${j}`, source, rn)));
  });
  return out;
}

function writeWeightTable(weights: Iterable<readonly [string, readonly number[]]>, prefix: string): string {
  const entries = [...weights];
  const k = entries.length > 0 ? entries[0][1].length : 5;
  const fields = ['scenario', ...range(k).map((j) => `${prefix}${j}`)];
  return unparse(fields, entries.map(([s, w]) => [s, ...w]));
}

/** instilled_weights.csv: `scenario, attr1..k` → scenario → target weights. */
export function parseTargetWeightsCsv(text: string, options: CsvSourceOptions = {}): Map<string, number[]> {
  return parseWeightTable(text, options.source ?? 'target weights CSV', /^attr(\d+)$/, 'attr');
}

export function writeTargetWeightsCsv(weights: Iterable<readonly [string, readonly number[]]>): string {
  return writeWeightTable(weights, 'attr');
}

/** *_regression_results.csv: `scenario, b_attr1..k` → scenario → learned weights. */
export function parseRegressionResultsCsv(text: string, options: CsvSourceOptions = {}): Map<string, number[]> {
  return parseWeightTable(text, options.source ?? 'regression results CSV', /^b_attr(\d+)$/, 'b_attr');
}

export function writeRegressionResultsCsv(weights: Iterable<readonly [string, readonly number[]]>): string {
  return writeWeightTable(weights, 'b_attr');
}
