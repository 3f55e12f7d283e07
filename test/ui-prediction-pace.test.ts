/**
 * The Run view's progress for self-prediction runs (issue 18): predictions are
 * their own kind, with their own progress line per model and their own pace;
 * until a prediction has been timed its time left comes from the report pace
 * (or, with no report either, the decisions and the stated prior), marked as a
 * guess. The runner's prediction trials reach the pace under that kind.
 */
import { describe, expect, it } from 'vitest';
import { ConditionRates, progressGroups, REPORT_PER_DECISION_PRIOR, WARMUP_TRIALS } from '../src/app/progress';
import type { RunProgress } from '../src/lib/experiment/runner';
import { presetSpec, selfPredictionSpec } from '../src/lib/experiment/presets';
import { conditionModel } from '../src/lib/experiment/spec';
import { simulatedId } from '../src/lib/experiment/simulated';
import { runSimulated } from './support/sim-run';

const progress = (byCondition: RunProgress['byCondition']): RunProgress => ({ runId: 'x', state: 'running', done: 0, total: 0, trialsPerSec: 0, etaSec: null, byCondition });
/** Times `n` trials of a kind after the two warm-up trials the pace leaves out (WARMUP_TRIALS), each `ms`. */
const timed = (rates: ConditionRates, condition: string, kind: string, ms: number, n = 1) => {
  for (let i = 0; i < WARMUP_TRIALS; i++) rates.record(condition, kind, ms * 3, 'm1');
  for (let i = 0; i < n; i++) rates.record(condition, kind, ms, 'm1');
};
const rowOf = (rates: ConditionRates, p: RunProgress, key: string) => rates.rows(p, () => 'm1').find((r) => r.key === key)!;

describe('prediction pace', () => {
  it('a prediction not yet timed takes the report pace (a guess); once timed, its own', () => {
    const rates = new ConditionRates();
    timed(rates, 'decide', 'decision', 100);
    timed(rates, 'report', 'report', 2000);
    const p = progress({ decide: { kind: 'decisions', done: 1, total: 10 }, report: { kind: 'reports', done: 1, total: 5 }, predict: { kind: 'predictions', done: 0, total: 10 } });
    const before = rowOf(rates, p, 'predict');
    expect(before.etaSec).toBeCloseTo(10 * 2, 9);
    expect(before.guessed).toBe(true);
    timed(rates, 'predict', 'prediction', 500);
    const after = rowOf(rates, { ...p, byCondition: { ...p.byCondition, predict: { kind: 'predictions', done: 1, total: 10 } } }, 'predict');
    expect(after.etaSec).toBeCloseTo(9 * 0.5, 9);
    expect(after.guessed).toBe(false);
    // Another prediction condition of the model, not started: the measured prediction pace, not the report's.
    const other = rowOf(rates, { ...p, byCondition: { ...p.byCondition, 'predict-2': { kind: 'predictions', done: 0, total: 4 } } }, 'predict-2');
    expect([other.etaSec, other.guessed]).toEqual([4 * 0.5, false]);
    // Reports still keep their own pace: predictions do not mix into it.
    expect(rates.secPerTrial('m1', 'report')).toEqual({ sec: 2, guessed: false });
  });

  it('with no report in the run (the self-prediction preset), the decisions and the prior; nothing timed yet, unknown', () => {
    const rates = new ConditionRates();
    const p = progress({ decide: { kind: 'decisions', done: 0, total: 10 }, predict: { kind: 'predictions', done: 0, total: 10 } });
    expect(rowOf(rates, p, 'predict').etaSec).toBeNull();
    timed(rates, 'decide', 'decision', 100);
    const row = rowOf(rates, p, 'predict');
    expect(row.etaSec).toBeCloseTo(10 * 0.1 * REPORT_PER_DECISION_PRIOR, 9);
    expect(row.guessed).toBe(true);
  });

  it('the self-prediction preset groups per model: its decisions (with its example pool), then its predictions', () => {
    const spec = presetSpec('self-prediction', { model: { id: 'a' }, control: { id: 'b' } });
    const byCondition = Object.fromEntries(spec.conditions.map((c) => [c.key, { kind: c.kind, done: 0, total: 2 }]));
    const modelOf = (k: string) => conditionModel(spec.conditions.find((c) => c.key === k)!);
    const groups = progressGroups(new ConditionRates().rows(progress(byCondition), modelOf));
    expect(groups.map((g) => `${g.model}:${g.kind}`)).toEqual(['m1:decisions', 'm2:decisions', 'm1:predictions', 'm2:predictions']);
    const predictions = spec.conditions.filter((c) => c.kind === 'predictions' && c.reporter === 'm1');
    expect(groups[2].conditions.map((c) => c.key)).toEqual(predictions.map((c) => c.key));
  });

  it('the runner\'s prediction trials are timed as predictions (the kind the pace reads)', async () => {
    const spec = selfPredictionSpec('pace', { scenarios: 1, decisions: 2 }, [{ id: simulatedId({ label: 'p', weights: 'native', access: 0.5 }) }], { observe: [0] });
    const rates = new ConditionRates();
    const modelOf = (k: string) => conditionModel(spec.conditions.find((c) => c.key === k)!);
    const kinds = new Set<string>();
    await runSimulated(spec, {
      onTrial: (e) => {
        kinds.add(e.trial.kind);
        rates.record(e.trial.condition, e.trial.kind, e.result.ms, modelOf(e.trial.condition));
      },
    });
    expect(kinds).toEqual(new Set(['decision', 'prediction']));
    expect(rates.secPerTrial('m1', 'prediction')?.guessed).toBe(false);
  });
});
