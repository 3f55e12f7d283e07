/**
 * The scenario-set file format (JSON), documented in docs/scenario-format.md:
 *
 *   {
 *     "format": "introspection-lab/scenarios",
 *     "version": 1,
 *     "name": "My contexts",
 *     "description": "optional",
 *     "scenarios": [
 *       { "id": "castle", "question": "Imagine you are Macbeth. Which castle would you prefer?",
 *         "attributes": [ { "name": "wall_thickness", "units": "m", "min": 1, "max": 6 }, ... ] }
 *     ]
 *   }
 *
 * Validation collects every problem it finds (it does not stop at the first)
 * and throws one ScenarioFormatError listing them, each with a JSON-path-like
 * location such as `scenarios[3].attributes[1].max`.
 */
import type { Attribute, Scenario } from './types';

export const SCENARIO_SET_FORMAT = 'introspection-lab/scenarios';
export const SCENARIO_SET_VERSION = 1;
/** Attributes per scenario in the paper's design (and the default required count). */
export const DEFAULT_ATTRIBUTE_COUNT = 5;

/** A named list of scenarios, as stored in a scenario-set file. */
export interface ScenarioSet {
  format: typeof SCENARIO_SET_FORMAT;
  version: typeof SCENARIO_SET_VERSION;
  name: string;
  description?: string;
  scenarios: Scenario[];
}

/** What kind of problem a FormatProblem is (stable; the message is for people). */
export type FormatProblemCode =
  | 'invalid_json'
  | 'invalid_csv'
  | 'not_an_object'
  | 'wrong_format'
  | 'wrong_version'
  | 'missing_field'
  | 'wrong_type'
  | 'empty'
  | 'not_finite'
  | 'not_snake_case'
  | 'duplicate_id'
  | 'duplicate_attribute'
  | 'affix_attribute'
  | 'attribute_count'
  | 'bad_range'
  | 'bad_rows';

export interface FormatProblem {
  code: FormatProblemCode;
  /** Where: `scenarios[3].attributes[1].max` for JSON, `row 12, attr3_max` for CSV. */
  location: string;
  /** Plain-language explanation. */
  message: string;
  /** CSV only: 1-based data row (the first row after the header is row 1). */
  row?: number;
}

const MAX_PROBLEMS_IN_MESSAGE = 20;

/** Thrown when a scenario set (JSON or CSV) is not valid; `problems` lists every problem found. */
export class ScenarioFormatError extends Error {
  readonly problems: FormatProblem[];

  constructor(problems: FormatProblem[], what = 'scenario set') {
    const n = problems.length;
    const shown = problems
      .slice(0, MAX_PROBLEMS_IN_MESSAGE)
      .map((p) => `  - ${p.location}: ${p.message}`);
    if (n > MAX_PROBLEMS_IN_MESSAGE) shown.push(`  … and ${n - MAX_PROBLEMS_IN_MESSAGE} more`);
    super(`Invalid ${what} (${n} problem${n === 1 ? '' : 's'}):\n${shown.join('\n')}`);
    this.name = 'ScenarioFormatError';
    this.problems = problems;
  }
}

export interface ValidateOptions {
  /** Attributes each scenario must have (default 5, as in the paper). */
  attributeCount?: number;
  /**
   * Also reject attribute names that are a prefix or suffix of another name in
   * the same scenario (`speed` next to `top_speed`), which makes self-report
   * parsing ambiguous. Off by default: the paper's own contexts have some.
   */
  forbidAffixNames?: boolean;
}

/** Lowercase letters and digits in words joined by single underscores (`3d_printer`, `caffeine_content`). */
const SNAKE_CASE = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

export function isSnakeCase(s: string): boolean {
  return SNAKE_CASE.test(s);
}

/** A path inside one scenario: ['id'], ['question'], ['attributes'], ['attributes', 2, 'max']. */
export type ScenarioPath = readonly (string | number)[];

/** Reports a problem found in one scenario; the caller turns the path into a location. */
export type ScenarioReporter = (path: ScenarioPath, code: FormatProblemCode, message: string) => void;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  if (typeof x === 'string') return `the text ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)}`;
  if (typeof x === 'number') return `the number ${x}`;
  if (typeof x === 'object') return 'an object';
  return `${typeof x} ${String(x)}`;
}

function fmtNum(x: number): string {
  return String(x);
}

/**
 * Checks one scenario-like value and returns a clean copy, or null when it is
 * too broken to copy. Every problem goes to `report`. Shared by the JSON
 * validator and the CSV importer so both apply the same rules.
 */
export function checkScenario(
  raw: unknown,
  report: ScenarioReporter,
  options: ValidateOptions = {},
): Scenario | null {
  const count = options.attributeCount ?? DEFAULT_ATTRIBUTE_COUNT;
  if (!isRecord(raw)) {
    report([], 'not_an_object', `a scenario must be an object with id, question and attributes, but this is ${describe(raw)}`);
    return null;
  }
  let ok = true;

  const id = raw.id;
  if (id === undefined) {
    report(['id'], 'missing_field', 'the scenario has no "id"');
    ok = false;
  } else if (typeof id !== 'string') {
    report(['id'], 'wrong_type', `the id must be text, but it is ${describe(id)}`);
    ok = false;
  } else if (id.trim() === '') {
    report(['id'], 'empty', 'the id is empty');
    ok = false;
  } else if (!isSnakeCase(id)) {
    report(['id'], 'not_snake_case', `the id ${JSON.stringify(id)} must be snake_case: lowercase letters and digits joined by single underscores, e.g. "loose_leaf_tea"`);
    ok = false;
  }

  const question = raw.question;
  if (question === undefined) {
    report(['question'], 'missing_field', 'the scenario has no "question"');
    ok = false;
  } else if (typeof question !== 'string') {
    report(['question'], 'wrong_type', `the question must be text, but it is ${describe(question)}`);
    ok = false;
  } else if (question.trim() === '') {
    report(['question'], 'empty', 'the question is empty');
    ok = false;
  }

  const attrsRaw = raw.attributes;
  const attributes: Attribute[] = [];
  if (attrsRaw === undefined) {
    report(['attributes'], 'missing_field', `the scenario has no "attributes" (it needs a list of ${count})`);
    ok = false;
  } else if (!Array.isArray(attrsRaw)) {
    report(['attributes'], 'wrong_type', `"attributes" must be a list of ${count} attributes, but it is ${describe(attrsRaw)}`);
    ok = false;
  } else {
    if (attrsRaw.length !== count) {
      report(['attributes'], 'attribute_count', `a scenario needs exactly ${count} attributes, but this one has ${attrsRaw.length}`);
      ok = false;
    }
    const firstByName = new Map<string, number>();
    attrsRaw.forEach((a, i) => {
      const attr = checkAttribute(a, i, report);
      if (!attr) {
        ok = false;
        return;
      }
      attributes.push(attr);
      const first = firstByName.get(attr.name);
      if (first !== undefined) {
        report(['attributes', i, 'name'], 'duplicate_attribute', `the attribute name "${attr.name}" is already used by attribute ${first + 1} of this scenario`);
        ok = false;
      } else {
        firstByName.set(attr.name, i);
      }
    });
    if (options.forbidAffixNames && attributes.length === attrsRaw.length) {
      attributes.forEach((a, i) => {
        attributes.forEach((b, j) => {
          if (i === j || a.name === b.name) return;
          if (b.name.startsWith(a.name) || b.name.endsWith(a.name)) {
            const how = b.name.startsWith(a.name) ? 'prefix' : 'suffix';
            report(['attributes', i, 'name'], 'affix_attribute', `the attribute name "${a.name}" is a ${how} of "${b.name}" (attribute ${j + 1}), which makes self-reports ambiguous`);
            ok = false;
          }
        });
      });
    }
  }

  if (!ok) return null;
  return { id: id as string, question: question as string, attributes };
}

function checkAttribute(raw: unknown, i: number, report: ScenarioReporter): Attribute | null {
  const at = (field?: string): ScenarioPath => (field ? ['attributes', i, field] : ['attributes', i]);
  if (!isRecord(raw)) {
    report(at(), 'not_an_object', `an attribute must be an object with name, units, min and max, but this is ${describe(raw)}`);
    return null;
  }
  let ok = true;

  const name = raw.name;
  if (name === undefined) {
    report(at('name'), 'missing_field', 'the attribute has no "name"');
    ok = false;
  } else if (typeof name !== 'string') {
    report(at('name'), 'wrong_type', `the attribute name must be text, but it is ${describe(name)}`);
    ok = false;
  } else if (name.trim() === '') {
    report(at('name'), 'empty', 'the attribute name is empty');
    ok = false;
  } else if (!isSnakeCase(name)) {
    report(at('name'), 'not_snake_case', `the attribute name ${JSON.stringify(name)} must be snake_case: lowercase letters and digits joined by single underscores, e.g. "caffeine_content"`);
    ok = false;
  }

  let units = '';
  if (raw.units !== undefined) {
    if (typeof raw.units !== 'string') {
      report(at('units'), 'wrong_type', `units must be text (or left out), but they are ${describe(raw.units)}`);
      ok = false;
    } else {
      units = raw.units;
    }
  }

  const num = (field: 'min' | 'max'): number | null => {
    const v = raw[field];
    if (v === undefined) {
      report(at(field), 'missing_field', `the attribute has no "${field}"`);
      return null;
    }
    if (typeof v !== 'number') {
      report(at(field), 'wrong_type', `${field} must be a number, but it is ${describe(v)}`);
      return null;
    }
    if (!Number.isFinite(v)) {
      report(at(field), 'not_finite', `${field} must be a finite number, but it is ${String(v)}`);
      return null;
    }
    return v;
  };
  const min = num('min');
  const max = num('max');
  if (min === null || max === null) ok = false;
  else if (!(min < max)) {
    report(at('max'), 'bad_range', `max (${fmtNum(max)}) must be greater than min (${fmtNum(min)})`);
    ok = false;
  }

  if (!ok) return null;
  return { name: name as string, units, min: min as number, max: max as number };
}

/** `scenarios[3].attributes[1].max` */
export function jsonPath(base: string, path: ScenarioPath): string {
  let s = base;
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `${s ? '.' : ''}${p}`;
  return s || '(top level)';
}

/**
 * Checks a list of scenarios (ids unique across the list) and returns the clean
 * copies and every problem found; `locate` turns (index, path) into a location.
 */
export function checkScenarioList(
  list: readonly unknown[],
  locate: (index: number, path: ScenarioPath) => { location: string; row?: number },
  options: ValidateOptions = {},
): { scenarios: Scenario[]; problems: FormatProblem[] } {
  const problems: FormatProblem[] = [];
  const scenarios: Scenario[] = [];
  const firstById = new Map<string, number>();
  list.forEach((raw, k) => {
    const report: ScenarioReporter = (path, code, message) => problems.push({ code, message, ...locate(k, path) });
    const s = checkScenario(raw, report, options);
    // Duplicate ids are reported even when the rest of the scenario is broken.
    const id = isRecord(raw) && typeof raw.id === 'string' && raw.id !== '' ? raw.id : null;
    if (id !== null) {
      const first = firstById.get(id);
      if (first !== undefined) {
        report(['id'], 'duplicate_id', `the id "${id}" is already used by ${locate(first, []).location}; scenario ids must be unique`);
        return;
      }
      firstById.set(id, k);
    }
    if (s) scenarios.push(s);
  });
  return { scenarios, problems };
}

/** Checks any value against the scenario-set format; throws ScenarioFormatError listing every problem. */
export function validateScenarioSet(obj: unknown, options: ValidateOptions = {}): ScenarioSet {
  const count = options.attributeCount ?? DEFAULT_ATTRIBUTE_COUNT;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`attributeCount must be a positive integer, got ${count}`);
  }
  const problems: FormatProblem[] = [];
  const add = (code: FormatProblemCode, location: string, message: string) => problems.push({ code, location, message });

  if (!isRecord(obj)) {
    add('not_an_object', '(top level)', `a scenario set must be a JSON object with "format", "version", "name" and "scenarios", but this is ${describe(obj)}`);
    throw new ScenarioFormatError(problems);
  }

  if (obj.format === undefined) {
    add('missing_field', 'format', `the "format" field is missing; it must be "${SCENARIO_SET_FORMAT}"`);
  } else if (obj.format !== SCENARIO_SET_FORMAT) {
    add('wrong_format', 'format', `this is not a scenario set: "format" must be "${SCENARIO_SET_FORMAT}", but it is ${describe(obj.format)}`);
  }

  if (obj.version === undefined) {
    add('missing_field', 'version', `the "version" field is missing; it must be ${SCENARIO_SET_VERSION}`);
  } else if (obj.version !== SCENARIO_SET_VERSION) {
    add('wrong_version', 'version', `unsupported version ${describe(obj.version)}; this program reads version ${SCENARIO_SET_VERSION}`);
  }

  if (obj.name === undefined) {
    add('missing_field', 'name', 'the set has no "name"');
  } else if (typeof obj.name !== 'string') {
    add('wrong_type', 'name', `the name must be text, but it is ${describe(obj.name)}`);
  } else if (obj.name.trim() === '') {
    add('empty', 'name', 'the name is empty');
  }

  if (obj.description !== undefined && typeof obj.description !== 'string') {
    add('wrong_type', 'description', `the description must be text (or left out), but it is ${describe(obj.description)}`);
  }

  let scenarios: Scenario[] = [];
  if (obj.scenarios === undefined) {
    add('missing_field', 'scenarios', 'the set has no "scenarios" list');
  } else if (!Array.isArray(obj.scenarios)) {
    add('wrong_type', 'scenarios', `"scenarios" must be a list, but it is ${describe(obj.scenarios)}`);
  } else if (obj.scenarios.length === 0) {
    add('empty', 'scenarios', 'the set contains no scenarios');
  } else {
    const checked = checkScenarioList(
      obj.scenarios,
      (k, path) => ({ location: jsonPath(`scenarios[${k}]`, path) }),
      { ...options, attributeCount: count },
    );
    problems.push(...checked.problems);
    scenarios = checked.scenarios;
  }

  if (problems.length) throw new ScenarioFormatError(problems);

  const set: ScenarioSet = {
    format: SCENARIO_SET_FORMAT,
    version: SCENARIO_SET_VERSION,
    name: obj.name as string,
    scenarios,
  };
  if (typeof obj.description === 'string') set.description = obj.description;
  return set;
}

/** Line and column of a JSON.parse error, where the engine's message gives a position. */
function jsonErrorWhere(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return '(top level)';
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `line ${line}, column ${col}`;
}

/** Parses and validates the text of a scenario-set file. A leading BOM is ignored. */
export function parseScenarioSet(jsonText: string, options: ValidateOptions = {}): ScenarioSet {
  const text = jsonText.charCodeAt(0) === 0xfeff ? jsonText.slice(1) : jsonText;
  if (text.trim() === '') {
    throw new ScenarioFormatError([{ code: 'invalid_json', location: '(top level)', message: 'the file is empty' }]);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ScenarioFormatError([
      { code: 'invalid_json', location: jsonErrorWhere(text, msg), message: `the file is not valid JSON (${msg})` },
    ]);
  }
  return validateScenarioSet(obj, options);
}

/** Stable, pretty JSON: fixed key order, two-space indent, one attribute per line, trailing newline. */
export function serializeScenarioSet(set: ScenarioSet): string {
  const q = JSON.stringify;
  const lines: string[] = ['{'];
  lines.push(`  "format": ${q(set.format)},`);
  lines.push(`  "version": ${q(set.version)},`);
  lines.push(`  "name": ${q(set.name)},`);
  if (set.description !== undefined) lines.push(`  "description": ${q(set.description)},`);
  if (set.scenarios.length === 0) {
    lines.push('  "scenarios": []');
  } else {
    lines.push('  "scenarios": [');
    set.scenarios.forEach((s, k) => {
      lines.push('    {');
      lines.push(`      "id": ${q(s.id)},`);
      lines.push(`      "question": ${q(s.question)},`);
      lines.push('      "attributes": [');
      s.attributes.forEach((a, i) => {
        const comma = i < s.attributes.length - 1 ? ',' : '';
        lines.push(
          `        { "name": ${q(a.name)}, "units": ${q(a.units)}, "min": ${q(a.min)}, "max": ${q(a.max)} }${comma}`,
        );
      });
      lines.push('      ]');
      lines.push(`    }${k < set.scenarios.length - 1 ? ',' : ''}`);
    });
    lines.push('  ]');
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
