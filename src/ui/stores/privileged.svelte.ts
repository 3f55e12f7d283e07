/**
 * The privileged-access analysis of the run shown in Results (two or more models),
 * the chosen heatmap cell and observer target, and live updates while that run is
 * going: the stored results are read again and re-analysed as trials arrive,
 * throttled (src/app/live-throttle.ts) so it cannot slow the run.
 */
import { tick } from 'svelte';
import type { PrivilegedAccess } from '../../lib/analysis/privileged-types';
import type { RunRecord } from '../../lib/experiment/runs';
import { privilegedAccessOf } from '../../app/privileged-access';
import { LiveThrottle } from '../../app/live-throttle';
import { library } from './library.svelte';
import { run } from './run.svelte';

class PrivilegedStore {
  pa = $state.raw<PrivilegedAccess | null>(null);
  error = $state<string | null>(null);
  /** The heatmap cell whose scatter is shown. */
  cell = $state<{ reporter: string; target: string } | null>(null);
  /** The target whose observer curve is shown. */
  target = $state<string | null>(null);
  /** Live refreshes done for the shown run and the time they took in all, with redrawing (the page exposes both for tests). */
  refreshes = $state(0);
  liveMs = $state(0);

  private analysedFor: RunRecord | null = null;
  // The cost the throttle budgets includes drawing the updated page (until the next frame), not only the analysis.
  private throttle = new LiveThrottle(async () => {
    const t0 = performance.now();
    await library.reload();
    this.analyse(library.record);
    await tick();
    await new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    this.refreshes++;
    this.liveMs += performance.now() - t0;
  });

  /** The shown run is the one running now. */
  get live(): boolean {
    return run.busy && !!run.meta && run.meta.id === library.record?.id;
  }

  /** Analyse a record (once per record object). */
  analyse(record: RunRecord | null): void {
    if (record === this.analysedFor) return;
    if (record?.id !== this.analysedFor?.id) {
      // Another run opened (read and analysed just now): no live refresh right away.
      this.cell = null;
      this.refreshes = 0;
      this.liveMs = 0;
      this.throttle.postpone();
    }
    this.analysedFor = record;
    if (!record) {
      this.pa = null;
      return;
    }
    try {
      this.pa = privilegedAccessOf(record);
      this.error = null;
    } catch (e) {
      this.pa = null;
      this.error = `The privileged-access analysis failed: ${(e as Error).message}`;
    }
  }

  /** A trial arrived (or the run stopped): refresh as soon as the throttle allows. */
  changed(): void {
    this.throttle.request();
  }

  /** The Results view closed: no more refreshes. */
  stop(): void {
    this.throttle.stop();
  }
}

export const privileged = new PrivilegedStore();
