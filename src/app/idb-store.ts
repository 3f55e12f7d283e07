/**
 * The browser's RunStore: IndexedDB (via idb). One object store of run metas,
 * one of results keyed by [runId, trialId], one of cached summaries for the
 * runs library.
 *
 * - saveResult resolves only when its readwrite transaction has completed
 *   (durability "strict"), so the runner starts the next trial only after the
 *   result is on disk.
 * - Results are added, never overwritten: storing the same trial twice is a bug
 *   and fails loudly (ConstraintError) instead of silently replacing data.
 * - A full disk (QuotaExceededError) becomes a StorageFullError with a message
 *   people can act on; what was stored before stays stored.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { RunMeta, RunRecord, RunStore, TrialResult } from '../lib/experiment/runs';
import type { Headline } from './run-analysis';
import { readableError } from '../lib/engine/types';

export const DB_NAME = 'introspection-lab';
export const DB_VERSION = 1;

export type StoredResult = TrialResult & { runId: string };

export interface RunSummary {
  runId: string;
  /** updatedAt of the meta this summary was computed from. */
  updatedAt: string;
  done: number;
  headline: Headline | null;
}

interface LabDB extends DBSchema {
  runs: { key: string; value: RunMeta; indexes: { updatedAt: string } };
  results: { key: [string, string]; value: StoredResult; indexes: { runId: string } };
  summaries: { key: string; value: RunSummary };
}

export class StorageFullError extends Error {
  override name = 'StorageFullError';
  constructor(readonly savedTrials?: number) {
    super(
      'Storage is full: the browser refused to save more data. Every trial finished so far is saved. ' +
        'Free some space (delete a cached model or an old run), then press Resume.',
    );
  }
}

export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  return name === 'QuotaExceededError' || name === 'StorageFullError' || /quota|storage is full/i.test(msg);
}

/** What a failed run's error text means for a person (a full disk reads differently from an engine error). */
export function describeRunError(error: string | undefined): string | undefined {
  if (!error) return undefined;
  if (/storage is full|quota/i.test(error)) return new StorageFullError().message;
  return readableError(error);
}

function wrapQuota(e: unknown): never {
  if (isQuotaError(e)) throw new StorageFullError();
  throw e;
}

export class IdbRunStore implements RunStore {
  private constructor(private readonly db: IDBPDatabase<LabDB>) {}

  static async open(name = DB_NAME): Promise<IdbRunStore> {
    const db = await openDB<LabDB>(name, DB_VERSION, {
      upgrade(db) {
        const runs = db.createObjectStore('runs', { keyPath: 'id' });
        runs.createIndex('updatedAt', 'updatedAt');
        const results = db.createObjectStore('results', { keyPath: ['runId', 'trialId'] });
        results.createIndex('runId', 'runId');
        db.createObjectStore('summaries', { keyPath: 'runId' });
      },
    });
    return new IdbRunStore(db);
  }

  close(): void {
    this.db.close();
  }

  async saveMeta(meta: RunMeta): Promise<void> {
    try {
      const tx = this.db.transaction('runs', 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.put(meta), tx.done]);
    } catch (e) {
      wrapQuota(e);
    }
  }

  async saveResult(runId: string, result: TrialResult): Promise<void> {
    try {
      const tx = this.db.transaction('results', 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.add({ ...result, runId }), tx.done]);
    } catch (e) {
      wrapQuota(e);
    }
  }

  async loadResults(runId: string): Promise<TrialResult[]> {
    const rows = await this.db.getAllFromIndex('results', 'runId', runId);
    return rows.map(({ runId: _r, ...r }) => r as TrialResult);
  }

  async countResults(runId: string): Promise<number> {
    return this.db.countFromIndex('results', 'runId', runId);
  }

  async getMeta(runId: string): Promise<RunMeta | undefined> {
    return this.db.get('runs', runId);
  }

  async loadRecord(runId: string): Promise<RunRecord | undefined> {
    const meta = await this.getMeta(runId);
    if (!meta) return undefined;
    return { ...meta, results: await this.loadResults(runId) };
  }

  /** All runs, newest first. */
  async listRuns(): Promise<RunMeta[]> {
    const all = await this.db.getAll('runs');
    return all.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Runs that stopped before finishing (a closed tab leaves "running"). */
  async unfinishedRuns(): Promise<RunMeta[]> {
    return (await this.listRuns()).filter((m) => m.status === 'running' || m.status === 'paused' || m.status === 'failed');
  }

  async deleteRun(runId: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'results', 'summaries'], 'readwrite');
    const results = tx.objectStore('results');
    let cursor = await results.index('runId').openKeyCursor(IDBKeyRange.only(runId));
    while (cursor) {
      await results.delete(cursor.primaryKey);
      cursor = await cursor.continue();
    }
    await Promise.all([tx.objectStore('runs').delete(runId), tx.objectStore('summaries').delete(runId), tx.done]);
  }

  /** Store an imported run (meta and results in one transaction). Refuses an id already present. */
  async importRecord(record: RunRecord): Promise<void> {
    const { results, ...meta } = record;
    try {
      const tx = this.db.transaction(['runs', 'results'], 'readwrite', { durability: 'strict' });
      const runs = tx.objectStore('runs');
      if (await runs.get(meta.id)) {
        tx.abort();
        await tx.done.catch(() => undefined);
        throw new Error(`A run with id ${meta.id} is already in the library.`);
      }
      await runs.add(meta);
      for (const r of results) await tx.objectStore('results').add({ ...r, runId: meta.id });
      await tx.done;
    } catch (e) {
      wrapQuota(e);
    }
  }

  async getSummary(runId: string): Promise<RunSummary | undefined> {
    return this.db.get('summaries', runId);
  }

  async saveSummary(summary: RunSummary): Promise<void> {
    try {
      await this.db.put('summaries', summary);
    } catch {
      // A summary is a cache: losing it costs a recomputation, nothing else.
    }
  }
}
