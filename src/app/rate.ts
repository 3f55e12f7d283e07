/**
 * Speed and time left from a growing counter (bytes downloaded, trials run):
 * the rate over a sliding window, so a stall shows quickly. Pure (time is given).
 */
export class RateMeter {
  private samples: Array<{ t: number; v: number }> = [];
  constructor(private readonly windowMs = 4000) {}

  reset(): void {
    this.samples = [];
  }

  /** Record the counter's value at time t (ms). */
  push(value: number, t: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && value < last.v) this.samples = [];
    this.samples.push({ t, v: value });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
  }

  /** Units per second over the window; 0 until two samples span some time. */
  get perSecond(): number {
    const n = this.samples.length;
    if (n < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[n - 1];
    const dt = (b.t - a.t) / 1000;
    return dt > 0 ? Math.max(0, (b.v - a.v) / dt) : 0;
  }

  /** Seconds until `total` at the current rate; null when unknown. */
  etaSec(total: number | undefined): number | null {
    const last = this.samples[this.samples.length - 1];
    const r = this.perSecond;
    if (!last || !total || !(r > 0)) return null;
    return Math.max(0, (total - last.v) / r);
  }
}
