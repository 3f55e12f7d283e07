/**
 * Per-condition speed and time left during a run, from the recent pace of trials
 * (issue 20, item 3): the time between one trial's end and the next's, over the
 * last few trials, per model and kind (decisions and reports differ by 3–5×).
 * A model's load is never counted: after a load (or pause) the next trial counts
 * only its own engine time. Conditions not started are estimated from trials of
 * the same kind (the same model first, then any), and reports not timed yet from
 * the decisions with a stated prior ratio. Predictions (issue 18) are their own
 * kind, with their own pace; until one is timed they are taken to cost a report
 * (a probability prediction is a short generated answer, a prompt as long as a
 * report's). The first trials of each kind on each model pay one-off costs (kernels compiled,
 * buffers allocated, the shared prompt prefix cached: the real model's first two decisions took
 * 4× and 2× a later one in Chromium, bench:eta); they are kept out of the pace, used only where
 * nothing else of their kind was timed, and until a later trial is timed the time left is not
 * given rather than a figure 2–4 times too high. Pure: time is given.
 */
import type { ConditionProgress, RunProgress } from '../lib/experiment/runner';
import { conditionModel, type ExperimentSpec } from '../lib/experiment/spec';

/** A trial's kind, as the runner names it (TrialResult.kind). */
type Kind = 'decision' | 'report' | 'prediction';

/**
 * Until a report has been timed, a report is taken to cost this many decisions: measured
 * on SmolLM2-135M (Node 3.8–4.8×, Chromium WASM 2.7–4.7×; issue 20). Shown as a guess.
 */
export const REPORT_PER_DECISION_PRIOR = 4;
/** Trials of each kind on each model kept out of the pace as warm-up (see above). */
export const WARMUP_TRIALS = 2;
/** How many recent trials the pace is averaged over. */
export const PACE_WINDOW = 12;

export interface ConditionRow {
  key: string;
  kind: ConditionProgress['kind'];
  /** The model that runs the condition ('' when unknown). */
  model: string;
  done: number;
  total: number;
  /** Trials per second measured in this condition (0 when none ran yet this session). */
  perSec: number;
  etaSec: number | null;
  /** The estimate leans on the report ÷ decision prior (no report timed yet). */
  guessed: boolean;
}

export interface OverallPace {
  /** Trials per second over the recent trials (0 until one ran). */
  perSec: number;
  /** Seconds left: the sum over conditions; null while any is unknown. */
  etaSec: number | null;
  guessed: boolean;
}

/** A condition key → the model that runs it ('' for a key the spec does not have): the pace's per-model buckets. */
export function conditionModels(spec: Pick<ExperimentSpec, 'conditions'> | null | undefined): (condition: string) => string {
  return (condition) => {
    const c = spec?.conditions.find((x) => x.key === condition);
    return c ? conditionModel(c) : '';
  };
}

const kindOf = (k: ConditionProgress['kind']): Kind => (k === 'decisions' ? 'decision' : k === 'predictions' ? 'prediction' : 'report');

export class ConditionRates {
  private recent = new Map<string, number[]>();
  /** The warm-up trials of each model and kind, per bucket: a stand-in only. */
  private warm = new Map<string, number[]>();
  private seen = new Map<string, number>();
  private lastAt: number | null = null;

  constructor(private readonly window = PACE_WINDOW) {}

  /** A load or a pause begins: the next trial counts only its own engine time, not the gap since the last. */
  gap(): void {
    this.lastAt = null;
  }

  /**
   * One trial finished: `ms` is its engine time; `now` (ms, any clock) its end. With `now`, its time is
   * the gap since the previous trial's end (what the run really spends per trial: saving, rendering,
   * several in flight), except right after a gap.
   */
  record(condition: string, kind: string, ms: number, model = '', now?: number): void {
    const wall = now !== undefined && this.lastAt !== null ? now - this.lastAt : ms;
    this.lastAt = now ?? null;
    const sec = Math.max(wall, 0.01) / 1000;
    const n = this.seen.get(`${model}|${kind}`) ?? 0;
    this.seen.set(`${model}|${kind}`, n + 1);
    const into = n < WARMUP_TRIALS ? this.warm : this.recent;
    for (const key of [`c:${condition}`, `m:${model}|${kind}`, `k:${kind}`, 'all']) {
      const xs = into.get(key) ?? [];
      xs.push(sec);
      if (xs.length > this.window) xs.shift();
      into.set(key, xs);
    }
  }

  private mean(key: string, from = this.recent): number | null {
    const xs = from.get(key);
    return xs && xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  }

  /**
   * Seconds per trial of `kind` on `model`: measured (this model, then any trial of the kind). Else a guess: reports
   * and predictions stand in for each other (long prompts, short answers), decisions from them with the prior, and
   * they from the decisions with it.
   */
  secPerTrial(model: string, kind: Kind): { sec: number; guessed: boolean } | null {
    const measured = (k: Kind) => this.mean(`m:${model}|${k}`) ?? this.mean(`k:${k}`) ?? this.mean(`m:${model}|${k}`, this.warm) ?? this.mean(`k:${k}`, this.warm);
    const own = measured(kind);
    if (own !== null) return { sec: own, guessed: false };
    if (kind === 'decision') {
      const answer = measured('report') ?? measured('prediction');
      return answer === null ? null : { sec: answer / REPORT_PER_DECISION_PRIOR, guessed: true };
    }
    const answer = measured(kind === 'report' ? 'prediction' : 'report');
    if (answer !== null) return { sec: answer, guessed: true };
    const decision = measured('decision');
    return decision === null ? null : { sec: decision * REPORT_PER_DECISION_PRIOR, guessed: true };
  }

  rows(progress: RunProgress | null, modelOf: (condition: string) => string = () => ''): ConditionRow[] {
    if (!progress) return [];
    const warmOnly = this.mean('all') === null; // only warm-up trials timed: no figure yet
    return Object.entries(progress.byCondition).map(([key, c]) => {
      const model = modelOf(key);
      const own = this.mean(`c:${key}`);
      const est = own !== null ? { sec: own, guessed: false } : this.secPerTrial(model, kindOf(c.kind));
      const left = c.total - c.done;
      return {
        key,
        kind: c.kind,
        model,
        done: c.done,
        total: c.total,
        perSec: own ? 1 / own : 0,
        etaSec: left === 0 ? 0 : est && !warmOnly ? left * est.sec : null,
        guessed: left > 0 && Boolean(est?.guessed),
      };
    });
  }

  /** The header's speed and time left: recent pace, load excluded; time left summed over the conditions. Unknown while only warm-up trials were timed. */
  overall(rows: ConditionRow[]): OverallPace {
    const all = this.mean('all');
    const left = rows.filter((r) => r.done < r.total);
    const unknown = left.some((r) => r.etaSec === null);
    return {
      perSec: all ? 1 / all : 0,
      etaSec: !all || unknown ? null : rows.reduce((s, r) => s + (r.etaSec ?? 0), 0),
      guessed: left.some((r) => r.guessed),
    };
  }
}

/** One progress line of the Run view: a model's decisions, or its reports (its self-reports and what it says of others). */
export interface ProgressGroup {
  model: string;
  kind: ConditionProgress['kind'];
  done: number;
  total: number;
  perSec: number;
  etaSec: number | null;
  guessed: boolean;
  conditions: ConditionRow[];
}

/** Condition rows grouped per model and kind, in the order they first appear. */
export function progressGroups(rows: ConditionRow[]): ProgressGroup[] {
  const groups = new Map<string, ProgressGroup>();
  for (const r of rows) {
    const id = `${r.model}|${r.kind}`;
    const g = groups.get(id) ?? { model: r.model, kind: r.kind, done: 0, total: 0, perSec: 0, etaSec: 0, guessed: false, conditions: [] };
    g.done += r.done;
    g.total += r.total;
    g.conditions.push(r);
    g.guessed ||= r.guessed;
    g.etaSec = g.etaSec === null || r.etaSec === null ? (r.done === r.total ? g.etaSec : null) : g.etaSec + r.etaSec;
    groups.set(id, g);
  }
  for (const g of groups.values()) {
    // The group's speed: trials per second over its conditions that have a measured pace, weighted by their share.
    const timed = g.conditions.filter((c) => c.perSec > 0);
    g.perSec = timed.length ? timed.length / timed.reduce((s, c) => s + 1 / c.perSec, 0) : 0;
  }
  return [...groups.values()];
}
