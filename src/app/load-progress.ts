/**
 * A model load's progress as one number: transformers.js reports per file
 * (and sometimes a running total); this sums the files, prefers the library's
 * total when it covers more, and adds speed and time left. Pure (time is given).
 */
import type { LoadPhase, LoadProgress } from '../lib/engine/types';
import { RateMeter } from './rate';

export interface LoadSnapshot {
  phase: LoadPhase | null;
  file: string | null;
  text: string | null;
  loaded: number;
  total: number;
  bytesPerSec: number;
  etaSec: number | null;
}

const PHASE_TEXT: Record<LoadPhase, string> = {
  download: 'Downloading',
  cache: 'Reading from the browser cache',
  compile: 'Compiling for the GPU',
  init: 'Preparing',
  ready: 'Ready',
};

export class LoadAggregator {
  private files = new Map<string, { loaded: number; total: number }>();
  private aggregate: { loaded: number; total: number } | null = null;
  private meter = new RateMeter();
  private last: LoadSnapshot = { phase: null, file: null, text: null, loaded: 0, total: 0, bytesPerSec: 0, etaSec: null };

  push(p: LoadProgress, now: number): LoadSnapshot {
    if (p.file && p.loadedBytes !== undefined) this.files.set(p.file, { loaded: p.loadedBytes, total: Math.max(p.totalBytes ?? 0, p.loadedBytes) });
    else if (!p.file && p.totalBytes) this.aggregate = { loaded: p.loadedBytes ?? 0, total: p.totalBytes };
    let loaded = 0;
    let total = 0;
    for (const f of this.files.values()) {
      loaded += f.loaded;
      total += f.total;
    }
    if (this.aggregate && this.aggregate.total >= total) ({ loaded, total } = this.aggregate);
    this.meter.push(loaded, now);
    this.last = {
      phase: p.phase,
      file: p.file ?? this.last.file,
      text: p.text ?? PHASE_TEXT[p.phase] ?? this.last.text,
      loaded,
      total,
      bytesPerSec: this.meter.perSecond,
      etaSec: p.phase === 'ready' ? 0 : this.meter.etaSec(total),
    };
    return this.last;
  }

  get snapshot(): LoadSnapshot {
    return this.last;
  }
}
