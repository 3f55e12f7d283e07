/**
 * The lab end to end in headless Chromium: the production build served on
 * 127.0.0.1 with the fixture model folder under /models/, driven like a user.
 *
 * - WASM (no WebGPU): capability check, custom local model, download with
 *   progress, the Classroom preset (shrunk in the custom form), a page reload
 *   mid-run and resume (IndexedDB then holds exactly the planned trial ids,
 *   none twice), results with r, its interval and n, the drill-down, CSV
 *   export read back by `npm run cli -- analyze` to the same r, run.json,
 *   the runs library, dark + large type, and the app shell offline.
 * - WebGPU (SwiftShader): the Classroom preset end to end on the GPU path.
 * - Scenario files: the paper's CSV format loaded through the file input with a
 *   row range (count shown, set inline in the spec), a broken file's problems
 *   listed without losing the loaded set, and a spec with an inline set loaded back.
 * - Every request any page, worker or service worker makes goes to the local
 *   server; anything else fails the test.
 *
 * Screenshots of each view: test-output/screenshots/.
 * Skipped (with the reason printed) without /usr/bin/chromium, unless REQUIRE_BROWSER=1.
 */
import { buildApp, newestRun, root, screenshotter, stepTimer, waitPhase } from './app-build';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Download, Page } from 'playwright-core';
import { hasBrowser, launchChromium } from '../support/browser';
import { serveStatic, type StaticServer } from '../support/static-server';
import { CROSS_ENGINE_TOL, expectAllClose, expectClose } from '../support/close';
import { writeFixtureModel } from '../fixture/model';
import { analyzeFiles } from '../../cli/analyze';
import { parseRunJson } from '../../src/app/exports';

const shot = screenshotter('');
const exportsDir = join(root, 'test-output', 'e2e-exports');
const { timings, timed } = stepTimer();

let tmp = '';
let server: StaticServer;

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'lab-e2e-'));
  await rm(exportsDir, { recursive: true, force: true });
  await mkdir(exportsDir, { recursive: true });
  await writeFixtureModel(join(tmp, 'models', 'tiny-llama'), { seed: 11 });
  // A second, differently seeded model: the control reporter.
  await writeFixtureModel(join(tmp, 'models', 'tiny-llama-b'), { seed: 12 });
  await timed('build', () => buildApp(join(tmp, 'site')));
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models') });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (Object.keys(timings).length) console.info('lab e2e timings (ms):', JSON.stringify(timings));
});

interface Session {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every URL requested by pages, workers and the service worker. */
  requests: string[];
  errors: string[];
}

async function open(webgpu: boolean): Promise<Session> {
  const browser = await launchChromium({ webgpu });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && !/404 \(Not Found\)/.test(m.text()) && errors.push(m.text()));
  return { browser, context, page, requests, errors };
}

/** Only the local server was asked for anything. */
function expectLocalOnly(s: Session) {
  const origin = new URL(server.url).origin;
  const foreign = s.requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin);
  expect(foreign).toEqual([]);
}

/**
 * A full-page screenshot. Focus is dropped first: after Chromium's full-page capture, moving focus out of
 * a field scrolls the page between mousedown and mouseup, and the next click would land elsewhere.
 */
async function addLocalModel(page: Page, name = 'tiny-llama', goto = true) {
  if (goto) await page.goto(`${server.url}/?localModels=/models/#/models`);
  await page.getByTestId('capability-verdict').waitFor();
  await page.fill('input[name=custom-model]', name);
  await page.getByRole('button', { name: 'Add model' }).click();
  await page.locator(`tr[data-model="/models/${name}"]`).waitFor();
}

async function prepareClassroom(page: Page, device: 'wasm' | 'webgpu', sizes: { scenarios: number; decisions: number; reports: number }, control?: string) {
  await page.getByRole('link', { name: 'Experiment' }).click();
  await page.locator('[data-preset=classroom]').click();
  await expect.poll(() => page.getByTestId('spec-json').textContent()).toContain('"name": "Classroom demo"');
  await page.selectOption('select[name=model]', '/models/tiny-llama');
  await page.selectOption('select[name=control]', control ?? '');
  await page.selectOption('select[name=device]', device);
  await page.fill('input[name=scenarios]', String(sizes.scenarios));
  await page.fill('input[name=decisions]', String(sizes.decisions));
  await page.fill('input[name=reports]', String(sizes.reports));
}

async function downloadsOf(page: Page, count: number, click: () => Promise<void>): Promise<Download[]> {
  const got: Download[] = [];
  const done = new Promise<void>((resolve) => {
    const on = (d: Download) => {
      got.push(d);
      if (got.length === count) {
        page.off('download', on);
        resolve();
      }
    };
    page.on('download', on);
  });
  await click();
  await done;
  return got;
}

describe.skipIf(!hasBrowser)('the lab in headless Chromium', () => {
  it('WASM: model, Classroom preset, reload mid-run and resume, results, exports, offline', async () => {
    const s = await open(false);
    const { page } = s;
    try {
      // Models: capability check and a model served from this site.
      await timed('wasm: open + add model', () => addLocalModel(page));
      await expect.poll(() => page.getByTestId('capability-verdict').textContent()).toMatch(/No WebGPU.*CPU \(WASM\)/s);
      await shot(page, '01-models');
      await timed('wasm: download', async () => {
        await page.getByRole('button', { name: 'Download tiny-llama' }).click();
        await page.locator('[data-testid=download-panel][data-state=done]').waitFor({ timeout: 120_000 });
      });
      await page.locator('tr[data-cached="/models/tiny-llama"]').waitFor();
      await addLocalModel(page, 'tiny-llama-b', false);
      await shot(page, '02-models-downloaded');

      // Experiment: the Classroom preset, shrunk for the test, with a control reporter.
      await prepareClassroom(page, 'wasm', { scenarios: 3, decisions: 10, reports: 3 }, '/models/tiny-llama-b');
      expect(await page.getByTestId('spec-json').textContent()).toContain('"key": "control-report"');
      await shot(page, '03-experiment');

      // Run, reload mid-run, resume.
      const t0 = performance.now();
      await page.getByTestId('start-run').click();
      await page.waitForFunction(() => Number(document.querySelector('[data-testid=run-done]')?.getAttribute('data-done') ?? 0) >= 8, undefined, { timeout: 120_000 });
      await shot(page, '04-run');
      const before = await newestRun(page);
      expect(before.planned).toHaveLength(3 * 10 * 2 + 2 * 3 * 3); // counterbalanced decisions: each pair twice
      expect(before.planned.filter((id) => id.endsWith('-swapped'))).toHaveLength(3 * 10);
      expect(before.stored.length).toBeLessThan(before.planned.length);
      await page.reload();
      const offer = page.getByTestId('resume-offer');
      await offer.waitFor();
      expect(await offer.textContent()).toMatch(new RegExp(`of ${before.planned.length} trials`));
      await shot(page, '05-resume-offer');
      await offer.getByRole('button', { name: 'Resume' }).click();
      expect(await waitPhase(page, ['done', 'failed'], 180_000)).toBe('done');
      timings['wasm: run incl. reload'] = Math.round(performance.now() - t0);
      await shot(page, '06-run-done');

      const db = await newestRun(page);
      expect(db.status).toBe('done');
      expect(db.engines.self).toMatchObject({ device: 'wasm', dtype: 'fp32' });
      expect(db.engines.control).toMatchObject({ device: 'wasm', dtype: 'fp32', model: '/models/tiny-llama-b' });
      expect(new Set(db.stored).size).toBe(db.stored.length);
      expect([...db.stored].sort()).toEqual([...db.planned].sort());

      // Results: r with its interval and n; the drill-down.
      await page.getByTestId('see-results').click();
      const headline = page.getByTestId('headline-r');
      await headline.waitFor();
      const r = Number(await headline.getAttribute('data-r'));
      const ci = [Number(await headline.getAttribute('data-ci-lo')), Number(await headline.getAttribute('data-ci-hi'))];
      expect(Number.isFinite(r)).toBe(true);
      expect(await headline.textContent()).toMatch(/^r = −?\d\.\d\d$/);
      expect(await page.getByTestId('headline-ci').textContent()).toMatch(/95 % interval −?\d\.\d\d to −?\d\.\d\d · n = 15 points \(3 scenarios\)/);
      // Self vs control: a bar each (no learned vs target: the fixture was never trained on the target weights), and the privileged-access verdict.
      expect(await page.locator('[data-bar]').evaluateAll((els) => els.map((e) => e.getAttribute('data-bar')))).toEqual(['self-report', 'control-report']);
      expect(await page.getByTestId('privileged').textContent()).toMatch(/Privileged access.*(yes|not shown|no|undetermined)/s);
      // The accuracy scatter: a series for the self-report and one for the control (the privileged section's one-cell chart has its own).
      expect(await page.locator('section[aria-labelledby="scatter-h"] [data-series]').count()).toBe(2);
      await page.getByTestId('open-scenario').first().click();
      const detail = page.getByTestId('scenario-detail');
      await detail.waitFor();
      expect(await detail.locator('[data-testid=weights-table] tbody tr').count()).toBe(5);
      await detail.locator('details summary').first().click();
      expect(await detail.locator('details[open]').first().textContent()).toContain('[DECISION TASK]');
      await shot(page, '07-results');

      // Exports: the paper's CSVs, read back by the CLI to the same r.
      const csvs = await timed('wasm: export csv', () => downloadsOf(page, 6, () => page.getByTestId('export-csv').click()));
      const files: Record<string, string> = {};
      for (const d of csvs) {
        const name = /(scenarios|selections|weight_reports(_[\w-]+)?|target_weights)\.csv$/.exec(d.suggestedFilename())![0];
        files[name] = join(exportsDir, name);
        await d.saveAs(files[name]);
      }
      expect(Object.keys(files).sort()).toEqual([
        'scenarios.csv', 'selections.csv', 'target_weights.csv', 'weight_reports.csv', 'weight_reports_control-report.csv', 'weight_reports_self-report.csv',
      ]);
      expect((await readFile(files['selections.csv'], 'utf8')).split('\n')[0]).toMatch(/,p_A,label_mass,index,swapped$/);
      // The headline is the self-report condition: its own reports file gives the same r.
      const selfReports = files['weight_reports_self-report.csv'];
      const direct = analyzeFiles({ scenarios: files['scenarios.csv'], selections: files['selections.csv'], reports: [selfReports], targets: files['target_weights.csv'] });
      // r was computed in Chromium, `direct` in Node: equal within 1e-9, never bit for bit.
      expectClose(direct.reportedVsLearned!.r, r, CROSS_ENGINE_TOL, 'r');
      expectAllClose(direct.reportedVsLearned!.ci, ci, CROSS_ENGINE_TOL, 'ci');
      const tCli = performance.now();
      const cli = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['cli/main.ts', 'analyze', '--scenarios', files['scenarios.csv'], '--selections', files['selections.csv'], '--reports', selfReports, '--json'], { cwd: root, encoding: 'utf8' });
      timings['cli analyze'] = Math.round(performance.now() - tCli);
      expect(cli.status, cli.stderr).toBe(0);
      const json = JSON.parse(cli.stdout);
      // The CLI prints r to 4 decimals.
      expectClose(json.reported_vs_learned.r, r, 5e-5 + CROSS_ENGINE_TOL, 'cli r');
      expect(json.reported_vs_learned.n_points).toBe(15);

      const [runJsonFile] = await timed('wasm: export json', () => downloadsOf(page, 1, () => page.getByTestId('export-json').click()));
      await runJsonFile.saveAs(join(exportsDir, 'run.json'));
      const record = parseRunJson(await readFile(join(exportsDir, 'run.json'), 'utf8'));
      expect(record.id).toBe(db.runId);
      expect(record.results).toHaveLength(db.planned.length);

      // Runs library; then dark + large type (projector).
      timings['library'] = 0;
      await page.getByRole('link', { name: 'Runs library' }).click();
      const row = page.locator(`tr[data-run="${db.runId}"]`);
      await row.waitFor();
      expect(await row.textContent()).toContain('Classroom demo');
      await shot(page, '08-runs-library');
      await page.getByRole('button', { name: /^Theme/ }).click();
      await page.getByRole('button', { name: 'Large type' }).click();
      await page.getByRole('link', { name: 'Results' }).click();
      await headline.waitFor();
      await shot(page, '09-results-dark-large');

      // Offline: once visited, the app shell opens without the network.
      await timed('offline reload', async () => {
        await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
        await s.context.setOffline(true);
        await page.goto(`${server.url}/#/runs`, { timeout: 30_000 });
        await page.locator(`tr[data-run="${db.runId}"]`).waitFor({ timeout: 30_000 });
        await shot(page, '10-offline-runs');
        await s.context.setOffline(false);
      });

      expect(s.errors).toEqual([]);
      expectLocalOnly(s);
    } catch (e) {
      await shot(page, 'failure-wasm').catch(() => undefined);
      console.error('page errors:', s.errors);
      throw e;
    } finally {
      await s.browser.close();
    }
  }, 300_000);

  it("scenario file: the paper's CSV with a row range, a broken file's problems, an inline spec loaded back", async () => {
    const s = await open(false);
    const { page } = s;
    const header = 'scenario,question,attr1,attr2,attr3,attr4,attr5,attr1_min,attr2_min,attr3_min,attr4_min,attr5_min,attr1_max,attr2_max,attr3_max,attr4_max,attr5_max';
    const csv = [
      header,
      'left_out,Imagine you are Ada. Which lamp would you prefer?,brightness,warmth,height,weight,price,0.0,1.0,10.0,0.5,5.0,100.0,10.0,200.0,5.0,80.0',
      'garden_hose,"Imagine you are Hamlet, Prince of Denmark. Which garden hose would you prefer?",hose_length,burst_pressure,kink_resistance,weight,nozzle_settings,5.0,100.0,1.0,0.5,1.0,50.0,600.0,10.0,8.0,12.0',
      'rain_jacket,Imagine you are Sappho. Which rain jacket would you prefer?,waterproof_rating,breathability,weight,pocket_count,hood_size,1.0,1.0,200.0,0.0,1.0,20.0,10.0,900.0,8.0,5.0',
    ].join('\n');
    try {
      await timed('scenario file', async () => {
        await page.goto(`${server.url}/#/experiment`);
        // Keyboard: arrow keys move between the two radio buttons.
        await page.getByRole('radio', { name: /Built-in set/ }).focus();
        await page.keyboard.press('ArrowDown');
        expect(await page.getByRole('radio', { name: 'Load a file…' }).isChecked()).toBe(true);
        await page.getByLabel('Rows of a paper CSV (optional)').fill('2-3');
        await page.getByLabel('Scenario file').setInputFiles({ name: 'scenarios.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
        const info = page.getByTestId('scenario-set-info');
        await expect.poll(() => info.getAttribute('data-count')).toBe('2');
        expect(await info.textContent()).toMatch(/scenarios\.csv \(rows 2–3\): 2 scenarios/);
        expect(await page.inputValue('input[name=scenarios]')).toBe('2');
        const spec = JSON.parse((await page.getByTestId('spec-json').textContent())!);
        expect(spec.scenarios.source).toBe('inline');
        expect(spec.scenarios.set.scenarios.map((x: { id: string }) => x.id)).toEqual(['garden_hose', 'rain_jacket']);

        // Another row range re-reads the chosen file (the change fires when focus leaves the field).
        await page.getByLabel('Rows of a paper CSV (optional)').fill('3');
        await page.keyboard.press('Tab');
        await expect.poll(() => info.getAttribute('data-count')).toBe('1');
        await page.getByLabel('Rows of a paper CSV (optional)').fill('2-3');
        await page.keyboard.press('Tab');
        await expect.poll(() => info.getAttribute('data-count')).toBe('2');
        expect(await page.inputValue('input[name=scenarios]')).toBe('2');

        // A broken file: its problems with their locations; the loaded set stays.
        await page.getByLabel('Scenario file').setInputFiles({ name: 'scenarios.csv', mimeType: 'text/csv', buffer: Buffer.from(csv.replace('600.0', 'lots')) });
        const errors = page.getByTestId('scenario-errors');
        await errors.waitFor();
        expect(await errors.textContent()).toMatch(/row 2, attr2_max: the attr2_max cell must be a finite number/);
        expect(await info.getAttribute('data-count')).toBe('2');
        await shot(page, '14-experiment-scenario-file');

        // A saved spec with an inline set loads back into the form.
        await page.getByRole('radio', { name: /Built-in set/ }).check();
        await page.getByText('Experiment spec (JSON): save, load, share').click();
        await page.fill('textarea[name=spec-paste]', JSON.stringify({ ...spec, name: 'From a file' }));
        await page.getByRole('button', { name: 'Load pasted spec' }).click();
        await expect.poll(() => info.getAttribute('data-count')).toBe('2');
        expect(await page.getByRole('radio', { name: 'Load a file…' }).isChecked()).toBe(true);
        expect(await page.inputValue('input[name=name]')).toBe('From a file');
      });
      expect(s.errors).toEqual([]);
      expectLocalOnly(s);
    } catch (e) {
      await shot(page, 'failure-scenario-file').catch(() => undefined);
      console.error('page errors:', s.errors);
      throw e;
    } finally {
      await s.browser.close();
    }
  }, 60_000);

  it('WebGPU (SwiftShader): the Classroom preset on the GPU path', async () => {
    const s = await open(true);
    const { page } = s;
    try {
      await timed('webgpu: open + add model', () => addLocalModel(page));
      await expect.poll(() => page.getByTestId('capability-verdict').textContent()).toMatch(/WebGPU/);
      await shot(page, '11-models-webgpu');
      await prepareClassroom(page, 'webgpu', { scenarios: 2, decisions: 5, reports: 1 });
      await timed('webgpu: run with pause and resume', async () => {
        await page.getByTestId('start-run').click();
        // Pause after the first trials, then resume: the run finishes with every planned trial once.
        await page.waitForFunction(() => Number(document.querySelector('[data-testid=run-done]')?.getAttribute('data-done') ?? 0) >= 2, undefined, { timeout: 180_000 });
        await page.getByRole('button', { name: 'Pause' }).click();
        expect(await waitPhase(page, ['paused', 'failed'], 60_000)).toBe('paused');
        const paused = await newestRun(page);
        expect(paused.status).toBe('paused');
        expect(paused.stored.length).toBeLessThan(paused.planned.length);
        await page.getByRole('button', { name: 'Resume' }).click();
        expect(await waitPhase(page, ['done', 'failed'], 240_000)).toBe('done');
      });
      await shot(page, '12-run-webgpu');
      const db = await newestRun(page);
      expect(db.engines.self).toMatchObject({ device: 'webgpu', dtype: 'fp32' });
      expect([...db.stored].sort()).toEqual([...db.planned].sort());
      await page.getByTestId('see-results').click();
      await page.getByTestId('headline-r').waitFor();
      expect(await page.getByTestId('headline-ci').textContent()).toMatch(/n = 10 points \(2 scenarios\)/);
      await shot(page, '13-results-webgpu');
      expect(s.errors).toEqual([]);
      expectLocalOnly(s);
    } catch (e) {
      await shot(page, 'failure-webgpu').catch(() => undefined);
      console.error('page errors:', s.errors);
      throw e;
    } finally {
      await s.browser.close();
    }
  }, 300_000);
});
