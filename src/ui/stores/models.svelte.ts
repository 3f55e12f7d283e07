/**
 * Models: the catalog plus the user's own (hub ids, served folders), the
 * browser's model cache, and downloading (= loading once in a worker, which
 * fills the cache) with progress, speed, time left and cancel.
 */
import type { EngineCapabilities, LoadProgress } from '../../lib/engine/types';
import { EngineError, readableError } from '../../lib/engine/types';
import type { DeviceChoice } from '../../lib/experiment/spec';
import { catalogModels, type LabModel } from '../../app/catalog';
import { WorkerEngineProvider } from '../../app/engine-provider';
import { cleanEngineChoices, engineModelInfo, engineSummary, type EngineModelInfo, type EngineUserChoice } from '../../app/engine-choice';
import { shortModelName } from '../../app/format';
import { checkModelId, modelSource, probeLocalModel } from '../../app/local-models';
import { deleteCachedModel, deleteCachedWebLLM, listCachedModels, listCachedWebLLM, type CachedModel, type WebLLMCacheRecord } from '../../app/model-cache';
import { WorkerEngine } from '../../../workers/client';
import { LoadAggregator, type LoadSnapshot } from '../../app/load-progress';
import { readJson, readList, writeJson } from '../../app/settings';
import { settings } from './settings.svelte';
import { PRESET_SIMULATED, simulatedFromForm, type SimulatedChoice, type SimulatedFormParams } from '../../app/simulated-models';
import { isSimulatedId, simulatedName } from '../../lib/experiment/simulated';

const CUSTOM_KEY = 'lab.customModels';
const SIMULATED_KEY = 'lab.simulatedModels';
const ENGINES_KEY = 'lab.engineChoices';

export interface DownloadJob extends LoadSnapshot {
  modelId: string;
  dtype: string;
  state: 'loading' | 'done' | 'cancelled' | 'failed';
  caps: EngineCapabilities | null;
  error: string | null;
  /** Set when WebLLM could not load the model and transformers.js loaded it instead. */
  fallback: string | null;
}

/** Our WebLLM app config's records, asked of a worker once per page (they come with the installed web-llm). */
let webllmRecords: Promise<readonly WebLLMCacheRecord[]> | null = null;

/** Run something against WebLLM's cache in a short-lived worker (web-llm never loads on the page). */
async function withWebLLMWorker<T>(f: (w: WorkerEngine) => Promise<T>): Promise<T> {
  const w = WorkerEngine.spawn('webllm-cache');
  try {
    return await f(w);
  } finally {
    w.terminate();
  }
}

function loadCatalog(): { models: LabModel[]; error: string | null } {
  try {
    return { models: catalogModels(), error: null };
  } catch (e) {
    return { models: [], error: `The model catalog could not be read: ${(e as Error).message}` };
  }
}

class ModelsStore {
  private readonly loaded = loadCatalog();
  readonly catalog: LabModel[] = this.loaded.models;
  readonly catalogError: string | null = this.loaded.error;
  custom = $state<LabModel[]>(readList<LabModel>(CUSTOM_KEY).map((m) => ({ ...m, sizeMB: m.sizeMB ?? {}, memoryMB: m.memoryMB ?? {} })));
  all = $derived<LabModel[]>([...this.custom, ...this.catalog]);

  cached = $state<CachedModel[]>([]);
  cacheBusy = $state(false);
  cacheError = $state<string | null>(null);

  customError = $state<string | null>(null);
  customBusy = $state(false);

  /** The engine chosen per model id (absent = automatic), kept in this browser. */
  engines = $state<Record<string, EngineUserChoice>>(cleanEngineChoices(readJson<unknown>(ENGINES_KEY, {})));

  job = $state<DownloadJob | null>(null);
  private jobProvider: WorkerEngineProvider | null = null;
  private jobAbort: AbortController | null = null;

  /** Simulated models (no download): the simulated preset's three, then those added here. */
  simulatedAdded = $state<SimulatedChoice[]>(readList<SimulatedChoice>(SIMULATED_KEY));
  simulated = $derived<SimulatedChoice[]>([...PRESET_SIMULATED, ...this.simulatedAdded]);
  simulatedError = $state<string | null>(null);

  /** Add a simulated model from its parameters; the error is kept for the form. */
  addSimulated(params: SimulatedFormParams): SimulatedChoice | null {
    const made = simulatedFromForm(params);
    this.simulatedError = 'error' in made ? made.error : null;
    if ('error' in made) return null;
    const known = this.simulated.find((m) => m.id === made.id);
    if (known) return known;
    this.simulatedAdded = [...this.simulatedAdded, made];
    writeJson(SIMULATED_KEY, this.simulatedAdded);
    return made;
  }

  removeSimulated(id: string): void {
    this.simulatedAdded = this.simulatedAdded.filter((m) => m.id !== id);
    writeJson(SIMULATED_KEY, this.simulatedAdded);
  }

  find(id: string): LabModel | undefined {
    return this.all.find((m) => m.id === id);
  }

  /** A model's display label: catalog / custom models, or a simulated one (which says so). */
  labelOf(id: string): string {
    return this.find(id)?.label ?? this.simulated.find((m) => m.id === id)?.label ?? (isSimulatedId(id) ? simulatedName(id) : id);
  }

  dtypesOf = (id: string): string[] | undefined => {
    const m = this.find(id);
    return m?.dtypes.length ? m.dtypes : undefined;
  };

  sizesOf = (id: string): Record<string, number> | undefined => this.find(id)?.sizeMB;

  /** What the engine choice needs of a model: catalog family and label, served folders. */
  engineInfo = (id: string): EngineModelInfo => {
    const m = this.find(id);
    return engineModelInfo(id, settings.localModels, m ? { label: m.label, family: m.family, local: m.local } : undefined);
  };

  engineOf(id: string): EngineUserChoice {
    return this.engines[id] ?? 'auto';
  }

  /** Choose the engine for a model (auto / transformers.js / WebLLM). */
  setEngine(id: string, choice: EngineUserChoice): void {
    const next = { ...this.engines };
    if (choice === 'auto') delete next[id];
    else next[id] = choice;
    this.engines = next;
    writeJson(ENGINES_KEY, next);
  }

  /** Add a model by hub id or served folder; a folder is checked (config, ONNX builds) first. */
  async addCustom(rawId: string): Promise<LabModel | null> {
    this.customError = checkModelId(rawId, settings.localModels);
    if (this.customError) return null;
    const src = modelSource(rawId, settings.localModels);
    if (this.find(src.id)) return this.find(src.id)!;
    this.customBusy = true;
    try {
      let model: LabModel;
      if (src.kind === 'local') {
        const probe = await probeLocalModel(src);
        if (!probe.ok) {
          this.customError = probe.error ?? 'That folder does not hold a model.';
          return null;
        }
        model = { id: src.id, label: src.name, family: probe.modelType, dtypes: probe.dtypes, sizeMB: probe.sizeMB ?? {}, memoryMB: {}, custom: true, local: true };
      } else {
        model = { id: src.id, label: shortModelName(src.id), dtypes: [], sizeMB: {}, memoryMB: {}, custom: true, local: false };
      }
      this.custom = [model, ...this.custom];
      writeJson(CUSTOM_KEY, this.custom);
      return model;
    } finally {
      this.customBusy = false;
    }
  }

  removeCustom(id: string): void {
    this.custom = this.custom.filter((m) => m.id !== id);
    writeJson(CUSTOM_KEY, this.custom);
  }

  private cacheRound = 0;

  /**
   * List transformers.js's cache, then WebLLM's caches (grouped by our app
   * config's records, which a worker reads from web-llm only when WebLLM's
   * caches hold files), then ask WebLLM's hasModelInCache about each stored
   * build, in the background.
   */
  async refreshCache(): Promise<void> {
    const round = ++this.cacheRound;
    this.cacheBusy = true;
    this.cacheError = null;
    let transformers: CachedModel[] = [];
    try {
      transformers = await listCachedModels();
      if (round === this.cacheRound) this.cached = [...transformers, ...this.cached.filter((m) => m.source === 'webllm')];
    } catch (e) {
      this.cacheError = `The model cache could not be read: ${(e as Error).message}`;
    }
    let webllm: CachedModel[] = [];
    try {
      webllm = await listCachedWebLLM(() => {
        webllmRecords ??= withWebLLMWorker((w) => w.webllmRecords()).catch((e) => {
          webllmRecords = null;
          throw e;
        });
        return webllmRecords;
      });
    } catch (e) {
      this.cacheError = `WebLLM's cache could not be read: ${readableError(e)}`;
    } finally {
      if (round === this.cacheRound) {
        this.cached = [...transformers, ...webllm];
        this.cacheBusy = false;
      }
    }
    const known = webllm.filter((m) => !m.unknown);
    if (known.length && round === this.cacheRound) void this.checkWebLLMComplete(round, known.map((m) => m.id));
  }

  /** WebLLM's own cached-or-not (every weight shard stored) for the listed builds; fills `complete`. */
  private async checkWebLLMComplete(round: number, ids: string[]): Promise<void> {
    try {
      const status = await withWebLLMWorker(async (w) => {
        const out: Record<string, boolean> = {};
        for (const id of ids) out[id] = await w.webllmCached(id).catch(() => false);
        return out;
      });
      if (round !== this.cacheRound) return;
      this.cached = this.cached.map((m) => (m.source === 'webllm' && m.id in status ? { ...m, complete: status[m.id] } : m));
    } catch {
      // Only a status badge: the listing stands without it.
    }
  }

  /** Delete a stored model: transformers.js files from its cache, a WebLLM build through WebLLM's deleteModelAllInfoInCache (in a worker). */
  async deleteCached(id: string, source?: CachedModel['source']): Promise<void> {
    const group = this.cached.find((m) => m.id === id && (source ? m.source === source : true));
    try {
      if (group?.source === 'webllm') await deleteCachedWebLLM(group, (modelId) => withWebLLMWorker((w) => w.webllmDelete(modelId)));
      else await deleteCachedModel(id);
    } catch (e) {
      await this.refreshCache();
      this.cacheError = `Could not delete ${id}: ${readableError(e)}`;
      return;
    }
    await this.refreshCache();
  }

  /** Download a model by loading it once in a worker (that fills the browser cache), then stop the worker. */
  /** `dtype` and `device`: what a run will load (the Models view passes them), so the download stores that build. */
  async download(modelId: string, dtype = 'auto', device: DeviceChoice = 'auto'): Promise<void> {
    if (this.job?.state === 'loading') return;
    const provider = new WorkerEngineProvider({
      localModels: settings.localModels,
      dtypesOf: this.dtypesOf,
      sizesOf: this.sizesOf,
      modelInfo: this.engineInfo,
      onEngine: (e) => {
        if (e.kind === 'fallback' && this.job?.modelId === modelId) this.job.fallback = e.fallback.reason;
      },
    });
    const abort = new AbortController();
    provider.signal = abort.signal;
    this.jobProvider = provider;
    this.jobAbort = abort;
    const job: DownloadJob = { modelId, dtype, state: 'loading', phase: null, file: null, loaded: 0, total: 0, bytesPerSec: 0, etaSec: null, text: 'Starting a worker…', caps: null, error: null, fallback: null };
    this.job = job;
    const agg = new LoadAggregator();
    let last = 0;
    const onProgress = (p: LoadProgress) => {
      if (!this.job || this.job.modelId !== modelId || this.job.state !== 'loading') return;
      const now = performance.now();
      const snap = agg.push(p, now);
      if (now - last < 100 && p.phase === 'download' && snap.loaded < snap.total) return;
      last = now;
      Object.assign(this.job, snap);
    };
    try {
      const ref = { key: 'download', id: modelId, engine: this.engineOf(modelId), device, ...(dtype !== 'auto' ? { dtype } : {}) };
      const { caps } = await provider.acquire(ref, onProgress);
      if (this.job?.modelId === modelId) Object.assign(this.job, { state: 'done', caps, phase: 'ready', etaSec: 0, text: `Ready: runs with ${engineSummary(caps)}.` });
    } catch (e) {
      const err = EngineError.from(e);
      if (this.job?.modelId === modelId)
        Object.assign(this.job, err.code === 'cancelled' ? { state: 'cancelled', text: 'Cancelled. Files already downloaded stay in the cache.' } : { state: 'failed', error: readableError(err) });
    } finally {
      provider.terminate();
      this.jobProvider = null;
      this.jobAbort = null;
      void this.refreshCache();
    }
  }

  /** Stop a download now: the worker is terminated. */
  cancelDownload(): void {
    this.jobAbort?.abort('cancel');
    this.jobProvider?.terminate();
  }

  dismissJob(): void {
    if (this.job?.state !== 'loading') this.job = null;
  }
}

export const models = new ModelsStore();
