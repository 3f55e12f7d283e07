/**
 * Training sets for the paper's three experiments (Plunkett et al. 2025):
 * chat JSONL that teaches a model target preferences (Exp 1) or correct
 * self-reports (Exp 2 and 3, appendix D), with the experiment specs that
 * evaluate an adapter trained on it. A set is a folder of files:
 *
 *   train.jsonl            the training examples, {"messages": [system, user, assistant]}
 *   heldout.jsonl          examples of the same kind the trainer never trains on (agreement check)
 *   training-set.json      this manifest: which contexts are trained, held out, native
 *   eval-spec.json         Exp 1 (instilling set), Exp 2 (held-out fold) or Exp 3 (fold "all")
 *   eval-spec-native.json  Exp 3: contexts never in any training set (absent when eval-spec.json is Exp 3)
 *   scenarios.csv, target_weights.csv, answer_weights.csv   the paper's columns
 */
import type { ChatMessage } from '../prompts';
import { targetUtility } from '../analysis/stats';
import type { OptionValues, Scenario, Weights } from '../scenarios/types';

export const TRAINING_SET_FORMAT = 'introspection-lab/training-set';
export const TRAINING_SET_VERSION = 1;

export type TrainingSetKind = 'instill' | 'introspect';
/** Which half of the instilled contexts introspection training uses; Exp 2 tests on the other. */
export type Fold = 'first' | 'last' | 'all';

export const FILES = {
  train: 'train.jsonl',
  heldout: 'heldout.jsonl',
  manifest: 'training-set.json',
  evalSpec: 'eval-spec.json',
  nativeSpec: 'eval-spec-native.json',
  scenarios: 'scenarios.csv',
  targets: 'target_weights.csv',
  answers: 'answer_weights.csv',
} as const;

export interface TrainingSetManifest {
  format: typeof TRAINING_SET_FORMAT;
  version: typeof TRAINING_SET_VERSION;
  kind: TrainingSetKind;
  /** Which experiment eval-spec.json runs. */
  experiment: 1 | 2 | 3;
  seed: string;
  /** Where the answers' weights come from: instilled targets, or a finished run's learned weights. */
  answers: 'target' | 'learned';
  fold?: Fold;
  /** Run id the learned weights come from (answers: learned). */
  fromRun?: string;
  /** Contexts that appear in train.jsonl, in order. */
  trained: string[];
  /** Instilled contexts kept out of training (Exp 2's test fold). */
  heldOut: string[];
  /** Contexts never in any training set (Exp 3). */
  native: string[];
  examplesPerScenario: number;
  heldoutPerScenario: number;
  /** Counts of lines, for a reader's sanity check. */
  lines: { train: number; heldout: number };
}

/** One JSONL line: the format TRL and OpenAI fine-tuning read. */
export interface TrainingExample {
  messages: ChatMessage[];
}

export interface OutputFile {
  name: string;
  text: string;
}

export class TrainingSetError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid training set:\n- ${problems.slice(0, 20).join('\n- ')}${problems.length > 20 ? `\n- … and ${problems.length - 20} more` : ''}`);
    this.name = 'TrainingSetError';
  }
}

/**
 * The paper's rule: the option with the larger Σ wᵢ·(vᵢ − minᵢ)/(maxᵢ − minᵢ);
 * null on a tie (|ΔU| ≤ 1e-9·Σ|w|), which has no right answer and is never used.
 */
export function ruleAnswer(scenario: Scenario, weights: Weights, a: OptionValues, b: OptionValues): 'A' | 'B' | null {
  const du = targetUtility(scenario.attributes, weights, a) - targetUtility(scenario.attributes, weights, b);
  const scale = weights.reduce((t, w) => t + Math.abs(w), 0);
  if (Math.abs(du) <= 1e-9 * scale) return null;
  return du > 0 ? 'A' : 'B';
}

/**
 * The JSON a correct self-report gives: attribute names as keys in order,
 * integer weights, spaced as the lab's constrained decoding writes it
 * (`{"a": 12, "b": -3}`), so training and evaluation see the same text.
 */
export function reportAnswer(scenario: Scenario, weights: Weights): string {
  return `{${scenario.attributes.map((attr, i) => `${JSON.stringify(attr.name)}: ${Math.round(weights[i]) || 0}`).join(', ')}}`;
}

/** A choice's identity for leak checks: the context and the unordered pair of options. */
export function choiceKey(scenarioId: string, a: OptionValues, b: OptionValues): string {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)].sort();
  return `${scenarioId}|${x}|${y}`;
}

export function toJsonl(examples: readonly TrainingExample[]): string {
  return examples.map((e) => JSON.stringify(e)).join('\n') + (examples.length ? '\n' : '');
}

/** Split of the instilled contexts: the trained ones and Exp 2's held-out fold. */
export function foldSplit(ids: readonly string[], fold: Fold): { trained: string[]; heldOut: string[] } {
  const half = Math.ceil(ids.length / 2);
  if (fold === 'all') return { trained: ids.slice(), heldOut: [] };
  if (fold === 'first') return { trained: ids.slice(0, half), heldOut: ids.slice(half) };
  return { trained: ids.slice(half), heldOut: ids.slice(0, half) };
}
