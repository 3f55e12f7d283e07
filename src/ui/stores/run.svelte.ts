/**
 * The run in progress: starts, pauses (abort 'pause'), cancels (abort
 * 'cancel') and resumes runExperiment with the IndexedDB store and worker
 * engines; keeps its live progress, per-condition speed and the latest trial;
 * on page load, offers unfinished runs for resume.
 */
import { buildPlan, PlanError, resolveScenarios } from '../../lib/experiment/plan';
import { runExperiment, type RunProgress, type TrialEvent } from '../../lib/experiment/runner';
import { newRunId, RUN_FORMAT, RUN_VERSION, type RunMeta } from '../../lib/experiment/runs';
import type { ExperimentSpec } from '../../lib/experiment/spec';
import { WorkerEngineProvider } from '../../app/engine-provider';
import { servers } from './servers.svelte';

import { applyEngineEvent, engineRows, type EngineLive, type EngineRow } from '../../app/engine-choice';
import { describeRunError, isQuotaError, StorageFullError } from '../../app/idb-store';
import { ConditionRates, conditionModels, type ConditionRow, type OverallPace } from '../../app/progress';
import { LoadAggregator, type LoadSnapshot } from '../../app/load-progress';
import { runStore } from './db';
import { library } from './library.svelte';
import { models } from './models.svelte';
import { settings } from './settings.svelte';
/** Trials in flight on a model server (it batches them). */
const SERVER_CONCURRENCY = 8;

export type RunPhase = 'idle' | 'starting' | 'loading' | 'running' | 'pausing' | 'cancelling' | 'paused' | 'cancelled' | 'done' | 'failed';

export interface LoadState extends LoadSnapshot {
  model: string;
}

const LOCK_PREFIX = 'introspection-lab-run:';

class RunController {
  phase = $state<RunPhase>('idle');
  meta = $state<RunMeta | null>(null);
  progress = $state<RunProgress | null>(null);
  rows = $state<ConditionRow[]>([]);
  /** The header's speed and time left, from the recent pace (load excluded). */
  overall = $state<OverallPace>({ perSec: 0, etaSec: null, guessed: false });
  latest = $state<TrialEvent | null>(null);
  load = $state<LoadState | null>(null);
  error = $state<string | null>(null);
  /** Each model's engine as this session chose and loaded it (choice, reason, fallback), by model key. */
  engineLive = $state<Record<string, EngineLive>>({});
  /** What the Run view shows per model: the engine in use and why (live, else as stored with the run). */
  engineRows = $derived<EngineRow[]>(this.meta ? engineRows(this.meta.spec.models, this.meta.engines, this.engineLive) : []);
  /** Runs that stopped before finishing (offered for resume). */
  unfinished = $state<Array<{ meta: RunMeta; done: number }>>([]);
  busy = $derived(this.phase === 'starting' || this.phase === 'loading' || this.phase === 'running' || this.phase === 'pausing' || this.phase === 'cancelling');

  private ctrl: AbortController | null = null;
  private provider: WorkerEngineProvider | null = null;
  private rates = new ConditionRates();
  private loadAgg = new LoadAggregator();

  /** Look for runs a closed tab or a crash left unfinished (skipping one another tab is running). */
  async findUnfinished(): Promise<void> {
    try {
      const store = await runStore();
      const held = new Set<string>();
      if (navigator.locks?.query) {
        const q = await navigator.locks.query();
        for (const l of q.held ?? []) if (l.name?.startsWith(LOCK_PREFIX)) held.add(l.name.slice(LOCK_PREFIX.length));
      }
      const metas = (await store.unfinishedRuns()).filter((m) => !held.has(m.id) && m.id !== this.meta?.id);
      this.unfinished = await Promise.all(metas.map(async (meta) => ({ meta, done: await store.countResults(meta.id) })));
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Plan a new run from a spec and start it. */
  async start(spec: ExperimentSpec): Promise<void> {
    if (this.busy) return;
    this.error = null;
    let meta: RunMeta;
    try {
      const plan = buildPlan(spec, resolveScenarios(spec));
      const now = new Date();
      meta = {
        format: RUN_FORMAT,
        version: RUN_VERSION,
        id: newRunId(now, spec.seed),
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        status: 'running',
        spec,
        plan,
        engines: {},
      };
    } catch (e) {
      this.error = e instanceof PlanError ? e.message : `The experiment could not be planned: ${(e as Error).message}`;
      return;
    }
    await this.run(meta);
  }

  /** Resume a stored run: runs exactly the trials without a stored result. */
  async resume(runId?: string): Promise<void> {
    if (this.busy) return;
    const id = runId ?? this.meta?.id;
    if (!id) return;
    this.error = null;
    const store = await runStore();
    const meta = await store.getMeta(id);
    if (!meta) {
      this.error = 'That run is no longer stored.';
      return;
    }
    this.unfinished = this.unfinished.filter((u) => u.meta.id !== id);
    await this.run(meta);
  }

  pause(): void {
    if (!this.ctrl || this.ctrl.signal.aborted) return;
    this.phase = 'pausing';
    this.ctrl.abort('pause');
  }

  cancel(): void {
    if (!this.ctrl || this.ctrl.signal.aborted) return;
    this.phase = 'cancelling';
    this.ctrl.abort('cancel');
  }

  /** Mark an unfinished run as cancelled (its results stay in the library). */
  async discard(runId: string): Promise<void> {
    const store = await runStore();
    const meta = await store.getMeta(runId);
    if (meta) await store.saveMeta({ ...meta, status: 'cancelled', updatedAt: new Date().toISOString() });
    this.unfinished = this.unfinished.filter((u) => u.meta.id !== runId);
    await library.refresh();
  }

  private async run(meta: RunMeta): Promise<void> {
    const store = await runStore().catch((e: Error) => {
      this.error = e.message;
      return null;
    });
    if (!store) return;
    this.meta = meta;
    this.phase = 'starting';
    this.latest = null;
    this.load = null;
    this.rates = new ConditionRates();
    this.progress = null;
    this.rows = [];
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    this.engineLive = {};
    this.provider ??= new WorkerEngineProvider({
      localModels: settings.localModels,
      dtypesOf: models.dtypesOf,
      sizesOf: models.sizesOf,
      modelInfo: models.engineInfo,
      serverKey: servers.keyFor,
      onEngine: (e) => {
        this.engineLive = applyEngineEvent(this.engineLive, e);
      },
    });
    const provider = this.provider;
    provider.signal = ctrl.signal;

    const body = async () => {
      try {
        const final = await runExperiment({
          meta,
          store,
          provider,
          signal: ctrl.signal,
          onProgress: (p) => this.onProgress(p),
          onTrial: (e) => this.onTrial(e),
          // Only engines that take overlapping calls (servers) use it; the browser engines run one at a time.
          concurrency: SERVER_CONCURRENCY,
        });
        this.meta = final;
        this.phase = final.status === 'running' ? 'failed' : final.status;
        if (final.status === 'failed') this.error = describeRunError(final.error) ?? 'The run failed.';
      } catch (e) {
        // The store itself failed (a full disk while saving the run's state): every stored trial stays stored.
        this.phase = 'failed';
        this.error = isQuotaError(e) ? new StorageFullError().message : `The run stopped: ${(e as Error).message}`;
      } finally {
        this.ctrl = null;
        // Keep the model loaded while paused (resume is then quick); free it otherwise.
        if (this.phase !== 'paused') {
          provider.terminate();
        }
        this.load = null;
        await library.refresh();
      }
    };
    const locks = navigator.locks;
    if (locks?.request) await locks.request(`${LOCK_PREFIX}${meta.id}`, body);
    else await body();
  }

  private modelOf = (condition: string): string => conditionModels(this.meta?.spec)(condition);

  private refreshRows(): void {
    this.rows = this.rates.rows(this.progress, this.modelOf);
    this.overall = this.rates.overall(this.rows);
  }

  private onProgress(p: RunProgress): void {
    this.progress = p;
    // A load is never counted in the pace.
    if (p.state === 'loading') this.rates.gap();
    this.refreshRows();
    if (p.state === 'loading') {
      if (this.phase !== 'pausing' && this.phase !== 'cancelling') this.phase = 'loading';
      if (!this.load || this.load.model !== p.model) this.loadAgg = new LoadAggregator();
      const snap = p.load ? this.loadAgg.push(p.load, performance.now()) : this.loadAgg.snapshot;
      this.load = { ...snap, text: snap.text ?? 'Starting the engine', model: p.model ?? '' };
    } else if (p.state === 'running') {
      if (this.phase !== 'pausing' && this.phase !== 'cancelling') this.phase = 'running';
      this.load = null;
    }
  }

  private onTrial(e: TrialEvent): void {
    this.rates.record(e.trial.condition, e.trial.kind, e.result.ms, this.modelOf(e.trial.condition), performance.now());
    this.latest = e;
    this.refreshRows();
  }

  /** Forget a finished run's live view (the run stays in the library). */
  clear(): void {
    if (this.busy) return;
    this.phase = 'idle';
    this.meta = null;
    this.progress = null;
    this.latest = null;
    this.error = null;
    this.rows = [];
    this.engineLive = {};
    this.provider?.terminate();
  }
}

export const run = new RunController();
