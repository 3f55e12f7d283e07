/**
 * Runs a plan's trials on engines and stores each result before starting the
 * next. The same code drives the browser UI, the CLI and the tests: only the
 * EngineProvider (worker, in-process) and the RunStore (IndexedDB, folder)
 * differ.
 */
import type { Engine, EngineCapabilities, LoadProgress, TrialContext } from '../engine/types';
import { EngineError } from '../engine/types';
import type { PlannedScenario, PredictionTrial, Trial } from './plan';
import { decisionMessages, intervened, predictionMessages, PROBABILITY_KEY, introspectionMessages, observationMessages, PAPER_PROMPTS, type ChatMessage, type ObservedDecision } from '../prompts';
import { isSimulatedId } from './simulated';
import { needsExamples, shownDecisions } from './observers';
import { inContextTrialMessages } from './in-context';
import type { RunMeta, RunStore, TrialResult } from './runs';
import { indexResults, StorageError } from './runs';
import type { ModelRef } from './spec';
import { conditionModel } from './spec';

export interface EngineProvider {
  /** A loaded engine for this model; may unload another first to free memory. */
  acquire(model: ModelRef, onProgress?: (p: LoadProgress) => void): Promise<{ engine: Engine; caps: EngineCapabilities }>;
  releaseAll(): Promise<void>;
}

export interface ConditionProgress {
  kind: 'decisions' | 'reports' | 'predictions';
  done: number;
  total: number;
}

export interface RunProgress {
  runId: string;
  state: 'loading' | 'running' | 'finished';
  /** Model key being loaded or run. */
  model?: string;
  load?: LoadProgress;
  done: number;
  total: number;
  byCondition: Record<string, ConditionProgress>;
  /** Trials per second over the trials run in this session. */
  trialsPerSec: number;
  etaSec: number | null;
}

export interface TrialEvent {
  trial: Trial;
  messages: ChatMessage[];
  result: TrialResult;
}

export interface RunOptions {
  meta: RunMeta;
  store: RunStore;
  provider: EngineProvider;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  onTrial?: (e: TrialEvent) => void;
  clock?: () => number;
  /**
   * Trials in flight at once, for engines that take overlapping calls
   * (capabilities().maxConcurrency; a server batches them). Others run one at a time.
   */
  concurrency?: number;
}

/** A trial's prompt; an observer's shows `examples` (the decisions it is shown). */
export function trialMessages(trial: Trial, planned: PlannedScenario, meta: Pick<RunMeta, 'spec' | 'plan'>, examples?: ObservedDecision[]): ChatMessage[] {
  const prompts = meta.spec.prompts ?? PAPER_PROMPTS;
  return intervened(plainMessages(trial, planned, meta, prompts, examples), planned.scenario, trial.intervention, prompts);
}

function plainMessages(trial: Trial, planned: PlannedScenario, meta: Pick<RunMeta, 'spec' | 'plan'>, prompts: typeof PAPER_PROMPTS, examples?: ObservedDecision[]): ChatMessage[] {
  if (trial.kind === 'report' && trial.shown)
    return inContextTrialMessages({ ...trial, shown: trial.shown }, meta.plan.scenarios, meta.spec.conditions.find((c) => c.key === trial.condition), prompts);
  if (trial.kind === 'prediction') return predictionMessages(planned.scenario, trial.a, trial.b, trial.predict, trial.observe ? (examples ?? []) : undefined, prompts);
  if (trial.kind === 'report' && trial.observe) return observationMessages(planned.scenario, trial.a, trial.b, examples ?? [], prompts);
  const make = trial.kind === 'decision' ? decisionMessages : introspectionMessages;
  return make(planned.scenario, trial.a, trial.b, prompts);
}

async function runTrial(engine: Engine, trial: Trial, messages: ChatMessage[], planned: PlannedScenario, clock: () => number, context: TrialContext): Promise<TrialResult> {
  const t0 = clock();
  if (trial.kind === 'decision') {
    const s = await engine.scoreChoice(messages, ['A', 'B'], context);
    return {
      trialId: trial.id,
      kind: 'decision',
      choice: s.choice === 'B' ? 'B' : 'A',
      pA: s.probs[0],
      labelMass: s.labelMass,
      logprobs: [s.logprobs[0], s.logprobs[1]],
      basis: s.basis,
      ms: clock() - t0,
    };
  }
  if (trial.kind === 'prediction') return runPrediction(engine, trial, messages, clock, context, t0);
  const r = await engine.report(messages, planned.scenario.attributes.map((a) => a.name), trial.mode, context);
  return {
    trialId: trial.id,
    kind: 'report',
    mode: trial.mode,
    text: r.text,
    weights: r.weights,
    ...(r.parse.ok ? {} : { invalid: { reason: r.parse.reason, detail: r.parse.detail } }),
    ms: clock() - t0,
  };
}

/** A self-prediction: a probability as a one-key constrained report (0..100), a choice scored like a decision. */
async function runPrediction(engine: Engine, trial: PredictionTrial, messages: ChatMessage[], clock: () => number, context: TrialContext, t0: number): Promise<TrialResult> {
  const ctx = { ...context, predict: trial.predict };
  if (trial.predict === 'choice') {
    const s = await engine.scoreChoice(messages, ['A', 'B'], ctx);
    return { trialId: trial.id, kind: 'prediction', predict: 'choice', choice: s.choice === 'B' ? 'B' : 'A', pA: s.probs[0], ms: clock() - t0 };
  }
  const r = await engine.report(messages, [PROBABILITY_KEY], trial.mode, ctx);
  const base = { trialId: trial.id, kind: 'prediction' as const, predict: 'probability' as const, text: r.text, ms: clock() - t0 };
  if (!r.parse.ok || !r.weights) return { ...base, probability: null, invalid: { reason: r.parse.ok ? 'no_json' : r.parse.reason, detail: r.parse.ok ? '' : r.parse.detail } };
  const v = r.weights[0];
  if (!(Number.isInteger(v) && v >= 0 && v <= 100)) return { ...base, probability: null, invalid: { reason: 'out_of_range', detail: `${v} is not a whole number from 0 to 100` } };
  return { ...base, probability: v };
}

/**
 * Run every trial of `meta.plan` that has no stored result yet. Resolves with
 * the final meta (status done, paused/cancelled on abort, failed on error);
 * results already stored are never repeated or lost.
 */
export async function runExperiment(opts: RunOptions): Promise<RunMeta> {
  const { store, provider, signal } = opts;
  const clock = opts.clock ?? (() => Date.now());
  let meta: RunMeta = { ...opts.meta, status: 'running', error: undefined };
  const plan = meta.plan;
  const scenarios = new Map(plan.scenarios.map((p) => [p.scenario.id, p]));
  const done = indexResults(plan, await store.loadResults(meta.id));

  const byCondition: Record<string, ConditionProgress> = {};
  for (const c of meta.spec.conditions) byCondition[c.key] = { kind: c.kind, done: 0, total: 0 };
  for (const t of plan.trials) {
    byCondition[t.condition].total++;
    if (done.has(t.id)) byCondition[t.condition].done++;
  }
  const total = plan.trials.length;
  let doneCount = done.size;
  let ranHere = 0;
  const started = clock();
  const progress = (state: RunProgress['state'], model?: string, load?: LoadProgress) => {
    const secs = (clock() - started) / 1000;
    const rate = ranHere > 0 && secs > 0 ? ranHere / secs : 0;
    opts.onProgress?.({
      runId: meta.id, state, model, load, done: doneCount, total,
      byCondition: Object.fromEntries(Object.entries(byCondition).map(([k, v]) => [k, { ...v }])),
      trialsPerSec: rate,
      etaSec: rate > 0 ? (total - doneCount) / rate : null,
    });
  };
  const save = async (patch: Partial<RunMeta>) => {
    meta = { ...meta, ...patch, updatedAt: new Date().toISOString() };
    await store.saveMeta(meta);
    return meta;
  };
  await save({});
  progress('running');

  // Saves go one at a time, in completion order, even with several trials in flight.
  let saving: Promise<void> = Promise.resolve();
  const stored = (result: TrialResult) =>
    (saving = saving.then(() =>
      store.saveResult(meta.id, result).catch((e: unknown) => {
        throw new StorageError(e);
      }),
    ));
  /** A trial counts only once its result is stored. */
  const record = async (trial: Trial, messages: ChatMessage[], result: TrialResult, key: string) => {
    await stored(result);
    done.set(trial.id, result);
    doneCount++;
    ranHere++;
    byCondition[trial.condition].done++;
    opts.onTrial?.({ trial, messages, result });
    progress('running', key);
  };

  // Group by model so each is loaded once; within a model keep the spec's order.
  // Observers that are shown decisions run in a second pass, once every model's decisions exist.
  const modelOrder = meta.spec.models.map((m) => m.key);
  const condModel = new Map(meta.spec.conditions.map((c) => [c.key, conditionModel(c)]));
  const pending = plan.trials.filter((t) => !done.has(t.id));
  const passes = [pending.filter((t) => !needsExamples(t)), pending.filter(needsExamples)];
  const trialsById = new Map(plan.trials.map((t) => [t.id, t]));
  const examplesOf = (t: Trial) => shownDecisions(t, trialsById, (id) => done.get(id));
  const contextOf = (trial: Trial): TrialContext => {
    const planned = scenarios.get(trial.scenarioId)!;
    const context: TrialContext = { trialId: trial.id, scenario: planned.scenario, target: planned.target, a: trial.a, b: trial.b };
    if (trial.intervention) context.intervention = trial.intervention;
    const examples = examplesOf(trial);
    if (examples) context.examples = examples;
    return context;
  };
  try {
    for (const [pass, key] of passes.flatMap((p) => modelOrder.map((k) => [p, k] as const))) {
      const ofModel = pass.filter((t) => condModel.get(t.condition) === key);
      const baseRef = meta.spec.models.find((m) => m.key === key)!;
      // An adapterScale intervention loads the model's adapter at that scale: one load per scale, the model's own first.
      // A simulated model takes it from the trial context (it has no adapter to load).
      const scaleOf = (t: Trial) => (isSimulatedId(baseRef.id) ? undefined : t.intervention?.adapterScale);
      const scales = [...new Set(ofModel.map(scaleOf))];
      for (const scale of scales) {
        const trials = ofModel.filter((t) => scaleOf(t) === scale);
        if (!trials.length) continue;
        if (signal?.aborted) break;
        progress('loading', key);
        const ref: ModelRef = scale === undefined ? baseRef : { ...baseRef, adapter: { ...baseRef.adapter!, scale } };
        const { engine, caps } = await provider.acquire(ref, (p) => progress('loading', key, p));
        await save({ engines: { ...meta.engines, [key]: caps } });
        const onAbort = () => void engine.cancel();
        signal?.addEventListener('abort', onAbort);
        const inFlight = Math.max(1, Math.min(opts.concurrency ?? 1, caps.maxConcurrency ?? 1));
        try {
          const messagesOf = (t: Trial) => trialMessages(t, scenarios.get(t.scenarioId)!, meta, examplesOf(t));
          if (inFlight > 1) {
            await runInFlight(inFlight, trials, async (trial) => {
              const messages = messagesOf(trial);
              const result = await runTrial(engine, trial, messages, scenarios.get(trial.scenarioId)!, clock, contextOf(trial));
              await record(trial, messages, result, key);
            }, signal);
            continue;
          }
          let messages = messagesOf(trials[0]);
          for (let i = 0; i < trials.length; i++) {
            const trial = trials[i];
            if (signal?.aborted) break;
            const planned = scenarios.get(trial.scenarioId)!;
            // The next prompt is rendered once: handed to the engine now as a hint, run on the next turn.
            const nextMessages = i + 1 < trials.length ? messagesOf(trials[i + 1]) : null;
            if (nextMessages && engine.prepare) await engine.prepare(nextMessages);
            const result = await runTrial(engine, trial, messages, planned, clock, contextOf(trial));
            await record(trial, messages, result, key);
            if (nextMessages) messages = nextMessages;
          }
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      }
    }
  } catch (e) {
    if (e instanceof StorageError) {
      // The store may be unable to take the status either; the run then still reads as unfinished and resumable.
      await save({ status: 'failed', error: e.message }).catch(() => undefined);
      progress('finished');
      return { ...meta, status: 'failed', error: e.message };
    }
    const err = EngineError.from(e);
    if (err.code === 'cancelled' && signal?.aborted) return finishAborted();
    await save({ status: 'failed', error: err.message });
    progress('finished');
    return meta;
  }
  if (signal?.aborted) return finishAborted();
  await save({ status: doneCount === total ? 'done' : 'failed', ...(doneCount === total ? {} : { error: 'Some trials did not run.' }) });
  progress('finished');
  return meta;

  async function finishAborted(): Promise<RunMeta> {
    await save({ status: signal?.reason === 'cancel' ? 'cancelled' : 'paused' });
    progress('finished');
    return meta;
  }
}

/**
 * Run `trials` with up to `n` in flight, each taken exactly once in plan
 * order. After the first failure (or an abort) no new trial starts; the ones
 * in flight finish — their results are stored — and then the first error is
 * thrown, so nothing that completed is lost.
 */
async function runInFlight(n: number, trials: Trial[], run: (t: Trial) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (!failure && !signal?.aborted && next < trials.length) {
      const trial = trials[next++];
      try {
        await run(trial);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, trials.length) }, lane));
  if (failure) throw (failure as { error: unknown }).error;
}
