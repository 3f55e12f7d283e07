/**
 * A RunStore in a folder: each trial result is appended to results.jsonl and
 * fsynced before the runner moves on, so a killed run loses at most the trial
 * in flight; run.json holds the run record (meta and the results so far).
 */
import { mkdir, open, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunMeta, RunRecord, RunStore, TrialResult } from '../src/lib/experiment/runs';

export class FolderStore implements RunStore {
  private results: TrialResult[] | null = null;

  constructor(readonly dir: string) {}

  get recordPath() {
    return join(this.dir, 'run.json');
  }
  private get logPath() {
    return join(this.dir, 'results.jsonl');
  }

  /** The stored run record, or null when the folder holds none. */
  async readRecord(): Promise<RunRecord | null> {
    if (!existsSync(this.recordPath)) return null;
    const meta = JSON.parse(await readFile(this.recordPath, 'utf8')) as RunRecord;
    return { ...meta, results: await this.loadResults(meta.id) };
  }

  async saveMeta(meta: RunMeta): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const record: RunRecord = { ...meta, results: await this.loadResults(meta.id) };
    // Write then rename: a crash never leaves a half-written run.json.
    const tmp = `${this.recordPath}.tmp`;
    await writeFile(tmp, JSON.stringify(record, null, 1));
    await rename(tmp, this.recordPath);
  }

  async saveResult(_runId: string, result: TrialResult): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const fh = await open(this.logPath, 'a');
    try {
      await fh.write(JSON.stringify(result) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.results?.push(result);
  }

  async loadResults(_runId: string): Promise<TrialResult[]> {
    if (this.results) return this.results;
    if (!existsSync(this.logPath)) return (this.results = []);
    const text = await readFile(this.logPath, 'utf8');
    const results: TrialResult[] = [];
    let good = 0;
    for (const line of text.split('\n')) {
      if (!line) break;
      try {
        results.push(JSON.parse(line) as TrialResult);
      } catch {
        break; // A line torn by a kill mid-write: drop it, the trial reruns.
      }
      good += Buffer.byteLength(line) + 1;
    }
    if (good < Buffer.byteLength(text)) await truncate(this.logPath, good);
    return (this.results = results);
  }
}
