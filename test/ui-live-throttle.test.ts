/**
 * Live re-analysis while a run is going: never overlapping, at most every minGap,
 * at most `share` of the time however slow the analysis gets, and the last
 * trials never left out.
 */
import { describe, expect, it } from 'vitest';
import { LiveThrottle, type ThrottleClock } from '../src/app/live-throttle';

/** A fake clock: timers fire when the test advances time. */
function fakeClock() {
  let t = 0;
  let timers: Array<{ at: number; f: () => void; id: number }> = [];
  let next = 0;
  const clock: ThrottleClock = {
    now: () => t,
    setTimeout: (f, ms) => {
      const id = next++;
      timers.push({ at: t + ms, f, id });
      return id;
    },
    clearTimeout: (h) => {
      timers = timers.filter((x) => x.id !== h);
    },
  };
  async function advance(ms: number) {
    const end = t + ms;
    for (;;) {
      const due = timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers = timers.filter((x) => x !== due);
      t = Math.max(t, due.at);
      due.f();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    t = end;
  }
  return { clock, advance, pending: () => timers.length, setNow: (v: number) => (t = v) };
}

describe('live re-analysis throttle', () => {
  it('many trials in a burst give one refresh, then at most one per minimum gap', async () => {
    const c = fakeClock();
    const at: number[] = [];
    const th = new LiveThrottle(async () => void at.push(c.clock.now()), { minGapMs: 1000, share: 0.05, clock: c.clock });
    for (let i = 0; i < 50; i++) th.request();
    await c.advance(0);
    expect(at).toEqual([0]);
    // A trial every 100 ms for 3 s: one refresh a second (the trial at 3000 ms comes just after that refresh: one more at 4000).
    for (let ms = 100; ms <= 3000; ms += 100) {
      await c.advance(100);
      th.request();
    }
    await c.advance(1000);
    expect(at).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(th.count).toBe(5);
  });

  it('after the view opens (postpone) the first refresh waits the minimum gap', async () => {
    const c = fakeClock();
    const at: number[] = [];
    const th = new LiveThrottle(async () => void at.push(c.clock.now()), { minGapMs: 1000, clock: c.clock });
    await c.advance(300);
    th.postpone();
    th.request();
    await c.advance(999);
    expect(at).toEqual([]);
    await c.advance(1);
    expect(at).toEqual([1300]);
  });

  it('a slow analysis waits cost / share before the next one', async () => {
    const c = fakeClock();
    const at: number[] = [];
    // Each refresh takes 200 ms of (fake) time: the next may start 200 / 0.05 = 4000 ms after it ends.
    const th = new LiveThrottle(
      async () => {
        at.push(c.clock.now());
        c.setNow(c.clock.now() + 200);
      },
      { minGapMs: 1000, share: 0.05, clock: c.clock },
    );
    th.request();
    await c.advance(0);
    expect(th.lastCostMs).toBe(200);
    for (let i = 0; i < 60; i++) {
      await c.advance(100);
      th.request();
    }
    expect(at).toEqual([0, 4200]);
  });

  it('a trial arriving during a refresh gets one more refresh after it; stop cancels what is pending', async () => {
    const c = fakeClock();
    let release: () => void = () => undefined;
    let calls = 0;
    const th = new LiveThrottle(
      () => {
        calls++;
        return new Promise<void>((r) => (release = r));
      },
      { minGapMs: 500, share: 0.5, clock: c.clock },
    );
    th.request();
    await c.advance(0);
    expect(calls).toBe(1);
    th.request(); // the run's last trial, while the refresh reads the store
    th.request();
    release();
    await c.advance(0);
    expect(c.pending()).toBe(1);
    await c.advance(500);
    expect(calls).toBe(2);
    release();
    await c.advance(0);
    th.request();
    th.stop();
    await c.advance(10_000);
    expect(calls).toBe(2);
    expect(th.count).toBe(2);
  });
});
