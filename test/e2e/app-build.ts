/** Shared by the e2e tests: the production build of the lab, step timings, screenshots, the end of a run, and the newest stored run. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { build } from 'vite';
import type { Page } from 'playwright-core';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { serveStatic, type StaticServer } from '../support/static-server';
import { writeFixtureModel } from '../fixture/model';
import { buildFixtureAdapter } from '../fixture/adapter';

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

/**
 * The fixture model in `dir`/models/tiny-llama (seed 11) and a seeded PEFT adapter trained "on"
 * it in `dir`/adapters/instilled (seed 5), to be served under /models/ and /adapters/.
 */
export async function writeFixtureWithAdapter(dir: string) {
  const model = await writeFixtureModel(join(dir, 'models', 'tiny-llama'), { seed: 11 });
  const adapter = buildFixtureAdapter(model.config, { seed: 5, baseModel: 'tiny-llama' }).files;
  await mkdir(join(dir, 'adapters', 'instilled'), { recursive: true });
  for (const [name, bytes] of Object.entries(adapter)) await writeFile(join(dir, 'adapters', 'instilled', name), bytes);
  return { model, adapter };
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

/**
 * Screenshots under test-output/screenshots/ named `${prefix}${name}.png`: the whole page, or
 * only `selector`'s element. Focus is dropped first so no focus ring shows.
 */
export function screenshotter(prefix: string) {
  const dir = join(root, 'test-output', 'screenshots');
  return async function shot(page: Page, name: string, selector?: string) {
    await mkdir(dir, { recursive: true });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur?.());
    const path = join(dir, `${prefix}${name}.png`);
    if (selector) await page.locator(selector).screenshot({ path });
    else await page.screenshot({ path, fullPage: true });
  };
}

/** Waits until the Run view's phase is one of `phases`; returns it. */
export async function waitPhase(page: Page, phases: string[], timeout: number) {
  await page.waitForFunction(
    (ps) => ps.includes(document.querySelector('[data-testid=run-phase]')?.getAttribute('data-phase') ?? ''),
    phases,
    { timeout },
  );
  return page.getByTestId('run-phase').getAttribute('data-phase');
}

/** Waits until the Run view says the run is done or failed; returns which. */
export const runEnded = (page: Page, timeout: number) => waitPhase(page, ['done', 'failed'], timeout);

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
