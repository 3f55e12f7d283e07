/**
 * LoRA adapters in the lab, end to end in headless Chromium (WASM): the fixture model served
 * under /models/, a PEFT adapter served under /adapters/ and another picked from disk. The
 * Models view adds each to the model ("tiny-llama + instilled"), the experiment compares base +
 * adapter with the base as its control, the run records the adapter and the sha-256 of its
 * weights, Results and the runs library name them, and offline, after a reload, the adapter
 * picked from disk (kept in the browser) still runs.
 *
 * Screenshots: test-output/screenshots/adapter-*.png.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { buildApp, newestRun, runEnded, screenshotter, stepTimer, writeFixtureWithAdapter } from './app-build';
import { hasBrowser, launchChromium } from '../support/browser';
import { serveStatic, type StaticServer } from '../support/static-server';
import { buildFixtureAdapter } from '../fixture/adapter';

const shot = screenshotter('adapter-');
const { timings, timed } = stepTimer();
let tmp = '';
let server: StaticServer;
const sha = { served: '', picked: '' };
let picked: Record<string, Uint8Array>;

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'adapter-e2e-'));
  const { model, adapter: served } = await writeFixtureWithAdapter(tmp);
  picked = buildFixtureAdapter(model.config, { seed: 6, r: 4, alpha: 8, rslora: true, baseModel: 'tiny-llama' }).files;
  sha.served = createHash('sha256').update(served['adapter_model.safetensors']).digest('hex');
  sha.picked = createHash('sha256').update(picked['adapter_model.safetensors']).digest('hex');
  await timed('build', () => buildApp(join(tmp, 'site')));
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models'), '/adapters/': join(tmp, 'adapters') });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (Object.keys(timings).length) console.info('adapter e2e timings (ms):', JSON.stringify(timings));
});

/** Small Classroom run of whatever the form holds; returns when it is done. */
async function runSmall(page: Page) {
  await page.getByRole('link', { name: 'Experiment' }).click();
  await page.selectOption('select[name=device]', 'wasm');
  await page.fill('input[name=scenarios]', '2');
  await page.fill('input[name=decisions]', '6');
  await page.fill('input[name=reports]', '1');
  await page.getByTestId('start-run').click();
  return runEnded(page, 180_000);
}

describe.skipIf(!hasBrowser)('LoRA adapters in the lab (Chromium, WASM)', () => {
  it('served and picked adapters, base vs base + adapter, adapter and hash in the results, offline after a reload', async () => {
    const browser = await launchChromium({ webgpu: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await timed('model', async () => {
        await page.goto(`${server.url}/?localModels=/models/#/models`);
        await page.getByTestId('capability-verdict').waitFor();
        await page.fill('input[name=custom-model]', 'tiny-llama');
        await page.getByRole('button', { name: 'Add model' }).click();
        await page.locator('tr[data-model="/models/tiny-llama"]').waitFor();
        await page.getByRole('button', { name: 'Download tiny-llama' }).click();
        await page.locator('[data-testid=download-panel][data-state=done]').waitFor({ timeout: 120_000 });
      });

      // A served adapter: added to the model, then checked against it.
      await timed('served adapter', async () => {
        await page.selectOption('select[name=adapter-base]', '/models/tiny-llama');
        await page.fill('input[name=adapter-id]', '/adapters/instilled');
        await page.getByRole('button', { name: 'Add adapter' }).click();
        await page.locator('tr[data-adapted="tiny-llama + instilled"]').waitFor();
      });
      // A bad one is refused with the reason: a folder with no adapter.
      await page.fill('input[name=adapter-id]', '/adapters/none');
      await page.getByRole('button', { name: 'Add adapter' }).click();
      await expect.poll(() => page.getByTestId('adapter-error').textContent()).toMatch(/not added: .*adapter_config\.json/);

      // Files picked from disk: stored in the browser, listed with their size.
      await timed('picked adapter', async () => {
        await page.getByRole('radio', { name: 'Files from this computer' }).check();
        await page.locator('input[name=adapter-files]').setInputFiles(
          Object.entries(picked).map(([name, bytes]) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) })),
        );
        await page.fill('input[name=adapter-name]', 'picked-rslora');
        await page.getByRole('button', { name: 'Add adapter' }).click();
        await page.locator('tr[data-adapted="tiny-llama + picked-rslora"]').waitFor();
        const row = page.locator('tr[data-stored-adapter="picked-rslora"]');
        await row.waitFor();
        const bytes = Number(await row.getAttribute('data-bytes'));
        expect(bytes).toBe(picked['adapter_config.json'].length + picked['adapter_model.safetensors'].length);
      });
      await shot(page, '01-models');

      // The experiment: base + served adapter vs the base as control.
      await page.locator('tr[data-adapted="tiny-llama + instilled"]').getByRole('button', { name: 'Use: base vs base + adapter' }).click();
      await page.getByRole('link', { name: 'Experiment' }).click();
      const spec = JSON.parse((await page.getByTestId('spec-json').textContent())!);
      expect(spec.models.map((m: { key: string; id: string; adapter?: unknown }) => [m.key, m.id, m.adapter ?? null])).toEqual([
        ['self', '/models/tiny-llama', { id: '/adapters/instilled' }],
        ['control', '/models/tiny-llama', null],
      ]);
      // The engine choice gives the adapter as its reason.
      expect(await page.getByTestId('engine-reason').first().textContent()).toMatch(/with the adapter \/adapters\/instilled.*transformers\.js/);
      await shot(page, '02-experiment');
      expect(await timed('run served', () => runSmall(page))).toBe('done');
      const db = await newestRun(page);
      expect(db.engines.self).toMatchObject({ adapter: '/adapters/instilled', adapterInfo: { sha256: sha.served } });
      expect(db.engines.control).toMatchObject({ adapter: null });

      await page.getByTestId('see-results').click();
      const listed = page.locator(`[data-testid=run-adapters] li[data-adapter="/adapters/instilled"]`);
      await listed.waitFor();
      expect(await listed.getAttribute('data-sha256')).toBe(sha.served);
      expect(await listed.textContent()).toContain(sha.served);
      // Base and base + adapter share a model id: the conditions name the adapter.
      expect(await page.locator('main').textContent()).toContain('Self-report: tiny-llama + instilled');
      await shot(page, '03-results');
      await page.getByRole('link', { name: 'Runs library' }).click();
      const row = page.locator(`tr[data-run="${db.runId}"]`);
      await row.waitFor();
      expect(await row.textContent()).toMatch(/tiny-llama \+ instilled vs tiny-llama/);
      expect(await row.textContent()).toContain(sha.served.slice(0, 12));
      await shot(page, '04-runs-library');

      // Offline, after a reload: the adapter picked from disk still runs (model and adapter from the browser's stores).
      await timed('offline run', async () => {
        await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
        await context.setOffline(true);
        await page.goto(`${server.url}/?localModels=/models/#/models`, { timeout: 30_000 });
        await page.locator('tr[data-stored-adapter="picked-rslora"]').waitFor({ timeout: 30_000 });
        await page.locator('tr[data-adapted="tiny-llama + picked-rslora"]').getByRole('button', { name: 'Use: base vs base + adapter' }).click();
        expect(await runSmall(page)).toBe('done');
      });
      const offline = await newestRun(page);
      expect(offline.runId).not.toBe(db.runId);
      expect(offline.engines.self).toMatchObject({ adapter: 'stored:picked-rslora', adapterInfo: { sha256: sha.picked } });
      await page.getByTestId('see-results').click();
      await page.locator(`[data-testid=run-adapters] li[data-sha256="${sha.picked}"]`).waitFor();
      await shot(page, '05-offline-results');
      await context.setOffline(false);
      expect(errors).toEqual([]);
    } catch (e) {
      await shot(page, 'failure').catch(() => undefined);
      console.error('page errors:', errors);
      throw e;
    } finally {
      await browser.close();
    }
  }, 600_000);
});
