/**
 * In-context introspection training (no fine-tuning): before a self-report,
 * the reporter is shown k correct self-reports for OTHER contexts of the
 * experiment — each the paper's introspection prompt answered with that
 * context's weights as JSON (the targets, or a finished run's learned weights)
 * — as earlier turns of the conversation. The asked context is never among
 * them. The Exp 2 and Exp 3 analogues, runnable on any model.
 *
 * The spec describes them (`examples`, spec.ts) and the plan picks which
 * contexts each trial shows (`shown`, plan.ts); this module writes the prompt.
 */
import type { PlannedScenario, ReportTrial, ShownReport } from './plan';
import { introspectionMessages, PAPER_PROMPTS, type ChatMessage, type PromptTemplates } from '../prompts';
import type { OptionValues, Scenario, Weights } from '../scenarios/types';
import type { Condition, ExperimentSpec, ReportCondition, ReportMode } from './spec';
import { reportAnswer } from '../training/set';

/** The prompt: k earlier turns (another context's introspection prompt, its correct JSON answer), then the question. */
export function inContextMessages(
  asked: Scenario,
  a: OptionValues,
  b: OptionValues,
  shown: ReadonlyArray<{ scenario: Scenario; a: OptionValues; b: OptionValues; weights: Weights }>,
  templates: PromptTemplates = PAPER_PROMPTS,
): ChatMessage[] {
  const question = introspectionMessages(asked, a, b, templates);
  const system = question.filter((m) => m.role === 'system');
  const turns = shown.flatMap((s) => [
    ...introspectionMessages(s.scenario, s.a, s.b, templates).filter((m) => m.role === 'user'),
    { role: 'assistant' as const, content: reportAnswer(s.scenario, s.weights) },
  ]);
  return [...system, ...turns, ...question.filter((m) => m.role !== 'system')];
}

/** A trial's in-context prompt, resolving the shown contexts and their answers' weights. */
export function inContextTrialMessages(
  trial: ReportTrial & { shown: ShownReport[] },
  planned: readonly PlannedScenario[],
  condition: Condition | undefined,
  templates: PromptTemplates = PAPER_PROMPTS,
): ChatMessage[] {
  const byId = new Map(planned.map((p) => [p.scenario.id, p]));
  const ex = condition?.kind === 'reports' ? condition.examples : undefined;
  const asked = byId.get(trial.scenarioId)!.scenario;
  return inContextMessages(
    asked,
    trial.a,
    trial.b,
    trial.shown.map((s) => {
      const p = byId.get(s.scenarioId)!;
      const weights = ex?.answers === 'learned' ? ex.weights?.[s.scenarioId] : p.target;
      if (!weights) throw new RangeError(`No ${ex?.answers ?? 'target'} weights for context "${s.scenarioId}" shown in ${trial.id}.`);
      return { scenario: p.scenario, a: s.a, b: s.b, weights };
    }),
    templates,
  );
}

/** One self-report condition per k (k a list): "in-context-k5", … */
export function inContextConditions(opts: { reporter: string; about: string; ks: number[]; mode?: ReportMode; answers?: 'target' | 'learned'; weights?: Record<string, Weights> }): ReportCondition[] {
  return opts.ks.map((k) => ({
    kind: 'reports',
    key: `in-context-k${k}`,
    reporter: opts.reporter,
    about: opts.about,
    mode: opts.mode ?? 'constrained',
    examples: { k, answers: opts.answers ?? 'target', ...(opts.weights ? { weights: opts.weights } : {}) },
  }));
}

/**
 * A spec plus in-context self-report conditions about its first decision
 * condition, by its first model: the Exp 2/3 analogue of an evaluation spec.
 */
export function withInContext(spec: ExperimentSpec, ks: number[], answers: 'target' | 'learned', weights?: Record<string, Weights>): ExperimentSpec {
  const decide = spec.conditions.find((c) => c.kind === 'decisions' && c.pool === undefined);
  if (!decide || decide.kind !== 'decisions') throw new RangeError('the spec has no decision condition for in-context self-reports to be about');
  const added = inContextConditions({ reporter: decide.model, about: decide.key, ks, answers, ...(weights ? { weights } : {}) });
  return { ...spec, name: `${spec.name} + in-context self-reports`, conditions: [...spec.conditions.filter((c) => !added.some((a) => a.key === c.key)), ...added] };
}
