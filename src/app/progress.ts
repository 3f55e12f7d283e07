/**
 * Per-condition speed and time left during a run. The runner reports counts
 * and an overall rate; each finished trial also says how long it took (ms), so
 * the lab shows trials/s per condition and estimates conditions not started
 * yet from trials of the same kind. Pure.
 */
import type { ConditionProgress, RunProgress } from '../lib/experiment/runner';

export interface ConditionRow {
  key: string;
  kind: ConditionProgress['kind'];
  done: number;
  total: number;
  /** Trials per second measured in this condition (0 when none ran yet this session). */
  perSec: number;
  etaSec: number | null;
}

export class ConditionRates {
  private ms = new Map<string, { sum: number; n: number }>();
  private kindMs = new Map<string, { sum: number; n: number }>();

  record(condition: string, kind: string, ms: number): void {
    for (const [map, key] of [[this.ms, condition], [this.kindMs, kind]] as const) {
      const s = map.get(key) ?? { sum: 0, n: 0 };
      s.sum += Math.max(ms, 0.01);
      s.n++;
      map.set(key, s);
    }
  }

  private mean(map: Map<string, { sum: number; n: number }>, key: string): number | null {
    const s = map.get(key);
    return s && s.n ? s.sum / s.n : null;
  }

  rows(progress: RunProgress | null): ConditionRow[] {
    if (!progress) return [];
    return Object.entries(progress.byCondition).map(([key, c]) => {
      const own = this.mean(this.ms, key);
      const kind = c.kind === 'decisions' ? 'decision' : 'report';
      const est = own ?? this.mean(this.kindMs, kind);
      const left = c.total - c.done;
      return {
        key,
        kind: c.kind,
        done: c.done,
        total: c.total,
        perSec: own ? 1000 / own : 0,
        etaSec: left === 0 ? 0 : est ? (left * est) / 1000 : null,
      };
    });
  }
}
