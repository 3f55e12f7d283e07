/**
 * How the Results page's older views (accuracy bars, invalid reports, reliability
 * table) group report conditions on runs with several models: by target, the
 * self-report first, each observer's conditions (every k) summarised on one row
 * with their tallies added up; self + control runs keep the paper's flat labels.
 */
import { describe, expect, it } from 'vitest';
import { analyzeRun, type ReportConditionAnalysis } from '../src/app/run-analysis';
import { conditionLabel, isSeveral, kList, reportGroups, reportKind } from '../src/app/report-groups';
import { rRows } from '../src/app/decision-diagnostics';
import { presetSpec, severalModelsSpec, SIMULATED_PRESET_MODELS } from '../src/lib/experiment/presets';
import { runSimulated } from './support/sim-run';

describe('report groups on a run of three simulated models with observers', async () => {
  const spec = severalModelsSpec('groups', { scenarios: 3, decisions: 12, reports: 2 }, SIMULATED_PRESET_MODELS, { seed: 'groups', observe: [0, 3, 6] });
  const { record } = await runSimulated(spec);
  const a = analyzeRun(record, { resamples: 20 });

  it('one group per target in the spec order, its self-report listed, its observers summarised per reporter', () => {
    expect(isSeveral(a)).toBe(true);
    const groups = reportGroups(a);
    expect(groups.map((g) => g.target)).toEqual(['m1', 'm2', 'm3']);
    for (const g of groups) {
      expect(g.reports.map((r) => r.key)).toEqual([`report-${g.target}`]);
      // Every model observes every target at k > 0; only the target itself at k = 0.
      expect(g.observers.map((o) => [o.reporter, o.ks])).toEqual(['m1', 'm2', 'm3'].map((r) => [r, r === g.target ? [0, 3, 6] : [3, 6]]));
    }
    // Every report condition is in exactly one place: 3 self-reports + the observers' conditions.
    const listed = groups.flatMap((g) => [...g.reports.map((r) => r.key), ...g.observers.flatMap((o) => o.keys)]);
    expect(listed.sort()).toEqual(a.reports.map((r) => r.key).sort());
    expect(a.reports.filter((r) => reportKind(r) === 'observer')).toHaveLength(listed.length - 3);
  });

  it("an observer's row adds up the tallies of its k conditions", () => {
    const o = reportGroups(a)[1].observers[0];
    const parts = o.keys.map((k) => a.reports.find((r) => r.key === k)!.tally);
    expect(o.tally.total).toBe(parts.reduce((s, t) => s + t.total, 0));
    expect(o.tally.total).toBe(3 * 2 * o.ks.length);
    expect(o.tally.invalid).toBe(parts.reduce((s, t) => s + t.invalid, 0));
    expect(o.tally.invalidRate).toBe(o.tally.invalid / o.tally.total);
  });

  it('labels say who reports on whom, and "simulated"', () => {
    const obs = a.reports.find((r) => r.key === 'observe-m2-m1-k3')!;
    expect(conditionLabel(obs, true)).toBe("Observer native-1 (simulated) shown 3 of trained (simulated)'s decisions");
    expect(conditionLabel(a.reports.find((r) => r.key === 'report-m3')!, true)).toBe('Self-report: native-2 (simulated)');
  });

  it('the reliability rows of observer conditions are marked (the page folds them away)', () => {
    const rows = rRows(a);
    // Learned vs target only for the model trained on the targets (m1); m2 and m3 are native.
    expect(new Set(rows.filter((r) => !r.observer).map((r) => r.condition))).toEqual(new Set(['decide-m1', 'pool-m1', 'report-m1', 'report-m2', 'report-m3']));
    expect(new Set(rows.filter((r) => r.comparison.endsWith('vs target')).map((r) => r.condition))).toEqual(
      new Set(['decide-m1', 'pool-m1', 'report-m1', ...a.reports.filter((r) => r.observer && r.about === 'decide-m1' && r.vsTarget).map((r) => r.key)]),
    );
    expect(new Set(rows.filter((r) => r.observer).map((r) => r.condition))).toEqual(new Set(a.reports.filter((r) => r.observer && r.vsLearned).map((r) => r.key)));
    expect(rows.filter((r) => !r.observer).every((r) => !r.condition.startsWith('observe-'))).toBe(true);
  });
});

describe('report groups on a self + control run', async () => {
  const spec = presetSpec('classroom', { model: SIMULATED_PRESET_MODELS[0], control: SIMULATED_PRESET_MODELS[1], seed: 'groups' });
  Object.assign(spec, { decisionsPerScenario: 12, reportsPerScenario: 2, scenarios: { source: 'builtin', count: 2 } });
  const { record } = await runSimulated(spec);
  const a = analyzeRun(record, { resamples: 20 });

  it('is not "several": the page keeps the flat layout and the paper\'s labels', () => {
    expect(isSeveral(a)).toBe(false);
    expect(a.reports.map((r) => conditionLabel(r, false))).toEqual(['Self-report: trained (simulated)', 'Control: native-1 (simulated)']);
    const [g] = reportGroups(a);
    expect(g.target).toBe('self');
    expect(g.reports.map(reportKind)).toEqual(['self', 'cross']);
    expect(conditionLabel(g.reports[1], true)).toBe('Cross-report: native-1 (simulated) on trained (simulated)');
  });
});

describe('reportGroups on hand-made conditions', () => {
  const rep = (key: string, reporter: string, target: string, extra: Partial<ReportConditionAnalysis> = {}) =>
    ({ key, reporter, reporterId: reporter, target, targetId: target, about: `decide-${target}`, mode: 'constrained', isSelf: reporter === target && !extra.observer, observer: false, tally: { total: 0, valid: 0, invalid: 0, invalidRate: NaN, reasons: {} }, ...extra }) as ReportConditionAnalysis;

  it('puts the self-report before cross-reports whatever the spec order, orders observer k, and is several with two targets', () => {
    const a = {
      reports: [
        rep('b-on-a', 'b', 'a'),
        rep('a-self', 'a', 'a'),
        rep('obs-k9', 'b', 'a', { observer: true, k: 9, tally: { total: 4, valid: 3, invalid: 1, invalidRate: 0.25, reasons: { no_json: 1 } } }),
        rep('obs-k1', 'b', 'a', { observer: true, k: 1, tally: { total: 4, valid: 2, invalid: 2, invalidRate: 0.5, reasons: { no_json: 1, out_of_range: 1 } } }),
        rep('b-self', 'b', 'b'),
      ],
    };
    expect(isSeveral(a)).toBe(true);
    const [ga, gb] = reportGroups(a);
    expect(ga.reports.map((r) => r.key)).toEqual(['a-self', 'b-on-a']);
    expect(ga.observers).toHaveLength(1);
    expect(ga.observers[0]).toMatchObject({ ks: [1, 9], keys: ['obs-k1', 'obs-k9'], tally: { total: 8, invalid: 3, invalidRate: 3 / 8, reasons: { no_json: 2, out_of_range: 1 } } });
    expect(gb.reports.map((r) => r.key)).toEqual(['b-self']);
    expect(kList([0, 5, 10])).toBe('k = 0, 5, 10');
    expect(kList([0, 1, 2, 5, 10])).toBe('k = 0 … 10 (5 values)');
  });
});
