/**
 * The adapter from the privileged-access analysis to what the Results page draws:
 * every matrix cell present, curves ordered by k, the self-report band, bars with
 * the self-report first, "simulated" on every simulated model, CSVs that read back
 * to the same numbers.
 */
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import type { PrivilegedAccess } from '../src/lib/analysis/privileged-types';
import {
  barGroups,
  describeOther,
  heatmapCells,
  matrixCsv,
  modelInfo,
  modelLabel,
  observerCharts,
  curveOverlaps,
  overlapSentences,
  BAND_COLOR,
  observersCsv,
  OKABE_ITO,
  verdictRows,
  verdictsCsv,
  verdictSentence,
  consistentWorth,
  cellScatter,
} from '../src/app/privileged-view';
import { formatR } from '../src/app/format';
import { ceilingText } from '../src/app/decision-diagnostics';
import type { Ceiling } from '../src/lib/analysis';
import { analyzeRun } from '../src/app/run-analysis';
import { presetSpec, severalModelsSpec, SIMULATED_PRESET_MODELS } from '../src/lib/experiment/presets';
import { runSimulated } from './support/sim-run';

const cell = (reporter: string, target: string, r: number) => ({
  reporter, target, r, ci: [r - 0.1, r + 0.1] as [number, number], n_points: 50, self: reporter === target,
});

/** Three models, one simulated; the sim → real cell not analysed yet. */
function sample(): PrivilegedAccess {
  return {
    models: [
      { key: 'self', label: 'tiny-llama', simulated: false },
      { key: 'b', label: 'tiny-llama-b', simulated: false },
      { key: 'sim', label: 'sim:native', simulated: true },
    ],
    matrix: [
      cell('self', 'self', 0.8), cell('self', 'b', 0.3), cell('self', 'sim', 0.2),
      cell('b', 'self', 0.4), cell('b', 'b', 0.5), cell('b', 'sim', 0.1),
      cell('sim', 'b', 0.25), cell('sim', 'sim', 0.6),
    ],
    verdicts: [
      {
        target: 'self', self_r: 0.8, best_other: 'obs:b@10', best_other_r: 0.5, self_r_paired: 0.8, n_scenarios: 10, diff: 0.3, ci: [0.1, 0.5],
        comparisons: [{ other: 'obs:b@10', n_scenarios: 10, self_r: 0.8, other_r: 0.5, diff: 0.3, ci: [0.1, 0.5] }], verdict: 'shown', why: 'Better than b.',
      },
      {
        target: 'b', self_r: 0.5, best_other: 'stat@20', best_other_r: 0.6, self_r_paired: 0.5, n_scenarios: 10, diff: -0.1, ci: [-0.3, 0.1],
        comparisons: [{ other: 'stat@20', n_scenarios: 10, self_r: 0.5, other_r: 0.6, diff: -0.1, ci: [-0.3, 0.1] }], verdict: 'not_shown', why: 'The statistician does as well.',
      },
    ],
    observers: [
      { reporter: 'b', target: 'self', k: 10, r: 0.5, ci: [0.4, 0.6], n_points: 50 },
      { reporter: 'b', target: 'self', k: 0, r: 0.2, ci: [0.1, 0.3], n_points: 50 },
      { reporter: 'sim', target: 'self', k: 0, r: 0.1, ci: [0, 0.2], n_points: 50 },
      { reporter: 'sim', target: 'self', k: 10, r: 0.3, ci: [0.2, 0.4], n_points: 50 },
    ],
    statistical_observer: [
      { target: 'self', k: 10, r: 0.7, ci: [0.6, 0.8] },
      { target: 'self', k: 0, r: 0, ci: [-0.1, 0.1] },
    ],
    common_sense: [{ a: 'self', b: 'sim', r: 0.45 }, { a: 'b', b: 'sim', r: 0.9 }],
    partial: [{ target: 'self', self_r: 0.8, self_r_partial: 0.7 }],
    worth: [{ target: 'self', k_star: null, relation: 'above_max', text: "tiny-llama's self-report is worth more than 10 observed decisions." }],
    complete: false,
  };
}

describe('privileged-access view rows', () => {
  it('heatmap: N × N cells in model order, the diagonal marked, a missing cell NaN, "simulated" in the title', () => {
    const { keys, cells } = heatmapCells(sample());
    expect(keys).toEqual(['self', 'b', 'sim']);
    expect(cells).toHaveLength(9);
    expect(cells.filter((c) => c.self).map((c) => c.reporter)).toEqual(['self', 'b', 'sim']);
    const missing = cells.find((c) => c.reporter === 'sim' && c.target === 'self')!;
    expect(missing.r).toBeNaN();
    expect(missing.n_points).toBe(0);
    expect(missing.title).toContain('r = n/a');
    const bSim = cells.find((c) => c.reporter === 'b' && c.target === 'sim')!;
    expect(bSim.simulated).toBe(true);
    expect(bSim.title).toBe('tiny-llama-b describing sim:native (simulated): r = 0.10, 95 % interval 0.00 to 0.20, n = 50');
    expect(cells.find((c) => c.reporter === 'self' && c.target === 'self')!.title).toMatch(/^tiny-llama describing itself: r = 0\.80/);
  });

  it('observer curves: one chart per target, points sorted by k, the statistical observer last, the self band from the diagonal', () => {
    const [first, second] = observerCharts(sample());
    expect(first.ks).toEqual([0, 10]);
    expect(first.series.map((s) => s.key)).toEqual(['obs:b', 'obs:sim', 'stat']);
    expect(first.series.map((s) => s.points.map((p) => p.k))).toEqual([[0, 10], [0, 10], [0, 10]]);
    expect(first.series[1].label).toBe('Observer: sim:native (simulated)');
    expect(first.series[1].simulated).toBe(true);
    expect(first.band).toMatchObject({ r: 0.8, ci: sample().matrix[0].ci, label: 'Self-report: tiny-llama' });
    expect(first.worth?.relation).toBe('above_max');
    expect(second.series).toEqual([]);
    expect(second.ks).toEqual([]);
  });

  it('observer curves: the self band never wears a curve’s colour, each curve has its own marker shape, and curves on top of each other are named', () => {
    // The target observing itself: its curve has the target's colour, so the band must not.
    const pa = sample();
    pa.observers.push({ reporter: 'self', target: 'self', k: 0, r: 0.105, ci: [0, 0.2], n_points: 50 }, { reporter: 'self', target: 'self', k: 10, r: 0.9, ci: [0.8, 1], n_points: 50 });
    const [first] = observerCharts(pa);
    expect(first.series.map((s) => s.label)).toContain('Self-observation: tiny-llama');
    expect(first.band?.color).toBe(BAND_COLOR);
    for (const s of first.series) expect(s.color).not.toBe(first.band?.color);
    expect(new Set(first.series.map((s) => s.shape)).size).toBe(first.series.length);
    // At k = 0: sim 0.1 and self 0.105 meet (b 0.2 and the statistician 0 do not); at k = 10 nothing meets.
    expect(first.overlaps).toEqual([{ k: 0, labels: ['Observer: sim:native (simulated)', 'Self-observation: tiny-llama'] }]);
    const at = (label: string, r: number) => ({ key: label, label, kind: 'observer' as const, color: '', shape: 'circle' as const, simulated: false, points: [{ k: 3, r, ci: [r, r] as [number, number] }] });
    expect(curveOverlaps([at('a', 0.5), at('b', 0.51), at('c', 0.52), at('d', 0.9), at('e', 0.6)])).toEqual([{ k: 3, labels: ['a', 'b', 'c'] }]);
    expect(curveOverlaps([at('a', 0.5), at('b', NaN)])).toEqual([]);
    expect(overlapSentences([{ k: 0, labels: ['b', 'a'] }, { k: 5, labels: ['a', 'b'] }, { k: 20, labels: ['a', 'b'] }, { k: 5, labels: ['c', 'd'] }])).toEqual([
      'At k = 0, 5 and 20 these curves lie on top of each other (drawn side by side): a; b.',
      'At k = 5 these curves lie on top of each other (drawn side by side): c; d.',
    ]);
  });

  it('grouped bars: per target the self-report first, each model keeping one colour', () => {
    const groups = barGroups(sample());
    expect(groups.map((g) => g.target)).toEqual(['self', 'b', 'sim']);
    expect(groups[1].bars.map((b) => b.reporter)).toEqual(['b', 'self', 'sim']);
    expect(groups[1].bars[0]).toMatchObject({ self: true, label: 'Self: tiny-llama-b', r: 0.5 });
    expect(groups[1].bars[2].label).toBe('Other: sim:native (simulated)');
    const info = modelInfo(sample());
    for (const g of groups) for (const b of g.bars) expect(b.color).toBe(info.color(b.reporter));
    expect(new Set(['self', 'b', 'sim'].map(info.color)).size).toBe(3);
    expect(OKABE_ITO).toContain(info.color('sim'));
  });

  it('verdict panel: the best other in words and the common-sense baseline of each target', () => {
    const info = modelInfo(sample());
    expect(describeOther('obs:sim@5', info)).toBe('sim:native (simulated) observing 5 decisions');
    expect(describeOther('stat@20', info)).toBe('the statistical observer with 20 decisions');
    expect(describeOther('b', info)).toBe('tiny-llama-b');
    expect(describeOther(null, info)).toBeNull();
    const rows = verdictRows(sample());
    expect(rows[0].bestOther).toBe('tiny-llama-b observing 10 decisions');
    expect(rows[0].commonSense).toEqual([{ other: 'sim', label: 'sim:native (simulated)', r: 0.45 }]);
    expect(rows[2].commonSense.map((c) => c.other)).toEqual(['self', 'b']);
    expect(rows[2].verdict).toBeNull();
    expect(rows[0].partial).toEqual({ self_r: 0.8, self_r_partial: 0.7 });
  });

  it('CSV exports read back to the same numbers and say which models are simulated', () => {
    const pa = sample();
    const m = Papa.parse<Record<string, string>>(matrixCsv(pa), { header: true, skipEmptyLines: true }).data;
    expect(m).toHaveLength(9);
    for (const c of pa.matrix) {
      const row = m.find((x) => x.reporter === c.reporter && x.target === c.target)!;
      expect([Number(row.r), Number(row.ci_low), Number(row.ci_high), Number(row.n_points)]).toEqual([c.r, c.ci[0], c.ci[1], c.n_points]);
      expect(row.self).toBe(c.self ? 'yes' : 'no');
    }
    const missing = m.find((x) => x.reporter === 'sim' && x.target === 'self')!;
    expect([missing.r, missing.reporter_simulated, missing.reporter_label]).toEqual(['', 'yes', 'sim:native (simulated)']);

    const o = Papa.parse<Record<string, string>>(observersCsv(pa), { header: true, skipEmptyLines: true }).data;
    expect(o).toHaveLength(pa.observers.length + pa.statistical_observer.length);
    expect(o.filter((x) => x.kind === 'statistical').map((x) => Number(x.r))).toEqual([0.7, 0]);
    expect(o.find((x) => x.reporter === 'sim')!.reporter_label).toBe('sim:native (simulated)');

    const v = Papa.parse<Record<string, string>>(verdictsCsv(pa), { header: true, skipEmptyLines: true }).data;
    expect(v.map((x) => x.verdict)).toEqual(['shown', 'not_shown', 'undetermined']);
    expect(v[2].target_simulated).toBe('yes');
    expect(Number(v[0].diff)).toBe(0.3);
    expect([Number(v[0].self_r_paired), Number(v[0].best_other_r), Number(v[0].n_scenarios), Number(v[0].comparisons)]).toEqual([0.8, 0.5, 10, 1]);
  });
});

describe('a matrix cell, point by point', () => {
  it("is the reporter's own self-report (not an observer condition) against the target's learned weights (not its example pool)", async () => {
    const spec = severalModelsSpec('cell', { scenarios: 3, decisions: 12, reports: 2 }, SIMULATED_PRESET_MODELS, { seed: 'cell', observe: [0, 3] });
    const { record } = await runSimulated(spec);
    const analysis = analyzeRun(record, { resamples: 50 });
    const points = cellScatter(spec, analysis, 'm1', 'm2');
    expect(points).toHaveLength(3 * 5);
    const reported = analysis.reports.find((r) => r.key === 'report-m1')!.reported;
    const learned = analysis.decisions.find((d) => d.key === 'decide-m2')!.learned;
    for (const p of points) {
      const i = analysis.scenarios.find((s) => s.id === p.scenario)!.attributes.indexOf(p.attribute);
      expect([p.x, p.y]).toEqual([learned.get(p.scenario)![i], reported.get(p.scenario)![i]]);
    }
    // The diagonal is the self-report against the model's own learned weights.
    expect(cellScatter(spec, analysis, 'm2', 'm2').map((p) => p.y)).toEqual(
      analysis.scenarios.flatMap((s) => analysis.reports.find((r) => r.key === 'report-m2')!.reported.get(s.id)!),
    );
    expect(cellScatter(spec, analysis, 'nobody', 'm2')).toEqual([]);
  });

  it('in a self + control spec the control (no decisions of its own) has the cell about the model', async () => {
    const spec = presetSpec('classroom', { model: SIMULATED_PRESET_MODELS[0], control: SIMULATED_PRESET_MODELS[1], seed: 'cell' });
    Object.assign(spec, { decisionsPerScenario: 12, reportsPerScenario: 2, scenarios: { source: 'builtin', count: 2 } });
    const { record } = await runSimulated(spec);
    const analysis = analyzeRun(record, { resamples: 50 });
    const reported = analysis.reports.find((r) => r.key === 'control-report')!.reported;
    expect(cellScatter(spec, analysis, 'control', 'self').map((p) => p.y)).toEqual(analysis.scenarios.flatMap((s) => reported.get(s.id)!));
    expect(cellScatter(spec, analysis, 'self', 'control')).toEqual([]);
  });
});

describe('model labels', () => {
  it('say "simulated" once', () => {
    expect(modelLabel({ key: 'a', label: 'trained (simulated)', simulated: true })).toBe('trained (simulated)');
    expect(modelLabel({ key: 'a', label: 'sim:x', simulated: true })).toBe('sim:x (simulated)');
    expect(modelLabel({ key: 'a', label: 'Qwen', simulated: false })).toBe('Qwen');
  });
});

describe('verdict cards (issue 19, items 3 and 4)', () => {
  it('say the answer once, in plain words, and never contradict themselves', () => {
    const pa = sample();
    // b's own self-report is beaten by the statistician, yet the analysis offers a "worth" sentence.
    pa.worth.push({ target: 'b', k_star: 20, relation: 'between', text: "tiny-llama-b's self-report is worth about 20 observed decisions." });
    const [self, b, sim] = verdictRows(pa);
    expect(verdictSentence(self)).toBe('tiny-llama described its own choices better than anyone else could (r = 0.80; closest: tiny-llama-b observing 10 decisions (r = 0.50)): privileged access shown.');
    expect(verdictSentence(b)).toMatch(/^tiny-llama-b's self-report \(r = 0\.50\) was matched or beaten by the statistical observer with 20 decisions \(r = 0\.60\): privileged access not shown\.$/);
    expect(verdictSentence(sim)).toMatch(/not enough data yet/);
    expect(consistentWorth(b)).toBeNull();
    expect(consistentWorth(self)?.text).toMatch(/worth more than 10/);
    for (const row of [self, b, sim]) {
      const text = verdictSentence(row);
      expect(text).not.toMatch(/-\d/); // one minus sign: U+2212, never a hyphen
      expect(text).not.toMatch(/\b(obs:|stat@|decide-|pool-|observe-)/); // readable names, never keys
    }
  });

  it('no "-0.00", and disattenuated r above 1 is capped and explained', () => {
    expect(formatR(-0.001)).toBe('0.00');
    expect(formatR(-0.004, 2)).toBe('0.00');
    expect(formatR(-0.006)).toBe('−0.01');
    const text = ceilingText({ ceiling: 0.96, ci: [0.94, 0.97], disattenuated: 1.01 } as Ceiling)!;
    expect(text).toMatch(/disattenuated r 1\.00 \(capped/);
    expect(text).not.toMatch(/r 1\.01,|r 1\.01$/);
    expect(ceilingText({ ceiling: 0.9, ci: [-0.04, 0.95], disattenuated: 0.5 } as Ceiling)).toBe('ceiling 0.90 [−0.04, 0.95], disattenuated r 0.50');
  });
});
