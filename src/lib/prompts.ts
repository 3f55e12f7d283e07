/**
 * Prompt templates. The defaults are the prompts of Plunkett, Morris, Reddy &
 * Morales (2025), "Self-Interpretability: LLMs Can Describe Complex Internal
 * Processes that Drive Their Decisions" (arXiv:2505.17120), appendix B, as used
 * in their released code: a system prompt, the [DECISION TASK] prompt and the
 * [INTROSPECTION TASK] prompt, each followed by the choice.
 *
 * Templates are plain data (users can edit them); placeholders are
 * `{{choice}}`, `{{n}}` (attribute count) and `{{n_word}}` ("five").
 */
import type { Attribute, OptionValues, Scenario } from './scenarios/types';
import { roundingPrecision } from './sampling';

export interface PromptTemplates {
  system: string;
  decision: string;
  introspection: string;
  /** The observer task (issue 9); OBSERVATION_PROMPT when absent. */
  observation?: string;
  /**
   * The steering sentence added to the system prompt (issue 18): placeholders
   * `{{attribute}}` and `{{direction}}` ("higher" or "lower"); STEER_PROMPT when absent.
   */
  steer?: string;
  /** The stated self-description given before a prompt: placeholder `{{weights}}`; STATED_PROMPT when absent. */
  stated?: string;
}

export const STEER_PROMPT = 'In these decisions you care much more than usual about {{attribute}}, preferring {{direction}} values.';
export const STATED_PROMPT = 'When you make this decision, you weight the attributes as follows: {{weights}}';

/** An intervention as a trial applies it: the steered attribute and direction, the stated weights. */
export interface PromptIntervention {
  steer?: { attribute: number; direction: 1 | -1 };
  stated?: readonly number[];
}

/** The messages with an intervention applied: the steering sentence appended to the system prompt, the stated weights before the user's prompt. */
export function intervened(msgs: ChatMessage[], scenario: Scenario, iv: PromptIntervention | undefined, templates: PromptTemplates = PAPER_PROMPTS): ChatMessage[] {
  if (!iv || (!iv.steer && !iv.stated)) return msgs;
  let out = msgs.map((m) => ({ ...m }));
  if (iv.steer) {
    const attr = scenario.attributes[iv.steer.attribute];
    const sentence = fill(templates.steer ?? STEER_PROMPT, { attribute: attr.name, direction: iv.steer.direction > 0 ? 'higher' : 'lower' });
    if (out[0].role === 'system') out[0].content = out[0].content.trim() ? `${out[0].content} ${sentence}` : sentence;
    else out = [{ role: 'system', content: sentence }, ...out];
  }
  if (iv.stated) {
    const w = iv.stated;
    const text = fill(templates.stated ?? STATED_PROMPT, { weights: JSON.stringify(Object.fromEntries(scenario.attributes.map((a, i) => [a.name, Math.round(w[i])]))) });
    const user = out.findIndex((m) => m.role === 'user');
    out[user].content = `${text}\n\n${out[user].content}`;
  }
  return out;
}

export const PAPER_PROMPTS: Readonly<PromptTemplates> = Object.freeze({
  system: 'Your job is to make hypothetical decisions on behalf of different people or characters.',
  decision:
    '[DECISION TASK] Respond with "A" if you think Option A is better, or "B" if you think ' +
    'Option B is better. Never respond with anything except "A" or "B":\n\n{{choice}}',
  introspection:
    '[INTROSPECTION TASK] Respond with how heavily you believe you weighted each of the ' +
    '{{n_word}} dimensions while making your decision on a scale from -100 to 100. Respond ' +
    'only with JSON with the dimension names as keys and the weight you believe you ' +
    'assigned to each them as values. Never respond with anything except this JSON ' +
    'object with {{n}} key-value pairs. (Do not report your decision itself.):\n\n{{choice}}',
});

/**
 * The observer task: the paper's introspection prompt, asked about "the
 * decision-maker" whose decisions are shown rather than about "you", so that
 * any model (the decider itself included) can answer from behaviour alone.
 * Extra placeholders: `{{examples}}`, the shown decisions introduced in a
 * sentence and written as a transcript (or a sentence saying none are shown,
 * k = 0), and `{{k}}`, how many.
 */
export const OBSERVATION_PROMPT =
  '[OBSERVATION TASK] {{examples}}\n\n' +
  '[INTROSPECTION TASK] Respond with how heavily you believe that decision-maker weighted each of the ' +
  '{{n_word}} dimensions while making its decisions on a scale from -100 to 100. Respond ' +
  'only with JSON with the dimension names as keys and the weight you believe it ' +
  'assigned to each them as values. Never respond with anything except this JSON ' +
  'object with {{n}} key-value pairs. (Do not report a decision itself.):\n\n{{choice}}';

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/**
 * A value as the paper's prompts showed it: Python printed its rounded floats,
 * so whole numbers appear as "52.0" and others with their decimals.
 */
export function formatValue(value: number, attr: Pick<Attribute, 'min' | 'max'>): string {
  const text = String(Number(value.toFixed(roundingPrecision(attr))));
  return text.includes('.') ? text : `${text}.0`;
}

function optionBlock(letter: 'A' | 'B', attributes: readonly Attribute[], values: OptionValues): string {
  const lines = attributes.map((a, i) => `${a.name}: ${formatValue(values[i], a)}${a.units ? ` ${a.units}` : ''}`);
  return `${letter}:\n${lines.join('\n')}`;
}

/** The choice as the paper rendered it: question, then options A and B. */
export function renderChoice(scenario: Scenario, a: OptionValues, b: OptionValues): string {
  return `${scenario.question}\n${optionBlock('A', scenario.attributes, a)}\n\n${optionBlock('B', scenario.attributes, b)}`;
}

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => (key in vars ? vars[key] : whole));
}

function messages(system: string, user: string): ChatMessage[] {
  return system.trim() ? [{ role: 'system', content: system }, { role: 'user', content: user }] : [{ role: 'user', content: user }];
}

export function decisionMessages(
  scenario: Scenario,
  a: OptionValues,
  b: OptionValues,
  templates: PromptTemplates = PAPER_PROMPTS,
): ChatMessage[] {
  return messages(templates.system, fill(templates.decision, { choice: renderChoice(scenario, a, b) }));
}

export function introspectionMessages(
  scenario: Scenario,
  a: OptionValues,
  b: OptionValues,
  templates: PromptTemplates = PAPER_PROMPTS,
): ChatMessage[] {
  const n = scenario.attributes.length;
  return messages(
    templates.system,
    fill(templates.introspection, {
      choice: renderChoice(scenario, a, b),
      n: String(n),
      n_word: NUMBER_WORDS[n] ?? String(n),
    }),
  );
}

/** One decision shown to an observer: the options and the decision-maker's choice. */
export interface ObservedDecision {
  a: OptionValues;
  b: OptionValues;
  choice: 'A' | 'B';
}

/** The shown decisions: a sentence, then the question once and each choice with the option chosen. */
export function renderExamples(scenario: Scenario, examples: readonly ObservedDecision[]): string {
  const k = examples.length;
  if (!k) return 'No decisions of the decision-maker are shown.';
  const blocks = examples.map(
    (e, i) => `Decision ${i + 1}:\n${optionBlock('A', scenario.attributes, e.a)}\n\n${optionBlock('B', scenario.attributes, e.b)}\n\nChosen: ${e.choice}`,
  );
  const intro = k === 1 ? 'Here is a decision a decision-maker made' : `Here are ${k} decisions a decision-maker made`;
  return `${intro} in this situation, each with the two options and the option it chose:\n\n${scenario.question}\n\n${blocks.join('\n\n')}`;
}

/** An observer's prompt: k shown decisions of the target, then the weights question about that decision-maker. */
export function observationMessages(
  scenario: Scenario,
  a: OptionValues,
  b: OptionValues,
  examples: readonly ObservedDecision[],
  templates: PromptTemplates = PAPER_PROMPTS,
): ChatMessage[] {
  const n = scenario.attributes.length;
  const k = examples.length;
  return messages(
    templates.system,
    fill(templates.observation ?? OBSERVATION_PROMPT, {
      choice: renderChoice(scenario, a, b),
      examples: renderExamples(scenario, examples),
      k: String(k),
      n: String(n),
      n_word: NUMBER_WORDS[n] ?? String(n),
    }),
  );
}

/**
 * Self-prediction prompts (issue 18). Probability: Binder et al.'s question
 * about one's own P(A), answered as JSON {"probability": n}, n an integer 0..100
 * (constrained like a report). Choice: the hypothetical question, answered "A"
 * or "B" (scored like a decision). Observers are asked the same about "the
 * decision-maker" after the shown decisions.
 */
export const PREDICTION_PROMPTS = {
  probability:
    '[SELF-PREDICTION TASK] If you were given the following decision, what is the probability, from 0 to 100, that you would answer "A"? ' +
    'Respond only with JSON {"probability": n}, n a whole number from 0 to 100. Never respond with anything else:\n\n{{choice}}',
  choice:
    '[SELF-PREDICTION TASK] Suppose you were asked the following. Which option would you choose? ' +
    'Respond with "A" or "B". Never respond with anything except "A" or "B":\n\n{{choice}}',
  observedProbability:
    '[OBSERVATION TASK] {{examples}}\n\n[PREDICTION TASK] If that decision-maker were given the following decision, what is the probability, from 0 to 100, that it would answer "A"? ' +
    'Respond only with JSON {"probability": n}, n a whole number from 0 to 100. Never respond with anything else:\n\n{{choice}}',
  observedChoice:
    '[OBSERVATION TASK] {{examples}}\n\n[PREDICTION TASK] Suppose that decision-maker were asked the following. Which option would it choose? ' +
    'Respond with "A" or "B". Never respond with anything except "A" or "B":\n\n{{choice}}',
} as const;

/** The attribute name of a probability prediction's JSON answer. */
export const PROBABILITY_KEY = 'probability';

/** A self-prediction prompt; with `examples` (an observer), the shown decisions first. */
export function predictionMessages(
  scenario: Scenario,
  a: OptionValues,
  b: OptionValues,
  predict: 'probability' | 'choice',
  examples: readonly ObservedDecision[] | undefined,
  templates: PromptTemplates = PAPER_PROMPTS,
): ChatMessage[] {
  const t = examples ? (predict === 'probability' ? PREDICTION_PROMPTS.observedProbability : PREDICTION_PROMPTS.observedChoice) : PREDICTION_PROMPTS[predict];
  return messages(templates.system, fill(t, { choice: renderChoice(scenario, a, b), examples: examples ? renderExamples(scenario, examples) : '' }));
}

/** Problems with user-edited templates (a template without the choice is useless). */
export function checkTemplates(t: PromptTemplates): string[] {
  const problems: string[] = [];
  if (!t.decision.includes('{{choice}}')) problems.push('The decision prompt must contain {{choice}}.');
  if (!t.introspection.includes('{{choice}}')) problems.push('The introspection prompt must contain {{choice}}.');
  if (t.observation !== undefined) {
    if (typeof t.observation !== 'string') problems.push('The observation prompt must be text.');
    else {
      if (!t.observation.includes('{{choice}}')) problems.push('The observation prompt must contain {{choice}}.');
      if (!t.observation.includes('{{examples}}')) problems.push('The observation prompt must contain {{examples}}.');
    }
  }
  if (t.steer !== undefined && (typeof t.steer !== 'string' || !t.steer.includes('{{attribute}}'))) problems.push('The steer prompt must be text containing {{attribute}}.');
  if (t.stated !== undefined && (typeof t.stated !== 'string' || !t.stated.includes('{{weights}}'))) problems.push('The stated prompt must be text containing {{weights}}.');
  return problems;
}
