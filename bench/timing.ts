/**
 * Times the benchmark trials (bench/trials.ts) on a loaded engine, in the runner's way:
 * the next prompt hinted while this one runs. Runs in Node and in a page alike.
 * One untimed decision first, so one-time costs (the first session run) stay out of trials/s.
 */
import type { ChatMessage } from '../src/lib/prompts';
import type { ChoiceScore, ReportResult } from '../src/lib/engine/types';
import type { ReportMode } from '../src/lib/experiment/spec';
import type { BenchTrial } from './trials';

export interface TimedTrial {
  id: string;
  kind: 'decision' | 'report';
  ms: number;
  pA?: number;
  text?: string;
  valid?: boolean;
}

export interface BuildTiming {
  dtype: string;
  loadMs: number;
  trials: TimedTrial[];
  /** What the runtime says about itself (threads, isolation, engine stats), where it tells: after the warm-up and at the end. */
  runtimeBefore?: unknown;
  runtime?: unknown;
}

interface TrialEngine {
  scoreChoice(m: ChatMessage[], labels: string[]): Promise<ChoiceScore>;
  report(m: ChatMessage[], names: string[], mode: ReportMode): Promise<ReportResult>;
  prepare?(m: ChatMessage[]): Promise<void>;
}

export async function runBenchTrials(
  engine: TrialEngine,
  trials: BenchTrial[],
  o: { dtype: string; loadMs: number; runtime?: () => Promise<unknown> },
): Promise<BuildTiming> {
  const warm = trials.find((t) => t.kind === 'decision');
  if (warm) await engine.scoreChoice(warm.messages, ['A', 'B']);
  const runtimeBefore = await o.runtime?.();
  const out: TimedTrial[] = [];
  for (let i = 0; i < trials.length; i++) {
    const t = trials[i];
    if (i + 1 < trials.length) await engine.prepare?.(trials[i + 1].messages);
    const t0 = performance.now();
    if (t.kind === 'decision') {
      const s = await engine.scoreChoice(t.messages, ['A', 'B']);
      out.push({ id: t.id, kind: t.kind, ms: performance.now() - t0, pA: s.probs[0] });
    } else {
      const r = await engine.report(t.messages, t.attributes!, t.mode!);
      out.push({ id: t.id, kind: t.kind, ms: performance.now() - t0, text: r.text, valid: r.parse.ok });
    }
  }
  return { dtype: o.dtype, loadMs: o.loadMs, trials: out, runtimeBefore, runtime: await o.runtime?.() };
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);

/** Trials per second over the trial times (load excluded), and the median time of each kind. */
export function summarize(t: BuildTiming) {
  const total = t.trials.reduce((s, x) => s + x.ms, 0) / 1000;
  const of = (k: 'decision' | 'report') => t.trials.filter((x) => x.kind === k).map((x) => x.ms);
  return { trialsPerS: t.trials.length / total, decisionMs: median(of('decision')), reportMs: median(of('report')), loadS: t.loadMs / 1000 };
}
