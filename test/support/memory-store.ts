import type { RunMeta, RunStore, TrialResult } from '../../src/lib/experiment/runs';

/** An in-memory RunStore that can be told to fail, to test what a failed save loses. */
export class MemoryStore implements RunStore {
  metas = new Map<string, RunMeta>();
  results = new Map<string, TrialResult[]>();
  failNextSave: Error | null = null;
  async saveMeta(meta: RunMeta) {
    this.metas.set(meta.id, structuredClone(meta));
  }
  async saveResult(runId: string, r: TrialResult) {
    if (this.failNextSave) {
      const e = this.failNextSave;
      this.failNextSave = null;
      throw e;
    }
    const list = this.results.get(runId) ?? [];
    list.push(structuredClone(r));
    this.results.set(runId, list);
  }
  async loadResults(runId: string) {
    return structuredClone(this.results.get(runId) ?? []);
  }
}
