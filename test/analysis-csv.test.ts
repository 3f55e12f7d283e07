import { describe, expect, it } from 'vitest';
import {
  PaperCsvError,
  parseRegressionResultsCsv,
  parseSelectionsCsv,
  parseTargetWeightsCsv,
  parseWeightReportsCsv,
  writeRegressionResultsCsv,
  writeSelectionsCsv,
  writeTargetWeightsCsv,
  writeWeightReportsCsv,
  type SelectionRow,
} from '../src/lib/paper-csv';
import { ScenarioFormatError } from '../src/lib/scenarios/format';
import { exportPaperScenariosCsv, importPaperScenariosCsv, paperCsvAttributeCount } from '../src/lib/scenarios/paper-csv';

const SEL_HEADER = 'model,scenario,selection,A_attribute_1,A_attribute_2,B_attribute_1,B_attribute_2';

function errorOf(f: () => unknown): PaperCsvError {
  try {
    f();
  } catch (e) {
    if (e instanceof PaperCsvError) return e;
    throw e;
  }
  throw new Error('expected a PaperCsvError');
}

describe('paper CSV: selections', () => {
  it('parses the paper format (header mode, any attribute count)', () => {
    const rows = parseSelectionsCsv(`${SEL_HEADER}\nm,tea,A,1.0,2,3,4\nm,tea,b,5,6,7.5,8\n\n`);
    expect(rows).toEqual([
      { model: 'm', scenario: 'tea', selection: 'A', a: [1, 2], b: [3, 4] },
      { model: 'm', scenario: 'tea', selection: 'B', a: [5, 6], b: [7.5, 8] },
    ]);
  });

  it('round-trips, with the optional p_A column', () => {
    const rows: SelectionRow[] = [
      { model: 'ft:x,y', scenario: 'tea', selection: 'A', a: [1, 2.5], b: [3, 4], pA: 0.75 },
      { model: 'ft:x,y', scenario: 'mug', selection: 'B', a: [0.001, 2], b: [3, -4], pA: 0.1 },
    ];
    const text = writeSelectionsCsv(rows);
    expect(text.split('\n')[0]).toBe(`${SEL_HEADER},p_A`);
    expect(parseSelectionsCsv(text)).toEqual(rows);
    const hard = rows.map(({ pA: _pA, ...r }) => r);
    expect(writeSelectionsCsv(hard).split('\n')[0]).toBe(SEL_HEADER);
    expect(parseSelectionsCsv(writeSelectionsCsv(hard))).toEqual(hard);
  });

  it('names the file and the row on bad input', () => {
    let e = errorOf(() => parseSelectionsCsv(`${SEL_HEADER}\nm,tea,A,1,2,3,4\nm,tea,C,1,2,3,4\n`, { source: 'sel.csv' }));
    expect(e.message).toBe('sel.csv: row 2: selection must be A or B, got "C"');
    expect(e.row).toBe(2);
    e = errorOf(() => parseSelectionsCsv(`${SEL_HEADER}\nm,tea,A,1,x,3,4\n`, { source: 'sel.csv' }));
    expect(e.message).toMatch(/row 1: column A_attribute_2 must be a number, got "x"/);
    e = errorOf(() => parseSelectionsCsv(`${SEL_HEADER}\nm,tea,A,1,2,3\n`, { source: 'sel.csv' }));
    expect(e.row).toBe(1);
    e = errorOf(() => parseSelectionsCsv('model,scenario,A_attribute_1,B_attribute_1\nm,t,1,2\n'));
    expect(e.message).toMatch(/^selections CSV: header: missing column\(s\) selection/);
    expect(e.row).toBe('header');
    e = errorOf(() => parseSelectionsCsv('model,scenario,selection,A_attribute_1,A_attribute_3,B_attribute_1,B_attribute_2\n'));
    expect(e.message).toMatch(/without gaps/);
    e = errorOf(() => parseSelectionsCsv(`${SEL_HEADER},p_A\nm,tea,A,1,2,3,4,1.5\n`));
    expect(e.message).toMatch(/row 1: p_A must be in \[0, 1\]/);
    expect(() => parseSelectionsCsv('')).toThrow(/empty/);
  });
});

describe('paper CSV: weight reports', () => {
  const header = 'explaining_model,version,scenario,report_attr1,report_attr2,A_attribute_1,A_attribute_2,B_attribute_1,B_attribute_2';

  it('keeps valid reports and counts rows with non-numeric report cells', () => {
    const text = [
      header,
      'm,v1,tea,10,-20,1,2,3,4',
      'm,v1,tea,ten,20,1,2,3,4',
      'm,v1,mug,,20,1,2,3,4',
      'm,v1,mug,"50",0,1,2,3,4',
      'm,v1,mug,5,5,1,2',
    ].join('\n');
    const { reports, invalid } = parseWeightReportsCsv(text, { source: 'r.csv' });
    expect(reports).toEqual([
      { explainingModel: 'm', version: 'v1', scenario: 'tea', report: [10, -20], a: [1, 2], b: [3, 4] },
      { explainingModel: 'm', version: 'v1', scenario: 'mug', report: [50, 0], a: [1, 2], b: [3, 4] },
    ]);
    expect(invalid.map((r) => [r.row, r.scenario])).toEqual([[2, 'tea'], [3, 'mug'], [5, 'mug']]);
    expect(invalid[0].reason).toMatch(/report_attr1 is not a number: "ten"/);
  });

  it('round-trips, writing unparseable responses as text', () => {
    const text = writeWeightReportsCsv([
      { explainingModel: 'm', version: 'v', scenario: 'tea', report: [10, -5.5], a: [1, 2], b: [3, 4] },
      { explainingModel: 'm', version: 'v', scenario: 'tea', report: ['I cannot say, sorry', null], a: [1, 2], b: [3, 4] },
    ]);
    expect(text.split('\n')[0]).toBe(header);
    const parsed = parseWeightReportsCsv(text);
    expect(parsed.reports).toEqual([{ explainingModel: 'm', version: 'v', scenario: 'tea', report: [10, -5.5], a: [1, 2], b: [3, 4] }]);
    expect(parsed.invalid).toHaveLength(1);
  });

  it('rejects files without report columns', () => {
    expect(() => parseWeightReportsCsv('scenario,attr1\nx,1\n')).toThrow(/no report_attrN columns/);
  });
});

describe('paper CSV: weight tables and scenarios', () => {
  it('target weights and regression results round-trip; duplicates are errors', () => {
    const w = new Map([['tea', [-100, 95, 72]], ['mug', [1, 2, 3]]]);
    expect(writeTargetWeightsCsv(w).split('\n')[0]).toBe('scenario,attr1,attr2,attr3');
    expect(parseTargetWeightsCsv(writeTargetWeightsCsv(w))).toEqual(w);
    expect(writeRegressionResultsCsv(w).split('\n')[0]).toBe('scenario,b_attr1,b_attr2,b_attr3');
    expect(parseRegressionResultsCsv(writeRegressionResultsCsv(w))).toEqual(w);
    expect(() => parseTargetWeightsCsv('scenario,attr1\ntea,1\ntea,2\n', { source: 't.csv' })).toThrow('t.csv: row 2: scenario tea appears twice');
    expect(() => parseRegressionResultsCsv('scenario,b_attr1\ntea,NaN\n')).toThrow(/row 1: column b_attr1 must be a number/);
  });

  it('scenarios.csv (the scenario importer, as cli analyze reads it): any attribute count, commas in questions, round-trips', () => {
    const text =
      'scenario,question,attr1,attr2,attr1_min,attr2_min,attr1_max,attr2_max\n' +
      'tea,"Imagine you are Djedefre. Which tea, if any, would you prefer?",caffeine,leaf_size,0.0,0.1,70.0,10.0\n';
    const read = (t: string) => importPaperScenariosCsv(t, { source: 's.csv', attributeCount: paperCsvAttributeCount(t) }).scenarios;
    expect(paperCsvAttributeCount(text)).toBe(2);
    const s = read(text);
    expect(s).toEqual([
      {
        id: 'tea',
        question: 'Imagine you are Djedefre. Which tea, if any, would you prefer?',
        attributes: [
          { name: 'caffeine', units: '', min: 0, max: 70 },
          { name: 'leaf_size', units: '', min: 0.1, max: 10 },
        ],
      },
    ]);
    expect(read(exportPaperScenariosCsv(s))).toEqual(s);
    // Errors name the file, the row and the column.
    const bad = (t: string) => {
      try {
        read(t);
      } catch (e) {
        if (e instanceof ScenarioFormatError) return e;
        throw e;
      }
      throw new Error('expected a ScenarioFormatError');
    };
    const range = bad(text.replace('70.0', '0.0'));
    expect(range.message).toMatch(/^Invalid scenario CSV s\.csv \(1 problem\)/);
    expect(range.problems).toEqual([expect.objectContaining({ code: 'bad_range', location: 'row 1, attr1_max', row: 1 })]);
    const header = bad('scenario,question,attr1,attr1_min\n');
    expect(header.problems).toEqual([expect.objectContaining({ code: 'missing_field', location: 'header' })]);
    expect(header.message).toMatch(/lacks the column attr1_max/);
  });
});
