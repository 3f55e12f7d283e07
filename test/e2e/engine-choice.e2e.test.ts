/**
 * Engine choice end to end in headless Chromium with SwiftShader WebGPU (no
 * shader-f16), on the production build served from 127.0.0.1 with COOP/COEP.
 *
 * A catalog model that WebLLM ships (Qwen2.5 0.5B Instruct) on engine "auto":
 * the Models view shows WebLLM as the automatic choice, with its reason; an
 * impossible override (WebLLM for a model it has no build of) says why. The
 * run tries WebLLM for real (the real library in the engine worker); its
 * files would come from huggingface.co/mlc-ai and the model library from
 * raw.githubusercontent.com/mlc-ai: every request off 127.0.0.1 is recorded
 * and aborted, and they must all be those. WebLLM then cannot load, and the
 * app falls back to transformers.js, which finds the same catalog model id in
 * the ?localModels=/models/ folder (the fixture model served at
 * /models/onnx-community/Qwen2.5-0.5B-Instruct/). A shrunk Classroom run
 * (2 scenarios × 4 decisions × 1 report) completes on transformers.js, and the
 * Run view and the stored run say so, with the fallback's reason.
 *
 * Screenshots: test-output/screenshots/engine-choice-*.png.
 * Skipped (with the reason printed) without /usr/bin/chromium, unless REQUIRE_BROWSER=1.
 */
import { buildApp, newestRun, runEnded, screenshotter, stepTimer } from './app-build';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser, launchChromium } from '../support/browser';
import { serveStatic, type StaticServer } from '../support/static-server';
import { writeFixtureModel } from '../fixture/model';

const shot = screenshotter('engine-choice-');
const MODEL = 'onnx-community/Qwen2.5-0.5B-Instruct';
const WEBLLM_BUILD = 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC';
/** Where WebLLM 0.2.86 gets a prebuilt model: weights and config from Hugging Face's mlc-ai repositories, the compiled library from GitHub. */
const WEBLLM_SOURCES = [/^https:\/\/huggingface\.co\/mlc-ai\//, /^https:\/\/raw\.githubusercontent\.com\/mlc-ai\/binary-mlc-llm-libs\//];
const { timings, timed } = stepTimer();

let tmp = '';
let server: StaticServer;

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'engine-choice-e2e-'));
  // The catalog model's id under the local models folder: transformers.js looks there first.
  await writeFixtureModel(join(tmp, 'models', ...MODEL.split('/')), { seed: 21 });
  await timed('build', () => buildApp(join(tmp, 'site')));
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models') });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (Object.keys(timings).length) console.info('engine-choice e2e timings (ms):', JSON.stringify(timings));
});

describe.skipIf(!hasBrowser)('engine choice in headless Chromium (SwiftShader WebGPU, no network)', () => {
  it('auto picks WebLLM for a catalog model, WebLLM cannot load offline, the run completes on transformers.js with the reason shown', async () => {
    const browser = await launchChromium({ webgpu: true });
    // No service worker: every request then goes through the routes below.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
    const requests: string[] = [];
    const external: string[] = [];
    const errors: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    await context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => {
        external.push(route.request().url());
        return route.abort('internetdisconnected');
      },
    );
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      // Models: the automatic choice and its reason; an impossible override and why.
      await timed('open', async () => {
        await page.goto(`${server.url}/?localModels=/models/#/models`);
        await page.getByTestId('capability-verdict').waitFor();
      });
      expect(await page.getByTestId('capability-verdict').textContent()).toMatch(/WebGPU/);
      const row = page.locator(`tr[data-model="${MODEL}"]`);
      const decision = row.getByTestId('engine-decision');
      await decision.waitFor();
      expect(await row.getByTestId('engine-select').inputValue()).toBe('auto');
      expect(await decision.getAttribute('data-engine')).toBe('webllm');
      expect(await decision.getAttribute('data-honored')).toBe('true');
      const autoReason = await row.getByTestId('engine-reason').textContent();
      expect(autoReason).toMatch(/^Qwen2\.5 0\.5B Instruct runs with WebLLM: its precompiled GPU kernels are usually faster/);
      expect(autoReason).toMatch(/lacks 16-bit shader support \(shader-f16\), so WebLLM uses its larger q4f32 build/);
      expect(await decision.textContent()).toContain(`WebLLM build: ${WEBLLM_BUILD}`);

      const gemma = page.locator('tr[data-model="onnx-community/gemma-3-1b-it-ONNX"]');
      expect(await gemma.getByTestId('engine-decision').getAttribute('data-engine')).toBe('transformers');
      await gemma.getByTestId('engine-select').selectOption('webllm');
      await expect.poll(() => gemma.getByTestId('engine-decision').getAttribute('data-honored')).toBe('false');
      expect(await gemma.getByTestId('engine-decision').getAttribute('data-engine')).toBe('transformers');
      expect(await gemma.getByTestId('engine-reason').textContent()).toBe(
        'You chose WebLLM, but WebLLM has no build of Gemma 3 1B it; Gemma 3 1B it runs with transformers.js instead.',
      );
      expect(await gemma.getByTestId('engine-decision').textContent()).toContain('your choice is not possible here');
      await shot(page, '01-models');
      await gemma.getByTestId('engine-select').selectOption('auto');

      // Experiment: the Classroom preset on the catalog model, engine auto, shrunk; the fixture only has the fp32 build.
      await row.getByRole('button', { name: 'Use Qwen2.5 0.5B Instruct for the experiment' }).click();
      await page.locator('[data-preset=classroom]').click();
      await expect.poll(() => page.getByTestId('spec-json').textContent()).toContain('"name": "Classroom demo"');
      expect(await page.locator('select[name=model]').inputValue()).toBe(MODEL);
      expect(await page.locator('select[name=engine]').inputValue()).toBe('auto');
      await page.selectOption('select[name=dtype]', 'fp32');
      await page.fill('input[name=scenarios]', '2');
      await page.fill('input[name=decisions]', '4');
      await page.fill('input[name=reports]', '1');
      const spec = await page.getByTestId('spec-json').textContent();
      expect(spec).toContain('"engine": "auto"');
      expect(spec).toContain('"dtype": "fp32"');
      expect(await page.getByTestId('engine-decision').getAttribute('data-engine')).toBe('webllm');
      await shot(page, '02-experiment');

      // Run: WebLLM is tried and fails (no network), transformers.js takes over, with the reason shown.
      const t0 = performance.now();
      await page.getByTestId('start-run').click();
      const engineRow = page.locator('[data-testid=run-engine][data-key=self]');
      await timed('webllm attempt → fallback shown', () => page.locator('[data-testid=run-engine][data-key=self][data-fallback=yes]').waitFor({ timeout: 90_000 }));
      const fallback = await engineRow.getByTestId('engine-fallback').textContent();
      expect(fallback).toMatch(/WebLLM could not load Qwen2\.5 0\.5B Instruct \(its files could not be downloaded\): running on transformers\.js instead\./);
      expect(await engineRow.getByTestId('run-engine-reason').textContent()).toMatch(new RegExp(`First choice: Qwen2\\.5 0\\.5B Instruct runs with WebLLM.*\\(build ${WEBLLM_BUILD}\\)`));
      await page.waitForFunction(() => Number(document.querySelector('[data-testid=run-done]')?.getAttribute('data-done') ?? 0) >= 1, undefined, { timeout: 90_000 });
      await shot(page, '03-run-fallback');
      await timed('run to done', () => runEnded(page, 150_000));
      timings['run total'] = Math.round(performance.now() - t0);
      expect(await page.getByTestId('run-phase').getAttribute('data-phase')).toBe('done');
      expect(await engineRow.getAttribute('data-engine')).toBe('transformers');
      expect(await engineRow.getAttribute('data-state')).toBe('loaded');
      expect(await engineRow.textContent()).toMatch(/runs on\s*transformers\.js\s*\(webgpu · fp32\)/);
      expect(await engineRow.getByTestId('engine-fallback').textContent()).toBe(fallback);
      await shot(page, '04-run-done');

      // The run's record: every planned trial once, on transformers.js, with the choice and the fallback.
      const db = await newestRun(page);
      expect(db.status).toBe('done');
      expect(db.models.find((m) => m.key === 'self')?.engine).toBe('auto');
      // The preset counterbalances: each of the 2 × 4 decisions is also shown with A and B swapped.
      expect(db.planned).toHaveLength(2 * 4 * 2 + 2 * 1);
      expect([...db.stored].sort()).toEqual([...db.planned].sort());
      expect(db.engines.self).toMatchObject({
        engine: 'transformers',
        model: MODEL,
        device: 'webgpu',
        dtype: 'fp32',
        choice: { requested: 'auto', planned: 'webllm', userChoiceHonored: true, webllmModel: WEBLLM_BUILD, fallback: { code: 'network' } },
      });

      // transformers.js read the catalog id from the local folder.
      expect(server.requests).toContain(`/models/${MODEL}/onnx/model.onnx`);
      expect(server.requests).toContain(`/models/${MODEL}/tokenizer.json`);
      // Off 127.0.0.1: only WebLLM's model and library sources were asked for, and all of them were stopped here.
      const foreign = requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).hostname !== '127.0.0.1');
      console.info('requests off 127.0.0.1 (aborted):', JSON.stringify([...new Set(external)]));
      expect(external.length).toBeGreaterThan(0);
      expect(external.filter((u) => !WEBLLM_SOURCES.some((re) => re.test(u)))).toEqual([]);
      expect([...new Set(foreign)].sort()).toEqual([...new Set(external)].sort());
      expect(external.some((u) => u.includes(WEBLLM_BUILD))).toBe(true);
      expect(errors).toEqual([]);
    } catch (e) {
      await shot(page, 'failure').catch(() => undefined);
      console.error('page errors:', errors, 'external:', external);
      throw e;
    } finally {
      await browser.close();
    }
  }, 300_000);
});
