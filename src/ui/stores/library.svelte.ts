/**
 * Past runs: the list (with a cached headline r per run), the run opened in
 * the Results view with its analysis, deleting, exporting and importing.
 */
import type { RunMeta, RunRecord } from '../../lib/experiment/runs';
import { exportPrefix, parseRunJson, runCsvFiles, runJson } from '../../app/exports';
import { analyzeRun, type Headline, type RunAnalysis } from '../../app/run-analysis';
import { saveText } from '../../app/download';
import { runStore } from './db';

export interface RunListItem {
  meta: RunMeta;
  done: number;
  headline: Headline | null;
}

class LibraryStore {
  runs = $state<RunListItem[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  message = $state<string | null>(null);

  /** The run shown in the Results view, and its analysis. */
  record = $state.raw<RunRecord | null>(null);
  analysis = $state.raw<RunAnalysis | null>(null);
  opening = $state(false);

  async refresh(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const store = await runStore();
      const metas = await store.listRuns();
      this.runs = await Promise.all(
        metas.map(async (meta) => {
          let summary = await store.getSummary(meta.id);
          if (!summary || summary.updatedAt !== meta.updatedAt) {
            const record = (await store.loadRecord(meta.id))!;
            summary = { runId: meta.id, updatedAt: meta.updatedAt, done: record.results.length, headline: safeHeadline(record) };
            await store.saveSummary(summary);
          }
          return { meta, done: summary.done, headline: summary.headline };
        }),
      );
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.loading = false;
    }
  }

  /** Load a run and analyse it for the Results view. */
  async open(runId: string): Promise<boolean> {
    if (this.record?.id === runId && this.record.updatedAt === this.runs.find((r) => r.meta.id === runId)?.meta.updatedAt) return true;
    this.opening = true;
    this.error = null;
    try {
      const store = await runStore();
      const record = await store.loadRecord(runId);
      if (!record) {
        this.error = 'That run is not in this browser any more.';
        return false;
      }
      this.record = record;
      this.analysis = analyzeRun(record);
      return true;
    } catch (e) {
      this.error = `The run could not be analysed: ${(e as Error).message}`;
      return false;
    } finally {
      this.opening = false;
    }
  }

  /** Read the shown run again (trials arrived while it runs) and re-analyse it. */
  async reload(): Promise<void> {
    const id = this.record?.id;
    if (!id) return;
    try {
      const record = await (await runStore()).loadRecord(id);
      if (!record || this.record?.id !== id) return;
      this.record = record;
      this.analysis = analyzeRun(record);
    } catch (e) {
      this.error = `The run could not be analysed: ${(e as Error).message}`;
    }
  }

  async remove(runId: string): Promise<void> {
    const store = await runStore();
    await store.deleteRun(runId);
    if (this.record?.id === runId) {
      this.record = null;
      this.analysis = null;
    }
    await this.refresh();
  }

  private async recordOf(runId: string): Promise<RunRecord | null> {
    if (this.record?.id === runId) return this.record;
    return (await (await runStore()).loadRecord(runId)) ?? null;
  }

  /** Download the paper's CSVs of a run (one file each). */
  async exportCsv(runId: string): Promise<void> {
    const record = await this.recordOf(runId);
    if (!record) return;
    const prefix = exportPrefix(record);
    for (const f of runCsvFiles(record)) saveText(`${prefix}-${f.name}`, f.text, f.mime);
  }

  async exportJson(runId: string): Promise<void> {
    const record = await this.recordOf(runId);
    if (!record) return;
    const f = runJson(record);
    saveText(`${exportPrefix(record)}-${f.name}`, f.text, f.mime);
  }

  async importFile(file: File): Promise<void> {
    this.error = null;
    this.message = null;
    try {
      const record = parseRunJson(await file.text());
      await (await runStore()).importRecord(record);
      this.message = `Imported “${record.spec.name}” (${record.results.length} trials).`;
      await this.refresh();
    } catch (e) {
      this.error = `Import failed: ${(e as Error).message}`;
    }
  }
}

function safeHeadline(record: RunRecord): Headline | null {
  try {
    return analyzeRun(record).headline;
  } catch {
    return null;
  }
}

export const library = new LibraryStore();
