/** Shared by the e2e tests: the production build of the lab, step timings, and the newest stored run. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { build } from 'vite';
import type { Page } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { serveStatic, type StaticServer } from '../support/static-server';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** Build the app as users get it into `outDir` (vitest sets NODE_ENV=test, which would make a development build). */
export async function buildApp(outDir: string): Promise<void> {
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root, configFile: join(root, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = env;
  }
}

/** The production build in a fresh temporary folder, served from 127.0.0.1; `close` stops it and removes the folder. */
export async function serveBuiltApp(prefix: string): Promise<{ server: StaticServer; dir: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  await buildApp(join(dir, 'site'));
  const server = await serveStatic({ '/': join(dir, 'site') });
  return {
    server,
    dir,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Records how long each named step took, for the test's closing log. */
export function stepTimer() {
  const timings: Record<string, number> = {};
  async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = Math.round(performance.now() - t0);
    }
  }
  return { timings, timed };
}

/** The newest run as the page's IndexedDB holds it: its planned trial ids and its stored result ids. */
export function newestRun(page: Page) {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('introspection-lab');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const all = <T,>(store: string) =>
      new Promise<T[]>((resolve, reject) => {
        const r = db.transaction(store).objectStore(store).getAll();
        r.onsuccess = () => resolve(r.result as T[]);
        r.onerror = () => reject(r.error);
      });
    type Meta = {
      id: string;
      createdAt: string;
      status: string;
      spec: { models: { key: string; engine?: string }[] };
      plan: { trials: { id: string }[] };
      engines: Record<string, { device: string; dtype: string } & Record<string, unknown>>;
    };
    const runs = (await all<Meta>('runs')).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const results = await all<{ runId: string; trialId: string }>('results');
    const run = runs[0];
    db.close();
    return {
      runId: run.id,
      status: run.status,
      models: run.spec.models,
      engines: run.engines,
      planned: run.plan.trials.map((t) => t.id),
      stored: results.filter((r) => r.runId === run.id).map((r) => r.trialId),
    };
  });
}
