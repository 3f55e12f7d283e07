// Decision contexts: the built-in set, the scenario-set JSON format and its
// validation errors, and the importer/exporter for the paper's scenarios.csv.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ScenarioFormatError,
  buildScenarios,
  builtinChoiceTypes,
  builtinRoles,
  builtinScenarioSet,
  exportPaperScenariosCsv,
  importPaperScenariosCsv,
  paperCsvColumns,
  parseScenarioSet,
  serializeScenarioSet,
  validateScenarioSet,
  type FormatProblem,
  type Scenario,
  type ScenarioSet,
  type ValidateOptions,
} from '../src/lib/scenarios';
import { roundingPrecision } from '../src/lib/sampling';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const referenceDir = path.resolve(repoRoot, '../shared/reference/plunkett-2025');
const paperCsvPath = path.join(referenceDir, 'scenarios.csv');
const paperCsvExists = existsSync(paperCsvPath);
if (!paperCsvExists) {
  console.warn(`scenarios.test: skipping the paper-CSV tests on the real file: ${paperCsvPath} is absent (the reference data is not checked out next to the repo).`);
}

// ---------------------------------------------------------------- helpers

function scenario(id: string, overrides: Partial<Scenario> = {}): Scenario {
  return {
    id,
    question: `Imagine you are Macbeth. Which ${id.replace(/_/g, ' ')} would you prefer?`,
    attributes: [
      { name: 'wall_thickness', units: 'm', min: 1, max: 6 },
      { name: 'tower_count', units: 'towers', min: 2, max: 16 },
      { name: 'moat_width', units: 'm', min: 0, max: 30 },
      { name: 'garrison_size', units: 'soldiers', min: 20, max: 500 },
      { name: 'well_depth', units: 'm', min: 0.1, max: 0.6 },
    ],
    ...overrides,
  };
}

function set(scenarios: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { format: 'introspection-lab/scenarios', version: 1, name: 'test set', scenarios, ...extra };
}

/** The problems a validation throws (fails the test when it does not throw). */
function problemsOf(fn: () => unknown): FormatProblem[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioFormatError);
    return (e as ScenarioFormatError).problems;
  }
  throw new Error('expected a ScenarioFormatError, but nothing was thrown');
}

function problemsOfSet(obj: unknown, options?: ValidateOptions): FormatProblem[] {
  return problemsOf(() => validateScenarioSet(obj, options));
}

/** Deep-copies a valid scenario and breaks it with `mutate`. */
function broken(mutate: (s: Record<string, any>) => void, id = 'galleon'): Record<string, unknown> {
  const s = JSON.parse(JSON.stringify(scenario(id)));
  mutate(s);
  return s;
}

const HEADER = paperCsvColumns().join(',');
function csvRow(id: string, question: string, names: string[], mins: number[], maxs: number[]): string {
  const q = /[",\n]/.test(question) ? `"${question.replace(/"/g, '""')}"` : question;
  return [id, q, ...names, ...mins, ...maxs].join(',');
}
const NAMES = ['alpha_level', 'beta_count', 'gamma_size', 'delta_rate', 'epsilon_score'];
const MINS = [0, 1, 0.1, 5, 10];
const MAXS = [10, 4, 0.5, 50, 100];

// ---------------------------------------------------------------- built-in set

describe('built-in decision contexts', () => {
  const types = builtinChoiceTypes();
  const roles = builtinRoles();

  it('has at least 125 distinct choice types and 160 distinct roles', () => {
    expect(types.length).toBeGreaterThanOrEqual(125);
    expect(new Set(types.map((t) => t.id)).size).toBe(types.length);
    expect(new Set(types.map((t) => t.question)).size).toBe(types.length);
    expect(roles.length).toBeGreaterThanOrEqual(160);
    expect(new Set(roles).size).toBe(roles.length);
    for (const r of roles) expect(r.trim()).toBe(r);
  });

  it('choice types are well formed: role-free question, 5 attributes with units and ranges', () => {
    for (const t of types) {
      expect(t.id).toMatch(/^[a-z0-9]+(_[a-z0-9]+)*$/);
      expect(t.question).toMatch(/^Which .+\?$/);
      expect(t.question).not.toMatch(/Imagine/);
      expect(t.attributes).toHaveLength(5);
      for (const a of t.attributes) {
        expect(a.name).toMatch(/^[a-z0-9]+(_[a-z0-9]+)*$/);
        expect(a.units.trim().length, `${t.id}.${a.name} units`).toBeGreaterThan(0);
        expect(Number.isFinite(a.min) && Number.isFinite(a.max) && a.min < a.max, `${t.id}.${a.name} range`).toBe(true);
      }
      const names = t.attributes.map((a) => a.name);
      expect(new Set(names).size).toBe(5);
      for (const a of names) {
        for (const b of names) {
          if (a !== b) expect(b.startsWith(a) || b.endsWith(a), `${t.id}: ${a} is an affix of ${b}`).toBe(false);
        }
      }
    }
  });

  it('uses a mix of range sizes, so every rounding rule is exercised', () => {
    const precisions = types.flatMap((t) => t.attributes.map((a) => roundingPrecision(a)));
    const n = precisions.length;
    const integer = precisions.filter((p) => p === 0).length;
    const oneDecimal = precisions.filter((p) => p === 1).length;
    const fine = precisions.filter((p) => p >= 2).length;
    expect(fine).toBeGreaterThanOrEqual(20); // ranges under 1
    expect(oneDecimal).toBeGreaterThanOrEqual(40); // ranges under 5 (and 0.1..0.99 ranges)
    expect(integer / n).toBeGreaterThan(0.6); // most ranges are wide
  });

  it('the built-in set validates (affix names forbidden too) and keeps the type order', () => {
    const s = builtinScenarioSet(42);
    expect(() => validateScenarioSet(s, { forbidAffixNames: true })).not.toThrow();
    expect(s.format).toBe('introspection-lab/scenarios');
    expect(s.version).toBe(1);
    expect(s.scenarios.map((x) => x.id)).toEqual(types.map((t) => t.id));
    for (const [i, x] of s.scenarios.entries()) {
      const m = /^Imagine you are (.+)\. (Which .+\?)$/.exec(x.question);
      expect(m, x.question).not.toBeNull();
      expect(roles).toContain(m![1]);
      expect(m![2]).toBe(types[i].question);
      expect(x.attributes).toEqual(types[i].attributes);
    }
    // More roles than types: no role is used twice.
    const used = s.scenarios.map((x) => /^Imagine you are (.+?)\. Which/.exec(x.question)![1]);
    expect(new Set(used).size).toBe(used.length);
  });

  it('same seed gives identical scenarios; another seed gives another role pairing', () => {
    expect(buildScenarios(types, roles, 'seed-a')).toEqual(buildScenarios(types, roles, 'seed-a'));
    expect(builtinScenarioSet(7)).toEqual(builtinScenarioSet(7));
    const a = buildScenarios(types, roles, 'seed-a').map((s) => s.question);
    const b = buildScenarios(types, roles, 'seed-b').map((s) => s.question);
    expect(a).not.toEqual(b);
    const differing = a.filter((q, i) => q !== b[i]).length;
    expect(differing).toBeGreaterThan(types.length / 2);
    // The numeric seed 1 and the string "1" are the same stream (rngFor joins parts as text).
    expect(buildScenarios(types, roles, 1)).toEqual(buildScenarios(types, roles, '1'));
  });

  it('reuses shuffled roles in turn when there are fewer roles than types', () => {
    const out = buildScenarios(types.slice(0, 5), ['Macbeth', 'Ada Lovelace'], 3);
    const used = out.map((s) => /^Imagine you are (.+?)\. /.exec(s.question)![1]);
    expect(new Set(used)).toEqual(new Set(['Macbeth', 'Ada Lovelace']));
    expect(used[0]).toBe(used[2]);
    expect(used[1]).toBe(used[3]);
    expect(() => buildScenarios(types, [], 1)).toThrow(/no roles/);
  });

  it('returns fresh copies', () => {
    const t = builtinChoiceTypes();
    t[0].attributes[0].min = -999;
    t[0].id = 'changed';
    expect(builtinChoiceTypes()[0].attributes[0].min).not.toBe(-999);
    expect(builtinChoiceTypes()[0].id).not.toBe('changed');
    builtinRoles().push('Nobody');
    expect(builtinRoles()).not.toContain('Nobody');
  });
});

// ---------------------------------------------------------------- JSON format

describe('scenario-set JSON format: validation', () => {
  it('accepts a valid set and returns a clean copy (unknown fields dropped, units default to "")', () => {
    const raw = set([
      { ...scenario('castle'), note: 'ignored' },
      broken((s) => delete s.attributes[0].units, 'longsword'),
    ], { description: 'two scenarios', extra: true });
    const out = validateScenarioSet(raw);
    expect(out).toEqual({
      format: 'introspection-lab/scenarios',
      version: 1,
      name: 'test set',
      description: 'two scenarios',
      scenarios: [scenario('castle'), { ...scenario('longsword'), attributes: [{ ...scenario('longsword').attributes[0], units: '' }, ...scenario('longsword').attributes.slice(1)] }],
    });
    expect(out.scenarios[0]).not.toHaveProperty('note');
    expect(out).not.toHaveProperty('extra');
  });

  it('rejects text that is not JSON, or empty, with a location', () => {
    const p = problemsOf(() => parseScenarioSet('{ "format": "introspection-lab/scenarios",\n  "version": 1,, }'));
    expect(p).toHaveLength(1);
    expect(p[0].code).toBe('invalid_json');
    expect(p[0].message).toMatch(/not valid JSON/);
    expect(p[0].location).toMatch(/^line 2, column \d+$/);
    expect(problemsOf(() => parseScenarioSet('   '))[0]).toMatchObject({ code: 'invalid_json', message: 'the file is empty' });
  });

  it('accepts a BOM before the JSON', () => {
    const text = '\uFEFF' + serializeScenarioSet(validateScenarioSet(set([scenario('castle')])));
    expect(parseScenarioSet(text).scenarios[0].id).toBe('castle');
  });

  it('rejects a top level that is not an object', () => {
    for (const v of [[], 'x', 3, null]) {
      expect(problemsOfSet(v)).toEqual([expect.objectContaining({ code: 'not_an_object', location: '(top level)' })]);
    }
  });

  it('detects wrong format and wrong version', () => {
    const p = problemsOfSet(set([scenario('castle')], { format: 'something-else', version: 2 }));
    expect(p.map((x) => [x.code, x.location])).toEqual([
      ['wrong_format', 'format'],
      ['wrong_version', 'version'],
    ]);
    expect(p[0].message).toContain('introspection-lab/scenarios');
    expect(p[1].message).toMatch(/version 1/);
  });

  it('detects missing top-level fields', () => {
    const p = problemsOfSet({});
    expect(p.map((x) => [x.code, x.location])).toEqual([
      ['missing_field', 'format'],
      ['missing_field', 'version'],
      ['missing_field', 'name'],
      ['missing_field', 'scenarios'],
    ]);
  });

  it('detects wrong top-level types and an empty list', () => {
    expect(problemsOfSet(set([scenario('castle')], { name: 5, description: [] })).map((x) => [x.code, x.location])).toEqual([
      ['wrong_type', 'name'],
      ['wrong_type', 'description'],
    ]);
    expect(problemsOfSet(set([], { name: '  ' })).map((x) => [x.code, x.location])).toEqual([
      ['empty', 'name'],
      ['empty', 'scenarios'],
    ]);
    expect(problemsOfSet({ ...set([]), scenarios: {} })).toEqual([expect.objectContaining({ code: 'wrong_type', location: 'scenarios' })]);
  });

  const cases: Array<[string, unknown, string, string]> = [
    ['missing id', broken((s) => delete s.id), 'missing_field', 'scenarios[3].id'],
    ['id not text', broken((s) => (s.id = 12)), 'wrong_type', 'scenarios[3].id'],
    ['id not snake_case', broken((s) => (s.id = 'Loose Leaf Tea')), 'not_snake_case', 'scenarios[3].id'],
    ['id with a double underscore', broken((s) => (s.id = 'loose__tea')), 'not_snake_case', 'scenarios[3].id'],
    ['missing question', broken((s) => delete s.question), 'missing_field', 'scenarios[3].question'],
    ['empty question', broken((s) => (s.question = '   ')), 'empty', 'scenarios[3].question'],
    ['missing attributes', broken((s) => delete s.attributes), 'missing_field', 'scenarios[3].attributes'],
    ['attributes not a list', broken((s) => (s.attributes = { a: 1 })), 'wrong_type', 'scenarios[3].attributes'],
    ['four attributes', broken((s) => s.attributes.pop()), 'attribute_count', 'scenarios[3].attributes'],
    ['six attributes', broken((s) => s.attributes.push({ name: 'extra_thing', units: '', min: 0, max: 1 })), 'attribute_count', 'scenarios[3].attributes'],
    ['attribute not an object', broken((s) => (s.attributes[2] = 'moat')), 'not_an_object', 'scenarios[3].attributes[2]'],
    ['attribute name missing', broken((s) => delete s.attributes[1].name), 'missing_field', 'scenarios[3].attributes[1].name'],
    ['attribute name not snake_case', broken((s) => (s.attributes[2].name = 'moatWidth')), 'not_snake_case', 'scenarios[3].attributes[2].name'],
    ['duplicate attribute name', broken((s) => (s.attributes[3].name = 'tower_count')), 'duplicate_attribute', 'scenarios[3].attributes[3].name'],
    ['units not text', broken((s) => (s.attributes[0].units = 3)), 'wrong_type', 'scenarios[3].attributes[0].units'],
    ['min missing', broken((s) => delete s.attributes[4].min), 'missing_field', 'scenarios[3].attributes[4].min'],
    ['max as text', broken((s) => (s.attributes[1].max = '16')), 'wrong_type', 'scenarios[3].attributes[1].max'],
    ['min equal to max', broken((s) => (s.attributes[1].max = 2)), 'bad_range', 'scenarios[3].attributes[1].max'],
    ['min above max', broken((s) => (s.attributes[1].min = 20)), 'bad_range', 'scenarios[3].attributes[1].max'],
    ['infinite max', broken((s) => (s.attributes[2].max = Infinity)), 'not_finite', 'scenarios[3].attributes[2].max'],
    ['NaN min', broken((s) => (s.attributes[0].min = NaN)), 'not_finite', 'scenarios[3].attributes[0].min'],
    ['scenario not an object', 'a castle', 'not_an_object', 'scenarios[3]'],
  ];

  it.each(cases)('detects %s at the right location', (_label, bad, code, location) => {
    const scenarios: unknown[] = [scenario('castle'), scenario('warhorse'), scenario('longsword'), bad];
    const p = problemsOfSet(set(scenarios));
    expect(p).toEqual([expect.objectContaining({ code, location })]);
    expect(p[0].message.length).toBeGreaterThan(10);
    expect(p[0].message).not.toMatch(/^\{/);
  });

  it('detects duplicate scenario ids, naming the first use', () => {
    const p = problemsOfSet(set([scenario('castle'), scenario('warhorse'), scenario('castle')]));
    expect(p).toEqual([expect.objectContaining({ code: 'duplicate_id', location: 'scenarios[2].id' })]);
    expect(p[0].message).toContain('scenarios[0]');
  });

  it('makes the attribute count a parameter', () => {
    const three = broken((s) => s.attributes.splice(3));
    expect(validateScenarioSet(set([three]), { attributeCount: 3 }).scenarios[0].attributes).toHaveLength(3);
    const p = problemsOfSet(set([scenario('castle')]), { attributeCount: 3 });
    expect(p).toEqual([expect.objectContaining({ code: 'attribute_count', location: 'scenarios[0].attributes' })]);
    expect(p[0].message).toMatch(/exactly 3 attributes.*has 5/);
    expect(() => validateScenarioSet(set([scenario('castle')]), { attributeCount: 0 })).toThrow(RangeError);
  });

  it('optionally rejects attribute names that are a prefix or suffix of another', () => {
    const s = broken((x) => {
      x.attributes[0].name = 'speed';
      x.attributes[1].name = 'top_speed';
      x.attributes[2].name = 'speed_limit';
    });
    expect(() => validateScenarioSet(set([s]))).not.toThrow();
    const p = problemsOfSet(set([s]), { forbidAffixNames: true });
    expect(p.map((x) => [x.code, x.location])).toEqual([
      ['affix_attribute', 'scenarios[0].attributes[0].name'],
      ['affix_attribute', 'scenarios[0].attributes[0].name'],
    ]);
    expect(p[0].message).toMatch(/"speed" is a suffix of "top_speed"/);
    expect(p[1].message).toMatch(/"speed" is a prefix of "speed_limit"/);
  });

  it('collects every problem instead of stopping at the first, and lists them in the message', () => {
    const bad = set(
      [
        broken((s) => (s.id = 'Bad Id')),
        broken((s) => {
          s.question = '';
          s.attributes[1].min = 100;
          s.attributes[4].name = 'wall_thickness';
        }, 'warhorse'),
        scenario('warhorse'),
      ],
      { version: 3 },
    );
    let err: unknown;
    try {
      validateScenarioSet(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioFormatError);
    expect(err).toBeInstanceOf(Error);
    const e = err as ScenarioFormatError;
    expect(e.name).toBe('ScenarioFormatError');
    expect(e.problems.map((p) => p.location)).toEqual([
      'version',
      'scenarios[0].id',
      'scenarios[1].question',
      'scenarios[1].attributes[1].max',
      'scenarios[1].attributes[4].name',
      'scenarios[2].id',
    ]);
    expect(e.message).toMatch(/^Invalid scenario set \(6 problems\):/);
    for (const p of e.problems) expect(e.message).toContain(`${p.location}: ${p.message}`);
  });
});

describe('scenario-set JSON format: serialization', () => {
  it('round-trips the built-in set exactly', () => {
    const s = builtinScenarioSet('round-trip');
    const text = serializeScenarioSet(s);
    expect(parseScenarioSet(text)).toEqual(s);
    expect(serializeScenarioSet(parseScenarioSet(text))).toBe(text);
  });

  it('writes stable, pretty JSON with a fixed key order', () => {
    const s: ScenarioSet = validateScenarioSet(set([scenario('castle')]));
    const shuffledKeys = JSON.parse(JSON.stringify({ scenarios: s.scenarios, name: s.name, version: 1, format: s.format }));
    const text = serializeScenarioSet(s);
    expect(serializeScenarioSet(validateScenarioSet(shuffledKeys))).toBe(text);
    expect(text.startsWith('{\n  "format": "introspection-lab/scenarios",\n  "version": 1,\n  "name": "test set",\n  "scenarios": [\n')).toBe(true);
    expect(text).toContain('        { "name": "well_depth", "units": "m", "min": 0.1, "max": 0.6 }\n');
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(s);
  });

  it('keeps a description and special characters in questions', () => {
    const s = validateScenarioSet(set([scenario('castle', { question: 'Imagine you are James "Sulley" Sullivan, a monster. Which castle — big or small — would you prefer?\nAnswer.' })], { description: 'with "quotes"' }));
    expect(parseScenarioSet(serializeScenarioSet(s))).toEqual(s);
  });
});

// ---------------------------------------------------------------- paper CSV

describe('paper scenarios.csv: synthetic files', () => {
  const rows = [
    csvRow('first_thing', 'Imagine you are Macbeth. Which first thing would you prefer?', NAMES, MINS, MAXS),
    csvRow('second_thing', 'Imagine you are James "Sulley" Sullivan, a monster. Which thing, big or small, would you prefer?', NAMES, MINS, MAXS),
    csvRow('3d_thing', 'Imagine you are Ada Lovelace. Which 3D thing would you prefer?', NAMES, MINS, MAXS),
  ];

  it('reads quoted questions with commas and doubled quotes, ids starting with a digit, and sets units to ""', () => {
    const s = importPaperScenariosCsv([HEADER, ...rows].join('\n') + '\n', { name: 'mini' });
    expect(s.name).toBe('mini');
    expect(s.scenarios.map((x) => x.id)).toEqual(['first_thing', 'second_thing', '3d_thing']);
    expect(s.scenarios[1].question).toBe('Imagine you are James "Sulley" Sullivan, a monster. Which thing, big or small, would you prefer?');
    expect(s.scenarios[0].attributes).toEqual(NAMES.map((name, i) => ({ name, units: '', min: MINS[i], max: MAXS[i] })));
    expect(() => validateScenarioSet(s)).not.toThrow();
  });

  it('handles a BOM, CRLF line ends and blank lines', () => {
    const lf = importPaperScenariosCsv([HEADER, ...rows].join('\n'));
    const crlf = importPaperScenariosCsv('\uFEFF' + [HEADER, ...rows, '', ''].join('\r\n'));
    expect(crlf).toEqual(lf);
  });

  it('selects a 1-based inclusive row range', () => {
    const text = [HEADER, ...rows].join('\n');
    expect(importPaperScenariosCsv(text, { rows: [2, 3] }).scenarios.map((x) => x.id)).toEqual(['second_thing', '3d_thing']);
    expect(importPaperScenariosCsv(text, { rows: [1, 1] }).scenarios.map((x) => x.id)).toEqual(['first_thing']);
    for (const r of [[0, 2], [2, 1], [1, 4], [1.5, 2]] as Array<[number, number]>) {
      const p = problemsOf(() => importPaperScenariosCsv(text, { rows: r }));
      expect(p).toEqual([expect.objectContaining({ code: 'bad_rows', location: 'rows' })]);
    }
    // Problems outside the selected rows do not matter.
    const withBad = [HEADER, ...rows, csvRow('bad_thing', 'q', NAMES, MINS, [10, 4, 0.5, 50, 5])].join('\n');
    expect(importPaperScenariosCsv(withBad, { rows: [1, 3] }).scenarios).toHaveLength(3);
    expect(() => importPaperScenariosCsv(withBad)).toThrow(ScenarioFormatError);
  });

  it('exports the same format (units dropped) and imports it back', () => {
    const built = builtinScenarioSet(5);
    const csv = exportPaperScenariosCsv(built.scenarios);
    expect(csv.split('\n')[0]).toBe(HEADER);
    expect(csv.endsWith('\n')).toBe(true);
    expect(csv).not.toContain('\r');
    const back = importPaperScenariosCsv(csv);
    expect(back.scenarios).toEqual(built.scenarios.map((s) => ({ ...s, attributes: s.attributes.map((a) => ({ ...a, units: '' })) })));
    // Quoting where needed, Python-style floats.
    const one = exportPaperScenariosCsv([scenario('castle', { question: 'Imagine you are A, "B". Which castle?' })]);
    expect(one.split('\n')[1]).toBe('castle,"Imagine you are A, ""B"". Which castle?",wall_thickness,tower_count,moat_width,garrison_size,well_depth,1.0,2.0,0.0,20.0,0.1,6.0,16.0,30.0,500.0,0.6');
  });

  it('refuses to export scenarios with differing attribute counts', () => {
    const p = problemsOf(() => exportPaperScenariosCsv([scenario('castle'), { ...scenario('warhorse'), attributes: scenario('warhorse').attributes.slice(0, 4) }]));
    expect(p).toEqual([expect.objectContaining({ code: 'attribute_count', location: 'scenarios[1].attributes' })]);
  });

  it('reports row-numbered errors for a broken CSV, all at once', () => {
    const text = [
      HEADER,
      rows[0], // row 1: fine
      csvRow('Bad Id', 'Imagine you are X. Which y would you prefer?', NAMES, MINS, MAXS), // row 2
      csvRow('third_thing', 'q', NAMES, [0, 1, 'abc' as unknown as number, 5, 10], [10, 4, 0.5, 50, 100]), // row 3: attr3_min not a number
      csvRow('fourth_thing', 'q', NAMES, MINS, [10, 4, 0.5, 2, 100]), // row 4: attr4 min 5 ≥ max 2
      csvRow('first_thing', 'q', ['alpha_level', 'alpha_level', 'gamma_size', 'delta_rate', 'epsilon_score'], MINS, MAXS), // row 5: duplicate id and attribute name
      'sixth_thing,Imagine you are X, a Y. Which z?,a,b,c,d,e,0,0,0,0,0,1,1,1,1,1', // row 6: unquoted comma → 18 fields
      csvRow('seventh_thing', '', NAMES, [0, 1, 0.1, 5, ''] as number[], MAXS), // row 7: empty question and empty attr5_min
    ].join('\r\n');
    const p = problemsOf(() => importPaperScenariosCsv(text));
    expect(p.map((x) => [x.row, x.location, x.code])).toEqual([
      [2, 'row 2, scenario', 'not_snake_case'],
      [3, 'row 3, attr3_min', 'not_finite'],
      [4, 'row 4, attr4_max', 'bad_range'],
      [5, 'row 5, attr2', 'duplicate_attribute'],
      [5, 'row 5, scenario', 'duplicate_id'],
      [6, 'row 6', 'invalid_csv'],
      [7, 'row 7, question', 'missing_field'],
      [7, 'row 7, attr5_min', 'missing_field'],
    ]);
    expect(p.find((x) => x.row === 3)!.message).toContain('"abc"');
    expect(p.find((x) => x.row === 4)!.message).toBe('max (2) must be greater than min (5)');
    expect(p.find((x) => x.code === 'duplicate_id')!.message).toContain('row 1');
    expect(p.find((x) => x.row === 6)!.message).toMatch(/18 fields but the header has 17.*quote/);
    let message = '';
    try {
      importPaperScenariosCsv(text);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^Invalid scenario CSV \(8 problems\):/);
    expect(message).toContain('row 4, attr4_max: max (2) must be greater than min (5)');
  });

  it('reports a missing column, an empty file, a header-only file and an unclosed quote', () => {
    const noMax = HEADER.replace(',attr5_max', '');
    expect(problemsOf(() => importPaperScenariosCsv(noMax + '\n' + rows[0]))).toEqual([
      expect.objectContaining({ code: 'missing_field', location: 'header', message: expect.stringContaining('attr5_max') }),
    ]);
    expect(problemsOf(() => importPaperScenariosCsv(''))).toEqual([expect.objectContaining({ code: 'invalid_csv', location: '(file)' })]);
    expect(problemsOf(() => importPaperScenariosCsv(HEADER + '\n'))).toEqual([expect.objectContaining({ code: 'empty', location: '(file)' })]);
    const unclosed = [HEADER, rows[0], 'x_thing,"Imagine you are X. Which y?,a,b,c,d,e,0,0,0,0,0,1,1,1,1,1'].join('\n');
    const p = problemsOf(() => importPaperScenariosCsv(unclosed));
    expect(p).toContainEqual(expect.objectContaining({ code: 'invalid_csv', location: 'line 3', message: expect.stringContaining('quoted field') }));
  });

  it('supports another attribute count', () => {
    const header3 = paperCsvColumns(3).join(',');
    const s = importPaperScenariosCsv(`${header3}\nthree_thing,q,a_x,b_x,c_x,0,0,0,1,2,3\n`, { attributeCount: 3 });
    expect(s.scenarios[0].attributes.map((a) => a.max)).toEqual([1, 2, 3]);
    expect(exportPaperScenariosCsv(s.scenarios).split('\n')[0]).toBe(header3);
  });
});

describe.skipIf(!paperCsvExists)('paper scenarios.csv: the published file', () => {
  const text = paperCsvExists ? readFileSync(paperCsvPath, 'utf8') : '';

  it('imports all 1,100 scenarios with their ranges', () => {
    const s = importPaperScenariosCsv(text, { name: 'Plunkett et al. (2025)' });
    expect(s.scenarios).toHaveLength(1100);
    expect(new Set(s.scenarios.map((x) => x.id)).size).toBe(1100);
    const first = s.scenarios[0];
    expect(first.id).toBe('loose_leaf_tea');
    expect(first.question).toBe('Imagine you are Djedefre. Which loose leaf tea would you prefer?');
    expect(first.attributes).toEqual([
      { name: 'caffeine_content', units: '', min: 0, max: 70 },
      { name: 'leaf_size', units: '', min: 0.1, max: 10 },
      { name: 'oxidation_level', units: '', min: 0, max: 100 },
      { name: 'steeping_time', units: '', min: 1, max: 7 },
      { name: 'resteep_potential', units: '', min: 1, max: 8 },
    ]);
    const bag = s.scenarios.find((x) => x.id === 'messenger_bag')!;
    expect(bag.question).toBe('Imagine you are James "Sulley" Sullivan. Which messenger bag would you prefer?');
    for (const x of s.scenarios) for (const a of x.attributes) expect(a.min).toBeLessThan(a.max);
  });

  it('imports the instilled (rows 1-100) and latent (rows 101-200) halves by row range', () => {
    const all = importPaperScenariosCsv(text).scenarios;
    const instilled = importPaperScenariosCsv(text, { rows: [1, 100] }).scenarios;
    const latent = importPaperScenariosCsv(text, { rows: [101, 200] }).scenarios;
    expect(instilled).toEqual(all.slice(0, 100));
    expect(latent).toEqual(all.slice(100, 200));
  });

  it('exports back to the identical file, and export → import round-trips', () => {
    const s = importPaperScenariosCsv(text);
    const csv = exportPaperScenariosCsv(s.scenarios);
    expect(csv).toBe(text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n'));
    expect(importPaperScenariosCsv(csv)).toEqual(s);
  });
});
