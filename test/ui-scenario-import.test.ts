/**
 * Loading a scenario file in the lab and the CLI (src/app/scenario-import.ts):
 * format detection, row ranges, problems with locations, and the spec form
 * holding the loaded set inline.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectScenarioFile, importScenarioFile, parseRowRange, problemsOf } from '../src/app/scenario-import';
import { checkForm, formFromPreset, formFromSpec, isPresetUnchanged, scenarioCountFor, specFromForm } from '../src/app/spec-form';
import { builtinScenarioSet, exportPaperScenariosCsv, ScenarioFormatError, serializeScenarioSet, type ScenarioSet } from '../src/lib/scenarios';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { renderChoice } from '../src/lib/prompts';
import { parseSpec, validateSpec } from '../src/lib/experiment/spec';

const builtin = builtinScenarioSet('import-test');
const small: ScenarioSet = { ...builtin, name: 'Five contexts', scenarios: builtin.scenarios.slice(0, 5) };
const json = serializeScenarioSet(small);
const csv = exportPaperScenariosCsv(builtin.scenarios.slice(0, 6));

/** The problems a call throws (it must throw a ScenarioFormatError). */
function problems(f: () => unknown) {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioFormatError);
    return problemsOf(e);
  }
  throw new Error('expected a ScenarioFormatError');
}

describe('scenario file detection', () => {
  it('tells JSON from the paper CSV by content first, then by extension', () => {
    expect(detectScenarioFile('set.json', json)).toBe('json');
    expect(detectScenarioFile('set.txt', json)).toBe('json');
    expect(detectScenarioFile('scenarios.csv', csv)).toBe('paper-csv');
    expect(detectScenarioFile('download', '\ufeff' + csv)).toBe('paper-csv');
    // A CSV named .json is still read as CSV: its header says so.
    expect(detectScenarioFile('oops.json', csv)).toBe('paper-csv');
    // Damaged files go to the reader their extension names, which then says what is wrong.
    expect(detectScenarioFile('broken.json', 'format: scenarios')).toBe('json');
    expect(detectScenarioFile('broken.csv', 'id;question')).toBe('paper-csv');
  });

  it('refuses other files with a clear message', () => {
    const txt = problems(() => importScenarioFile('notes.txt', 'hello world'));
    expect(txt).toHaveLength(1);
    expect(txt[0]).toMatchObject({ code: 'wrong_format', location: '(file)' });
    expect(txt[0].message).toMatch(/notes\.txt is neither a scenario-set JSON file nor a scenario CSV; expected a scenario-set JSON file .*scenarios\.csv/);
    const xlsx = problems(() => importScenarioFile('paper.xlsx', 'PK\u0003\u0004\u0000\u0000binary'));
    expect(xlsx[0].message).toMatch(/paper\.xlsx is not text \(it looks like an Excel workbook; save it as CSV first\)/);
    const png = problems(() => importScenarioFile('chart.png', '\ufffdPNG\r\n\u0000\u0000'));
    expect(png[0].message).toMatch(/chart\.png is not text/);
    const empty = problems(() => importScenarioFile('empty.txt', '  \n'));
    expect(empty[0]).toMatchObject({ code: 'empty', location: '(file)' });
  });
});

describe('row ranges', () => {
  it('reads what people type', () => {
    expect(parseRowRange('')).toBeUndefined();
    expect(parseRowRange(undefined)).toBeUndefined();
    expect(parseRowRange('1-100')).toEqual([1, 100]);
    expect(parseRowRange(' 101 – 200 ')).toEqual([101, 200]);
    expect(parseRowRange('1 to 5')).toEqual([1, 5]);
    expect(parseRowRange('3..4')).toEqual([3, 4]);
    expect(parseRowRange('7')).toEqual([7, 7]);
  });

  it('refuses bad ranges, located at rows', () => {
    for (const bad of ['abc', '5-2', '0-3', '1-', '-4', '1,5']) {
      const p = problems(() => parseRowRange(bad));
      expect(p).toEqual([expect.objectContaining({ code: 'bad_rows', location: 'rows' })]);
      expect(p[0].message).toContain(`"${bad}"`);
    }
  });
});

describe('importing a scenario file', () => {
  it('reads a scenario-set JSON file as is', () => {
    const got = importScenarioFile('/some/dir/five.json', json);
    expect(got).toEqual({ set: small, kind: 'json', fileName: 'five.json' });
  });

  it("reads the paper's CSV, all rows or a range, with empty units", () => {
    const all = importScenarioFile('scenarios.csv', csv);
    expect(all.kind).toBe('paper-csv');
    expect(all.set.name).toBe('scenarios.csv');
    expect(all.set.scenarios.map((s) => s.id)).toEqual(builtin.scenarios.slice(0, 6).map((s) => s.id));
    expect(all.set.scenarios.every((s) => s.attributes.every((a) => a.units === ''))).toBe(true);

    const some = importScenarioFile('scenarios.csv', csv, { rows: [2, 4] });
    expect(some.rows).toEqual([2, 4]);
    expect(some.set.name).toBe('scenarios.csv (rows 2–4)');
    expect(some.set.description).toMatch(/rows 2–4/);
    expect(some.set.scenarios.map((s) => s.id)).toEqual(builtin.scenarios.slice(1, 4).map((s) => s.id));
    const { attributes } = builtin.scenarios[1];
    expect(some.set.scenarios[0].attributes).toEqual(attributes.map((a) => ({ ...a, units: '' })));
  });

  it('lists every problem of a broken JSON file with its location', () => {
    const broken = JSON.parse(json);
    broken.scenarios[0].attributes[1].max = broken.scenarios[0].attributes[1].min - 1;
    broken.scenarios[2].id = 'Not Snake';
    delete broken.scenarios[3].question;
    const p = problems(() => importScenarioFile('broken.json', JSON.stringify(broken)));
    expect(p.map((x) => [x.code, x.location])).toEqual([
      ['bad_range', 'scenarios[0].attributes[1].max'],
      ['not_snake_case', 'scenarios[2].id'],
      ['missing_field', 'scenarios[3].question'],
    ]);
    const notJson = problems(() => importScenarioFile('broken.json', '{"format": "introspection-lab/scenarios",\n  "version": 1,,}'));
    expect(notJson[0]).toMatchObject({ code: 'invalid_json' });
    expect(notJson[0].location).toMatch(/^line 2, column \d+$/);
  });

  it('lists every problem of a broken CSV file with its row and column', () => {
    const lines = csv.trimEnd().split('\n');
    const cells = lines[2].split(',');
    cells[cells.length - 3] = 'abc'; // attr3_max of data row 2
    lines[2] = cells.join(',');
    lines[4] = lines[4] + ',extra';
    const p = problems(() => importScenarioFile('scenarios.csv', lines.join('\n')));
    expect(p.map((x) => x.location)).toEqual(['row 2, attr3_max', 'row 4']);
    expect(p[1].message).toMatch(/this row has 18 fields but the header has 17/);
    // Rows outside the range are not checked; a range past the end is refused.
    expect(importScenarioFile('scenarios.csv', lines.join('\n'), { rows: [5, 6] }).set.scenarios).toHaveLength(2);
    const past = problems(() => importScenarioFile('scenarios.csv', csv, { rows: [5, 60] }));
    expect(past).toEqual([expect.objectContaining({ code: 'bad_rows', location: 'rows' })]);
    expect(past[0].message).toMatch(/the file has 6 data rows/);
    const header = problems(() => importScenarioFile('scenarios.csv', 'scenario,question\nx,y\n'));
    expect(header[0]).toMatchObject({ code: 'missing_field', location: 'header' });
  });

  it('refuses a row range for a JSON file', () => {
    const p = problems(() => importScenarioFile('five.json', json, { rows: [1, 2] }));
    expect(p).toEqual([expect.objectContaining({ code: 'bad_rows', location: 'rows' })]);
    expect(p[0].message).toMatch(/paper's scenarios\.csv only/);
  });

  const paperCsv = path.resolve(import.meta.dirname, '../../shared/reference/plunkett-2025/scenarios.csv');
  it.skipIf(!existsSync(paperCsv))("reads the paper's own file: rows 1–100 are its instilled contexts", () => {
    const text = readFileSync(paperCsv, 'utf8');
    const got = importScenarioFile('scenarios.csv', text, { rows: parseRowRange('1-100') });
    expect(got.set.scenarios).toHaveLength(100);
    expect(got.set.scenarios[0].id).toBe('loose_leaf_tea');
    expect(importScenarioFile('scenarios.csv', text).set.scenarios).toHaveLength(1100);
  });
});

describe('the spec form with a loaded scenario set', () => {
  const model = { id: 'onnx-community/Qwen2.5-0.5B-Instruct', device: 'auto' as const, dtype: 'auto' };
  const paper = importScenarioFile('scenarios.csv', csv, { rows: [1, 3] }).set;

  it('puts the set inline in the spec, capped at its size, and plans on it', () => {
    const form = formFromPreset('classroom', model, null, 'seed-x', { scenarioSource: 'file', scenarioSet: paper });
    expect(form.scenarioCount).toBe(3);
    expect(isPresetUnchanged(form)).toBe(true);
    const { spec, problems } = checkForm(form, paper.scenarios.length);
    expect(problems).toEqual([]);
    expect(spec!.scenarios).toEqual({ source: 'inline', set: paper, count: 3 });
    const plan = buildPlan(spec!, resolveScenarios(spec!));
    expect(plan.scenarios.map((s) => s.scenario.id)).toEqual(paper.scenarios.map((s) => s.id));
    // No units: the prompt shows bare values, with no trailing space or "undefined".
    const trial = plan.trials[0];
    const prompt = renderChoice(plan.scenarios[0].scenario, trial.a, trial.b);
    expect(prompt).not.toMatch(/undefined| \n/);

    form.scenarioIds = [paper.scenarios[2].id];
    expect(specFromForm(form).scenarios).toEqual({ source: 'inline', set: paper, ids: [paper.scenarios[2].id] });
  });

  it('a saved spec with an inline set loads back into the form (JSON round trip)', () => {
    const form = formFromPreset('paper', model, null, 'seed-y', { scenarioSource: 'file', scenarioSet: small });
    form.scenarioCount = 4;
    const spec = validateSpec(specFromForm(form));
    const back = formFromSpec(parseSpec(JSON.stringify(spec)));
    expect(back.scenarioSource).toBe('file');
    expect(back.scenarioSet).toEqual(small);
    expect(back.scenarioCount).toBe(4);
    expect(specFromForm(back)).toEqual(JSON.parse(JSON.stringify(spec)));
  });

  it('keeps the loaded set aside when the built-in set is chosen', () => {
    const form = formFromPreset('classroom', model, null, 'seed-z', { scenarioSource: 'file', scenarioSet: small });
    form.scenarioSource = 'builtin';
    expect(specFromForm(form).scenarios).toEqual({ source: 'builtin', count: 5 });
    form.scenarioSource = 'file';
    expect(specFromForm(form).scenarios).toMatchObject({ source: 'inline', set: small });
  });

  it('sizes the count for a new set: a chosen count is kept where it fits, "all of the old set" becomes the preset size', () => {
    const form = formFromPreset('classroom', model);
    expect(scenarioCountFor(form, 146, 2)).toBe(2); // 10 does not fit
    expect(scenarioCountFor(form, 146, 1100)).toBe(10);
    form.scenarioCount = 2;
    expect(scenarioCountFor(form, 2, 3)).toBe(3); // was the whole old set
    expect(scenarioCountFor(form, 2, 146)).toBe(10);
    form.scenarioCount = 4;
    expect(scenarioCountFor(form, 146, 1100)).toBe(4);
    expect(scenarioCountFor(form, Infinity, 3)).toBe(3);
  });

  it('asks for a file when "Load a file" is chosen without one, and refuses an invalid inline set', () => {
    const form = formFromPreset('classroom', model, null, 'seed', { scenarioSource: 'file', scenarioSet: null });
    const check = checkForm(form, 146);
    expect(check.spec).toBeNull();
    expect(check.problems.join('\n')).toMatch(/Load a scenario file/);

    const spec = specFromForm(formFromPreset('classroom', model));
    const bad = JSON.parse(json);
    bad.scenarios[1].attributes[0].min = 'low';
    expect(() => formFromSpec({ ...spec, scenarios: { source: 'inline', set: bad, count: 2 } })).toThrow(
      /scenarios\.set: scenarios\[1\]\.attributes\[0\]\.min: /,
    );
  });
});
