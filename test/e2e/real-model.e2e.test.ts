/**
 * The real model in headless Chromium (WASM): SmolLM2-135M-Instruct's ONNX
 * folder, as python/real_model.py exports it, served by the lab's origin under
 * /models/, added as a local model, downloaded, and run with the Classroom
 * preset shrunk (2 scenarios × 3 decisions in both orders, 2 constrained
 * self-reports each: WASM runs about 1.5 s a decision here) to the end.
 *
 * The untouched model answers "A" whatever the options and its reports copy
 * the options' numbers: the Results page must say both, first, in words. The
 * page's figures equal Node's analysis of the run record it exports (within
 * 1e-9, never bit for bit). No learned-vs-target bar: it was never trained on
 * the target weights.
 *
 * Screenshots: test-output/screenshots/real-model-*.png.
 * Skips, printing why, without Chromium (unless REQUIRE_BROWSER=1) or without the
 * project venv that makes the model (unless REQUIRE_PYTHON=1).
 */
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Download, Page } from 'playwright-core';
import { expectResponseWarnings } from './response-warnings';
import { buildApp, root, runEnded, screenshotter, stepTimer } from './app-build';
import { hasBrowser, launchChromium } from '../support/browser';
import { serveStatic, type StaticServer } from '../support/static-server';
import { expectClose } from '../support/close';
import { realModel, realModelSkip, REAL_MODEL_TIMEOUT } from '../support/real-model';
import { analyzeRun } from '../../src/app/run-analysis';
import { parseRunJson } from '../../src/app/exports';

const shot = screenshotter('real-model-');
const { timings, timed } = stepTimer();
const SIZES = { scenarios: 2, decisions: 3, reports: 2 };
const NAME = 'smollm2-135m-instruct';
const skip = !hasBrowser || realModelSkip !== null;
if (hasBrowser && realModelSkip) console.warn(`SKIP real-model e2e: ${realModelSkip}`);

let tmp = '';
let server: StaticServer;

beforeAll(async () => {
  if (skip) return;
  const { onnx } = await realModel();
  tmp = await mkdtemp(join(tmpdir(), 'real-model-e2e-'));
  await mkdir(join(tmp, 'models'));
  // The folder exactly as exported (chat_template.jinja, onnx/model*.onnx), served as /models/NAME/.
  await symlink(onnx, join(tmp, 'models', NAME));
  await timed('build', () => buildApp(join(tmp, 'site')));
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models') });
}, REAL_MODEL_TIMEOUT);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (Object.keys(timings).length) console.info('real-model e2e timings (ms):', JSON.stringify(timings));
});

async function download(page: Page): Promise<Download> {
  const got = new Promise<Download>((resolve) => page.once('download', resolve));
  await page.getByTestId('export-json').click();
  return got;
}

describe.skipIf(skip)('the real model (SmolLM2-135M-Instruct) in Chromium, WASM', () => {
  it('Classroom preset, shrunk, to the end: the page says first that it barely responds and copies, and its numbers are Node’s', async () => {
    const browser = await launchChromium();
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      // Models: the served folder, downloaded into the browser.
      await page.goto(`${server.url}/?localModels=/models/#/models`);
      await page.getByTestId('capability-verdict').waitFor();
      await page.fill('input[name=custom-model]', NAME);
      await page.getByRole('button', { name: 'Add model' }).click();
      await page.locator(`tr[data-model="/models/${NAME}"]`).waitFor();
      // It stores the build a run on WASM loads (fp32: the only one giving the model's own numbers) and says so.
      const stored = page.locator(`tr[data-model="/models/${NAME}"] [data-testid=stored-build]`);
      expect(await stored.getAttribute('data-dtype')).toBe('fp32');
      expect(await stored.textContent()).toContain("the model's own numbers");
      await timed('download', async () => {
        await page.getByRole('button', { name: `Download ${NAME}` }).click();
        await page.locator('[data-testid=download-panel][data-state=done]').waitFor({ timeout: 300_000 });
      });
      expect(await page.getByTestId('download-panel').textContent()).toContain('wasm · fp32');

      // The Classroom preset, shrunk; fp32 (the q4/q8 files quantize the already 4-bit weights again).
      await page.getByRole('link', { name: 'Experiment' }).click();
      await page.locator('[data-preset=classroom]').click();
      await expect.poll(() => page.getByTestId('spec-json').textContent()).toContain('"name": "Classroom demo"');
      await page.selectOption('select[name=model]', `/models/${NAME}`);
      await page.selectOption('select[name=device]', 'wasm');
      await page.selectOption('select[name=dtype]', 'fp32');
      await page.fill('input[name=scenarios]', String(SIZES.scenarios));
      await page.fill('input[name=decisions]', String(SIZES.decisions));
      await page.fill('input[name=reports]', String(SIZES.reports));
      await page.getByTestId('start-run').click();
      expect(await timed('run', () => runEnded(page, 540_000))).toBe('done');
      await shot(page, 'run-done');

      await page.getByTestId('see-results').click();
      await page.getByTestId('response-warnings').waitFor({ timeout: 60_000 });
      const file = await download(page);
      const path = join(root, 'test-output', 'real-model-run.json');
      await file.saveAs(path);
      const record = parseRunJson(await readFile(path, 'utf8'));
      expect(record.results).toHaveLength(SIZES.scenarios * (SIZES.decisions * 2 + SIZES.reports));
      expect(record.engines.self).toMatchObject({ device: 'wasm', dtype: 'fp32' });
      const node = analyzeRun(record);
      const d = node.decisions[0];
      const r = node.reports[0];
      console.info(
        `real model, WASM fp32, ${d.decisions} decisions / ${r.tally.total} reports: "A" ${d.position!.aRate}, mean P(A) ${d.position!.meanPA.toFixed(4)}, ` +
          `fit ${d.fit}, LR p median ${d.sensitivity!.lrPMedian.toFixed(4)}, significant ${d.sensitivity!.significant}/${d.sensitivity!.scenarios}, ` +
          `mean |slope| ${d.sensitivity!.meanAbsSlope.toFixed(5)}, reports valid ${r.tally.valid}/${r.tally.total}, copied ${r.copying.copied}/${r.copying.values}`,
      );

      // Both warnings, first on the page, in Node's words and numbers (within 1e-9).
      await expectResponseWarnings(page, d, r);
      if (node.headline) expectClose(Number(await page.getByTestId('headline-r').getAttribute('data-r')), node.headline.r);
      // Never trained on the target weights: no learned-vs-target bar or row.
      expect(await page.locator('[data-bar]').evaluateAll((els) => els.map((e) => e.getAttribute('data-bar')))).toEqual(['self-report']);
      expect(await page.getByTestId('reliability-ceilings').textContent()).not.toContain('vs target');
      await shot(page, 'results');
      await page.getByTestId('open-scenario').first().click();
      const slopes = await page.locator('[data-testid=weights-table] td[data-slope]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-slope'))));
      node.scenarios[0].slopes.decide!.forEach((x, i) => expectClose(slopes[i], x));
      await shot(page, 'results-scenario', '[data-testid=scenario-detail]');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 900_000);
});
