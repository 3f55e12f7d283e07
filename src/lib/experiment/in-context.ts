/**
 * In-context introspection training (no fine-tuning): before a self-report,
 * the reporter is shown k correct self-reports for OTHER contexts of the
 * experiment — each the paper's introspection prompt answered with that
 * context's weights as JSON (the targets, or a finished run's learned weights)
 * — as earlier turns of the conversation. The asked context is never among
 * them. The Exp 2 and Exp 3 analogues, runnable on any model.
 *
 * Which contexts are shown: per asked context, a seeded shuffle of the others,
 * the first k; so a condition with k = 5 shows a subset of k = 10's examples.
 */
import type { PlannedScenario, ReportTrial } from './plan';
import { introspectionMessages, PAPER_PROMPTS, type ChatMessage, type PromptTemplates } from '../prompts';
import { rngFor, shuffled } from '../rng';
import { sampleOption } from '../sampling';
import type { OptionValues, Scenario, Weights } from '../scenarios/types';
import type { Condition, ExperimentSpec, ReportCondition, ReportMode } from './spec';
import { reportAnswer } from '../training/set';

/** The spec's description of a condition's shown self-reports. */
export interface InContextExamples {
  k: number;
  /** Whose weights the shown answers state: the contexts' targets, or `weights` (a run's learned weights). */
  answers: 'target' | 'learned';
  weights?: Record<string, Weights>;
}

/** One shown self-report: a context other than the asked one and the options of its prompt. */
export interface ShownReport {
  scenarioId: string;
  a: OptionValues;
  b: OptionValues;
}

/** The k shown self-reports for a trial in `askedId`, from the plan's other contexts. */
export function pickShownReports(seed: string, planned: readonly PlannedScenario[], askedId: string, k: number): ShownReport[] {
  const others = planned.filter((p) => p.scenario.id !== askedId).map((p) => p.scenario);
  if (k > others.length) throw new RangeError(`${k} in-context examples need ${k + 1} contexts in the experiment; it has ${planned.length}.`);
  return shuffled(others, rngFor(seed, 'in-context', askedId))
    .slice(0, k)
    .map((s) => {
      const rng = rngFor(seed, 'in-context-options', askedId, s.id);
      return { scenarioId: s.id, a: sampleOption(s.attributes, rng), b: sampleOption(s.attributes, rng) };
    });
}

/** Problems with a condition's `examples` field (for the spec's validator). */
export function checkInContext(v: unknown, at: string): string[] {
  if (typeof v !== 'object' || v === null) return [`${at}: examples must be an object {k, answers}.`];
  const e = v as Record<string, unknown>;
  const p: string[] = [];
  if (!Number.isInteger(e.k) || (e.k as number) < 0) p.push(`${at}: examples.k must be an integer ≥ 0.`);
  if (e.answers !== 'target' && e.answers !== 'learned') p.push(`${at}: examples.answers must be "target" or "learned".`);
  if (e.answers === 'learned' && (typeof e.weights !== 'object' || e.weights === null)) p.push(`${at}: examples.weights must give the learned weights per context when answers is "learned".`);
  return p;
}

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
