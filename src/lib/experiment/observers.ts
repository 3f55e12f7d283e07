/**
 * Observers (issue 9): a reporter shown k of the target's own decisions before
 * it is asked how heavily that decision-maker weighted each attribute.
 *
 * Which decisions are shown: the target's example pool, a decision condition of
 * its own (`pool` in the spec) whose options come from a separate seeded stream
 * ('pool'), so the shown decisions are never the ones the target's learned
 * weights are estimated from. In a scenario, an observer with k examples sees
 * the pool's first k decisions, in order, in every one of its report trials:
 * the sets are nested (k = 5 ⊂ k = 10 ⊂ k = 20), and the statistical observer
 * fits exactly the same k decisions.
 */
import { trialIdOf, type PredictionTrial, type ReportTrial, type Trial } from './plan';
import type { ObservedDecision } from '../prompts';
import type { DecisionResult, TrialResult } from './runs';

/** An observer trial that shows decisions (k ≥ 1): the runner runs it after every pool decision. */
export function needsExamples(trial: Trial): boolean {
  return (trial.kind === 'report' || trial.kind === 'prediction') && !!trial.observe && trial.observe.k > 0;
}

export class MissingExamplesError extends Error {
  override name = 'MissingExamplesError';
}

/** The pool trials an observer trial shows, in order. */
export function exampleTrialIds(trial: ReportTrial | PredictionTrial): string[] {
  if (!trial.observe?.pool) return [];
  const { pool, k } = trial.observe;
  return Array.from({ length: k }, (_, i) => trialIdOf(pool, trial.scenarioId, i));
}

/**
 * The decisions an observer trial shows (options and the target's choice), or
 * undefined for a trial that is not an observer's. Throws MissingExamplesError
 * when a shown decision has no result yet.
 */
export function shownDecisions(
  trial: Trial,
  trialsById: ReadonlyMap<string, Trial>,
  resultOf: (trialId: string) => TrialResult | undefined,
): ObservedDecision[] | undefined {
  if ((trial.kind !== 'report' && trial.kind !== 'prediction') || !trial.observe) return undefined;
  return exampleTrialIds(trial).map((id) => {
    const t = trialsById.get(id);
    const r = resultOf(id);
    if (!t || !r || r.kind !== 'decision')
      throw new MissingExamplesError(`Observer trial ${trial.id} shows decision ${id}, which has not run yet.`);
    return { a: t.a, b: t.b, choice: (r as DecisionResult).choice };
  });
}
