/**
 * The lab with a model server, end to end in headless Chromium: the
 * production build on 127.0.0.1 (cross-origin isolated), llama.cpp's real
 * OpenAI-compatible server (llama-cpp-python, tiny random Llama in GGUF) on
 * another 127.0.0.1 port. "Connect a server" in the Models view lists the
 * served model and says what the server supports; the Classroom preset
 * (shrunk) runs with the browser fixture model deciding and the served model
 * as the control reporter; the run's record holds both engines and exactly
 * the planned trials. The request log shows no host but 127.0.0.1: the lab's
 * own origin and the server the user named.
 *
 * Skipped (with the reason printed) without /usr/bin/chromium or the project venv.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, newestRun, stepTimer } from './app-build';
import { hasBrowser, launchChromium } from '../support/browser';
import { serveStatic, type StaticServer } from '../support/static-server';
import { startLlamaServer, type LlamaServer } from '../support/llama-server';
import { pythonSkip } from '../support/python';
import { writeFixtureModel } from '../fixture/model';
import { serverModelValue } from '../../src/app/servers';

const { timings, timed } = stepTimer();
let tmp = '';
let site: StaticServer;
let llama: LlamaServer;

describe.skipIf(!hasBrowser || pythonSkip)('the lab with a model server (headless Chromium + llama.cpp server)', () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'server-e2e-'));
    await writeFixtureModel(join(tmp, 'models', 'tiny-llama'), { seed: 11 });
    await timed('build', () => buildApp(join(tmp, 'site')));
    site = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models') });
    llama = await timed('llama.cpp server', () => startLlamaServer());
  }, 300_000);

  afterAll(async () => {
    await llama?.stop();
    await site?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (Object.keys(timings).length) console.info('server e2e timings (ms):', JSON.stringify(timings));
  });

  it('connects to the server, runs a preset with a served control reporter, and talks to no other host', async () => {
    const browser = await launchChromium({ webgpu: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    const errors: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(`${site.url}/?localModels=/models/#/models`);
      await page.getByTestId('capability-verdict').waitFor();
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      await page.fill('input[name=custom-model]', 'tiny-llama');
      await page.getByRole('button', { name: 'Add model' }).click();
      await page.locator('tr[data-model="/models/tiny-llama"]').waitFor();

      // Connect a server: its models and what it supports, in words.
      await page.fill('input[name=server-url]', llama.baseUrl);
      await timed('connect', async () => {
        await page.getByRole('button', { name: 'Connect' }).click();
        await page.locator(`[data-server="${llama.baseUrl}"] [data-served-model="${llama.model}"]`).waitFor({ timeout: 60_000 });
      });
      const notes = await page.getByTestId('server-notes').textContent();
      expect(notes).toMatch(/top-20 log-probabilities/);
      expect(notes).toMatch(/GBNF grammar \(llama\.cpp\)/);

      // The Classroom preset, shrunk, with the served model as the control reporter.
      await page.getByRole('link', { name: 'Experiment' }).click();
      await page.locator('[data-preset=classroom]').click();
      await page.selectOption('select[name=model]', '/models/tiny-llama');
      await page.selectOption('select[name=control]', serverModelValue(llama.baseUrl, llama.model));
      await page.selectOption('select[name=device]', 'wasm');
      await page.fill('input[name=scenarios]', '2');
      await page.fill('input[name=decisions]', '6');
      await page.fill('input[name=reports]', '3');
      const spec = await page.getByTestId('spec-json').textContent();
      expect(spec).toContain(`"baseUrl": "${llama.baseUrl}"`);
      expect(spec).toContain('"engine": "openai"');

      await page.getByTestId('start-run').click();
      await timed('run', () =>
        page.waitForFunction(() => ['done', 'failed'].includes(document.querySelector('[data-testid=run-phase]')?.getAttribute('data-phase') ?? ''), undefined, { timeout: 240_000 }),
      );
      const db = await newestRun(page);
      expect(db.status, JSON.stringify(errors)).toBe('done');
      // The preset counterbalances: each of the 2 × 6 decisions is also shown with A and B swapped.
      expect(db.planned).toHaveLength(2 * 6 * 2 + 2 * 2 * 3);
      expect(new Set(db.stored).size).toBe(db.stored.length);
      expect([...db.stored].sort()).toEqual([...db.planned].sort());
      expect(db.engines.self).toMatchObject({ device: 'wasm' });
      expect(db.engines.control).toMatchObject({ engine: 'openai', device: 'server', model: llama.model });

      // No host but 127.0.0.1: the lab's origin and the server named.
      const hosts = new Set(requests.filter((u) => /^https?:/.test(u)).map((u) => new URL(u).hostname));
      expect([...hosts]).toEqual(['127.0.0.1']);
      const origins = new Set(requests.filter((u) => /^https?:/.test(u)).map((u) => new URL(u).origin));
      expect([...origins].sort()).toEqual([new URL(site.url).origin, new URL(llama.baseUrl).origin].sort());
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);
});
