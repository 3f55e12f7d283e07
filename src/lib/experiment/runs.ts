/**
 * Run records: what a run produced, trial by trial. A result is stored the
 * moment its trial finishes, keyed by the plan's trial id, so an interrupted
 * run resumes by running exactly the trials without a result.
 */
import type { EngineCapabilities } from '../engine/types';
import type { InvalidReason } from '../reports';
import type { ExperimentSpec, ReportMode } from './spec';
import type { Trial, TrialPlan } from './plan';

export const RUN_FORMAT = 'introspection-lab/run';
export const RUN_VERSION = 1;

export interface DecisionResult {
  trialId: string;
  kind: 'decision';
  choice: 'A' | 'B';
  /** P(A) normalised over {A, B}: the soft choice. */
  pA: number;
  /** Probability mass the model put on "A" or "B" at all. */
  labelMass: number;
  logprobs: [number, number];
  basis: 'full' | 'top-k';
  ms: number;
}

export interface ReportTrialResult {
  trialId: string;
  kind: 'report';
  mode: ReportMode;
  text: string;
  weights: number[] | null;
  invalid?: { reason: InvalidReason; detail: string };
  ms: number;
}

/** A self-prediction (issue 18): a probability (0..100, as answered) or a predicted choice (with its P(A)). */
export interface PredictionResult {
  trialId: string;
  kind: 'prediction';
  predict: 'probability' | 'choice';
  /** probability: the answer, 0..100; null when the answer was not a whole number 0..100. */
  probability?: number | null;
  /** choice: the predicted choice and the P(A) of that answer. */
  choice?: 'A' | 'B';
  pA?: number;
  text?: string;
  invalid?: { reason: InvalidReason | 'out_of_range'; detail: string };
  ms: number;
}

export type TrialResult = DecisionResult | ReportTrialResult | PredictionResult;

export type RunStatus = 'running' | 'paused' | 'cancelled' | 'done' | 'failed';

export interface RunMeta {
  format: typeof RUN_FORMAT;
  version: typeof RUN_VERSION;
  id: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  /** Why it failed, in words a user can read. */
  error?: string;
  spec: ExperimentSpec;
  plan: TrialPlan;
  /** What each model key actually ran as (device, dtype, engine), once loaded. */
  engines: Record<string, EngineCapabilities>;
}

export interface RunRecord extends RunMeta {
  results: TrialResult[];
}

/** Storing a result failed (storage full, database closed): not the engine's fault, and nothing stored is lost. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(override readonly cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`Could not store the trial result (${detail}). Finished trials are kept: free some space, then resume.`);
  }
}

/** Where results go. The CLI writes a folder; the browser writes IndexedDB. */
export interface RunStore {
  saveMeta(meta: RunMeta): Promise<void>;
  /** Must be durable before it resolves: the runner starts the next trial only after. */
  saveResult(runId: string, result: TrialResult): Promise<void>;
  loadResults(runId: string): Promise<TrialResult[]>;
}

export function newRunId(now: Date, seed: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  let h = 0;
  for (const ch of seed + now.getTime()) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return `run-${stamp}-${(h >>> 0).toString(36)}`;
}

/** Results keyed by trial id; later duplicates (should never happen) are reported, not merged. */
export function indexResults(plan: TrialPlan, results: readonly TrialResult[]): Map<string, TrialResult> {
  const planned = new Set(plan.trials.map((t) => t.id));
  const byId = new Map<string, TrialResult>();
  for (const r of results) {
    if (!planned.has(r.trialId)) throw new Error(`Stored result "${r.trialId}" is not a trial of this plan.`);
    if (!byId.has(r.trialId)) byId.set(r.trialId, r);
  }
  return byId;
}

/** A run's results paired with their trials, in plan order (storage order can differ after a resume). */
export function resultsInPlanOrder(record: Pick<RunRecord, 'plan' | 'results'>): Array<{ trial: Trial; result: TrialResult }> {
  const byId = new Map(record.results.map((r) => [r.trialId, r]));
  const out: Array<{ trial: Trial; result: TrialResult }> = [];
  for (const trial of record.plan.trials) {
    const result = byId.get(trial.id);
    if (result) out.push({ trial, result });
  }
  return out;
}
