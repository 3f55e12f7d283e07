/**
 * When to re-analyse a run that is still going. Each arriving trial asks for a
 * refresh; refreshes never overlap, come at most every `minGapMs`, and a slow
 * refresh waits `cost / share` before the next, so re-analysing takes at most
 * `share` of the page's time however large the run grows. A trial that arrives
 * during a refresh gets one more refresh afterwards (the last trials are never
 * left out). Pure scheduling: the clock and timers are injected.
 */
export interface ThrottleClock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LiveThrottleOptions {
  minGapMs?: number;
  /** Largest share of the time spent refreshing (0..1). */
  share?: number;
  clock?: ThrottleClock;
}

const realClock: ThrottleClock = {
  now: () => performance.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class LiveThrottle {
  /** Refreshes done, and the last one's cost in ms. */
  count = 0;
  lastCostMs = 0;
  private timer: unknown = null;
  private running = false;
  private dirty = false;
  private nextAt = 0;
  private readonly minGapMs: number;
  private readonly share: number;
  private readonly clock: ThrottleClock;

  constructor(
    private readonly refresh: () => Promise<void>,
    opts: LiveThrottleOptions = {},
  ) {
    this.minGapMs = opts.minGapMs ?? 1500;
    this.share = opts.share ?? 0.05;
    this.clock = opts.clock ?? realClock;
  }

  /** New data arrived: refresh as soon as the throttle allows. */
  request(): void {
    if (this.timer !== null || this.running) {
      this.dirty = true;
      return;
    }
    this.dirty = false;
    const wait = Math.max(0, this.nextAt - this.clock.now());
    this.timer = this.clock.setTimeout(() => void this.fire(), wait);
  }

  /** The data was just read by other means (the view opened): the next refresh waits the minimum gap. */
  postpone(): void {
    this.nextAt = Math.max(this.nextAt, this.clock.now() + this.minGapMs);
  }

  /** No more refreshes (the view closed). */
  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.dirty = false;
  }

  private async fire(): Promise<void> {
    this.timer = null;
    this.running = true;
    const t0 = this.clock.now();
    try {
      await this.refresh();
      this.count++;
    } finally {
      this.running = false;
      this.lastCostMs = this.clock.now() - t0;
      this.nextAt = this.clock.now() + Math.max(this.minGapMs, this.lastCostMs / this.share);
      if (this.dirty) this.request();
    }
  }
}
