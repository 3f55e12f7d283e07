/**
 * Run → self-prediction analysis (src/lib/analysis/self-prediction.ts): what
 * `cli analyze --run DIR --json` prints as `self_prediction` and
 * `self_prediction_verdicts`, and what the Results page shows. Pure.
 *
 * Every predictions condition is one predictor of the decision condition it is
 * about (its target: that condition's model): itself (reporter = target, no
 * observer), another model, or an observer shown k of the target's pool
 * decisions. For each k > 0 that observers use, the statistical observer
 * predicts the same trials from the lab's logistic fit of the same k decisions.
 */
import { learnedWeights } from '../lib/analysis/weights';
import {
  choiceMetrics,
  probabilityMetrics,
  selfPredictionVerdict,
  type ChoiceMetrics,
  type PredictionRow,
  type PredictorRows,
  type ProbabilityMetrics,
  type SelfPredictionVerdict,
} from '../lib/analysis/self-prediction';
import { normalizedDifferences } from '../lib/sampling';
import type { PredictionTrial, Trial } from '../lib/experiment/plan';
import type { DecisionResult, RunRecord, TrialResult } from '../lib/experiment/runs';
import type { PredictionCondition } from '../lib/experiment/spec';

export interface SelfPredictionEntry {
  target: string;
  /** A model key, or "statistical" (the lab's logistic fit of the k shown decisions). */
  reporter: string;
  kind: 'probability' | 'choice';
  k: number;
  self: boolean;
  condition: string | null;
  rows: PredictionRow[];
  probability?: ProbabilityMetrics;
  choice?: ChoiceMetrics;
}

export interface SelfPredictionVerdictEntry extends SelfPredictionVerdict {
  target: string;
  kind: 'probability' | 'choice';
}

export interface SelfPredictionAnalysis {
  entries: SelfPredictionEntry[];
  verdicts: SelfPredictionVerdictEntry[];
}

export function selfPredictionOf(record: RunRecord, opts: { resamples?: number; seed?: string } = {}): SelfPredictionAnalysis | null {
  const conds = record.spec.conditions.filter((c): c is PredictionCondition => c.kind === 'predictions');
  if (!conds.length) return null;
  const results = new Map<string, TrialResult>(record.results.map((r) => [r.trialId, r]));
  const trials = new Map<string, Trial>(record.plan.trials.map((t) => [t.id, t]));
  const attrs = new Map(record.plan.scenarios.map((p) => [p.scenario.id, p.scenario.attributes]));
  const deciderOf = new Map(record.spec.conditions.filter((c) => c.kind === 'decisions').map((c) => [c.key, (c as { model: string }).model]));
  const boot = { resamples: opts.resamples, seed: opts.seed };
  const rowOf = (t: PredictionTrial, predicted: Pick<PredictionRow, 'predicted' | 'predictedChoice'>): PredictionRow | null => {
    const d = results.get(t.decision);
    if (!d || d.kind !== 'decision') return null;
    return { scenario: t.scenarioId, actualP: (d as DecisionResult).pA, actualChoice: (d as DecisionResult).choice, ...predicted };
  };
  const entries: SelfPredictionEntry[] = [];
  const conditionTrials = (key: string) => record.plan.trials.filter((t): t is PredictionTrial => t.kind === 'prediction' && t.condition === key);
  for (const c of conds) {
    const target = deciderOf.get(c.about)!;
    const rows: PredictionRow[] = [];
    for (const t of conditionTrials(c.key)) {
      const r = results.get(t.id);
      if (!r || r.kind !== 'prediction') continue;
      const pred = c.predict === 'probability' ? (r.probability == null ? null : { predicted: r.probability / 100 }) : r.choice ? { predictedChoice: r.choice } : null;
      const row = pred && rowOf(t, pred);
      if (row) rows.push(row);
    }
    entries.push({ target, reporter: c.reporter, kind: c.predict, k: c.observe?.k ?? 0, self: c.reporter === target && !c.observe, condition: c.key, rows });
  }
  // The statistical observer: for each (target, kind, k > 0, pool) the observers use, on the self condition's trials.
  const seen = new Set<string>();
  for (const c of conds) {
    if (!c.observe?.pool || c.observe.k === 0) continue;
    const target = deciderOf.get(c.about)!;
    const id = `${target}|${c.predict}|${c.observe.k}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const selfCond = conds.find((s) => s.about === c.about && s.predict === c.predict && s.reporter === target && !s.observe) ?? c;
    const pool = c.observe.pool;
    const k = c.observe.k;
    const fits = new Map<string, ((a: readonly number[], b: readonly number[]) => number) | null>();
    const fitFor = (scenario: string) => {
      if (fits.has(scenario)) return fits.get(scenario)!;
      const shown = Array.from({ length: k }, (_, i) => {
        const t = trials.get(`${pool}/${scenario}/${String(i).padStart(3, '0')}`);
        const r = t && results.get(t.id);
        return t && r && r.kind === 'decision' ? { a: t.a, b: t.b, choice: r.choice } : null;
      });
      let f: ((a: readonly number[], b: readonly number[]) => number) | null = null;
      if (shown.every((x) => x)) {
        const at = attrs.get(scenario)!;
        const fit = learnedWeights(at, shown as { a: number[]; b: number[]; choice: 'A' | 'B' }[]);
        f = (a, b) => {
          const d = normalizedDifferences(at, a as number[], b as number[]);
          return 1 / (1 + Math.exp(-(fit.intercept + fit.coefficients.reduce((u, x, i) => u + x * d[i], 0))));
        };
      }
      fits.set(scenario, f);
      return f;
    };
    const rows: PredictionRow[] = [];
    for (const t of conditionTrials(selfCond.key)) {
      const f = fitFor(t.scenarioId);
      if (!f) continue;
      const p = f(t.a, t.b);
      const row = rowOf(t, c.predict === 'probability' ? { predicted: p } : { predictedChoice: p >= 0.5 ? 'A' : 'B' });
      if (row) rows.push(row);
    }
    entries.push({ target, reporter: 'statistical', kind: c.predict, k, self: false, condition: null, rows });
  }
  for (const e of entries) {
    if (e.kind === 'probability') e.probability = probabilityMetrics(e.rows, boot);
    else e.choice = choiceMetrics(e.rows, boot);
  }
  const verdicts: SelfPredictionVerdictEntry[] = [];
  for (const self of entries.filter((e) => e.self)) {
    const others: PredictorRows[] = entries.filter((e) => !e.self && e.target === self.target && e.kind === self.kind);
    verdicts.push({ target: self.target, kind: self.kind, ...selfPredictionVerdict(self.kind, self.rows, others, boot) });
  }
  return { entries, verdicts };
}

// Unrounded (null where undefined), so the page's numbers can be checked against the CLI's within 1e-9.
const r4 = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function selfPredictionToJson(a: SelfPredictionAnalysis): { self_prediction: unknown[]; self_prediction_verdicts: unknown[] } {
  return {
    self_prediction: a.entries.map((e) => ({
      target: e.target,
      reporter: e.reporter,
      kind: e.kind,
      k: e.k,
      condition: e.condition,
      n: e.probability?.n ?? e.choice?.n ?? 0,
      r: e.probability ? r4(e.probability.r) : null,
      mae: e.probability ? r4(e.probability.mae) : null,
      calibration: e.probability ? e.probability.calibration.map((b) => ({ lo: b.lo, hi: b.hi, n: b.n, predicted: r4(b.predicted), actual: r4(b.actual) })) : null,
      accuracy: e.choice ? r4(e.choice.accuracy) : null,
      base_rate: e.choice ? r4(e.choice.base_rate) : null,
      kappa: e.choice ? r4(e.choice.kappa) : null,
      ci: (e.probability?.ci ?? e.choice!.ci).map(r4),
    })),
    self_prediction_verdicts: a.verdicts.map((v) => ({
      target: v.target,
      kind: v.kind,
      self: r4(v.self),
      best_other: v.best_other,
      best_other_k: v.best_other_k,
      diff: r4(v.diff),
      ci: v.ci.map(r4),
      verdict: v.verdict,
    })),
  };
}
