/**
 * Privileged-access views end to end in headless Chromium (WASM): a run with the
 * fixture model and two simulated models fills every view while it runs and when
 * it is done — the reporter × target heatmap (N × N cells, interval on hover and on
 * keyboard focus, Enter opens the cell's scatter), the observer curve (one point per
 * k for every observer), the grouped bars and the "why this verdict" panel, each
 * with a table and "simulated" on every simulated model. The matrix CSV and the
 * page's numbers equal `cli analyze --run DIR --json` on the exported run (within
 * 1e-9: never bit for bit across JS engines).
 *
 * Then trials/s of a simulated-models run with the Results view open (live
 * updates) and closed, printed as a ratio.
 *
 * Screenshots: test-output/screenshots/pa-*.png.
 * Skipped (with the reason printed) without /usr/bin/chromium, unless REQUIRE_BROWSER=1.
 */
import { buildApp, newestRun, root, runEnded, screenshotter, stepTimer } from './app-build';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Download, Page } from 'playwright-core';
import { hasBrowser, launchChromium } from '../support/browser';
import { serveStatic, type StaticServer } from '../support/static-server';
import { CROSS_ENGINE_TOL, expectAllClose, expectClose } from '../support/close';
import { writeFixtureModel } from '../fixture/model';
import { parseRunJson } from '../../src/app/exports';
import { privilegedAccessOf } from '../../src/app/privileged-access';
import { buildPlan, resolveScenarios } from '../../src/lib/experiment/plan';
import { DEFAULT_OBSERVE_K, severalModelsSpec, SIMULATED_PRESET_MODELS } from '../../src/lib/experiment/presets';
import type { ExperimentSpec } from '../../src/lib/experiment/spec';
import type { PrivilegedAccess } from '../../src/lib/analysis/privileged-types';

const shot = screenshotter('');
const exportsDir = join(root, 'test-output', 'e2e-pa-exports');
const { timings, timed } = stepTimer();
const KS = [...DEFAULT_OBSERVE_K];

let tmp = '';
let server: StaticServer;

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'pa-e2e-'));
  await rm(exportsDir, { recursive: true, force: true });
  await mkdir(exportsDir, { recursive: true });
  await writeFixtureModel(join(tmp, 'models', 'tiny-llama'), { seed: 11 });
  await timed('build', () => buildApp(join(tmp, 'site')));
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models') });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (Object.keys(timings).length) console.info('privileged-access e2e timings (ms):', JSON.stringify(timings));
});

async function open(): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const browser = await launchChromium({ webgpu: false });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && !/404 \(Not Found\)/.test(m.text()) && errors.push(m.text()));
  return { browser, page, errors };
}

async function download(page: Page, click: () => Promise<void>): Promise<Download> {
  const [d] = await Promise.all([page.waitForEvent('download'), click()]);
  return d;
}

/**
 * The "Simulated models" preset through the Experiment form, shrunk, and started;
 * returns the spec the lab shows (the one it runs).
 */
async function startSimulated(page: Page, sizes: { scenarios: number; decisions: number; reports: number }, name: string): Promise<ExperimentSpec> {
  await page.getByRole('link', { name: 'Experiment' }).click();
  await page.locator('[data-preset=simulated]').click();
  await page.fill('input[name=name]', name);
  await page.fill('input[name=scenarios]', String(sizes.scenarios));
  await page.fill('input[name=decisions]', String(sizes.decisions));
  await page.fill('input[name=reports]', String(sizes.reports));
  await expect.poll(() => page.getByTestId('spec-json').textContent()).toContain(`"decisionsPerScenario": ${sizes.decisions}`);
  const spec = JSON.parse((await page.getByTestId('spec-json').textContent())!) as ExperimentSpec;
  expect(spec.name).toBe(name);
  await page.getByTestId('start-run').click();
  return spec;
}

const done = (page: Page, testId: string) =>
  page.evaluate((id) => Number(document.querySelector(`[data-testid=${id}]`)?.getAttribute('data-done') ?? -1), testId);

/** Every number of the privileged-access section, read from the page's data attributes. */
function pageMatrix(page: Page) {
  return page.locator('[data-cell]').evaluateAll((els) =>
    els.map((e) => ({
      reporter: e.getAttribute('data-reporter')!,
      target: e.getAttribute('data-target')!,
      r: Number(e.getAttribute('data-r')),
      ci: [Number(e.getAttribute('data-ci-lo')), Number(e.getAttribute('data-ci-hi'))] as [number, number],
      n: Number(e.getAttribute('data-n')),
      simulated: e.getAttribute('data-simulated') === 'true',
    })),
  );
}

function expectMatrixEqual(pa: PrivilegedAccess, got: Array<{ reporter: string; target: string; r: number; ci: [number, number] }>, what: string) {
  expect(got).toHaveLength(pa.models.length ** 2);
  for (const c of pa.matrix) {
    const g = got.find((x) => x.reporter === c.reporter && x.target === c.target)!;
    expectClose(g.r, c.r, CROSS_ENGINE_TOL, `${what} r ${c.reporter}>${c.target}`);
    expectAllClose(g.ci, c.ci, CROSS_ENGINE_TOL, `${what} ci ${c.reporter}>${c.target}`);
  }
}

/** For each target: one curve point per k for every observer, and per k > 0 for the statistical observer. */
async function expectObserverPoints(page: Page, spec: ExperimentSpec, ks: number[]) {
  // The observer curves are folded under their heading (the Results page opens with its answer): open them.
  await page.locator('[data-testid=pa-section] details.fold').evaluateAll((els) => els.forEach((e) => ((e as HTMLDetailsElement).open = true)));
  const curveSelect = page.locator('select[name=pa-curve-target]');
  for (const m of spec.models) {
    await curveSelect.selectOption(m.key);
    const curve = page.getByTestId('pa-observer-curve');
    await expect.poll(() => curve.getAttribute('data-target')).toBe(m.key);
    const series = await curve.locator('[data-pa-series]').evaluateAll((els) => els.map((e) => ({ key: e.getAttribute('data-pa-series'), ks: Array.from(e.querySelectorAll('[data-point]')).map((p) => Number(p.getAttribute('data-k'))) })));
    expect(series.map((s) => s.key).sort()).toEqual([...spec.models.map((x) => `obs:${x.key}`), 'stat'].sort());
    // The statistical observer needs at least one decision: it starts at the first k > 0.
    for (const s of series) expect(s.ks, `${m.key}: ${s.key}`).toEqual(s.key === 'stat' ? ks.filter((k) => k > 0) : ks);
    expect(await page.getByTestId('pa-worth-sentence').textContent()).toMatch(/self-report \(r = .*\) is worth (about|less|more)/);
  }
}

/**
 * The matrix, observers and verdicts CSVs and run.json exported from the page; the
 * numbers on the page and in the CSVs equal privilegedAccessOf on the exported
 * record in Node and `cli analyze --run` on it as a `cli run` folder, within 1e-9.
 */
async function expectExportsEqualCli(page: Page, dir: string) {
  await mkdir(dir, { recursive: true });
  const cells = await pageMatrix(page);
  const matrixFile = join(dir, 'pa-matrix.csv');
  await (await download(page, () => page.getByTestId('export-pa-matrix').click())).saveAs(matrixFile);
  const observersFile = join(dir, 'pa-observers.csv');
  await (await download(page, () => page.getByTestId('export-pa-observers').click())).saveAs(observersFile);
  const runDir = join(dir, 'run');
  await mkdir(runDir, { recursive: true });
  await (await download(page, () => page.getByTestId('export-json').click())).saveAs(join(runDir, 'run.json'));

  // Node: the same function on the same record (the lab's own numbers, not re-typed).
  const record = parseRunJson(await readFile(join(runDir, 'run.json'), 'utf8'));
  const db = await newestRun(page);
  expect(record.results).toHaveLength(db.planned.length);
  const pa = privilegedAccessOf(record)!;
  expect(pa.complete).toBe(true);
  expectMatrixEqual(pa, cells, 'page');
  const csv = Papa.parse<Record<string, string>>(await readFile(matrixFile, 'utf8'), { header: true, skipEmptyLines: true }).data;
  expectMatrixEqual(pa, csv.map((x) => ({ reporter: x.reporter, target: x.target, r: Number(x.r), ci: [Number(x.ci_low), Number(x.ci_high)] as [number, number] })), 'matrix csv');
  expect(csv.filter((x) => x.reporter_simulated === 'yes').every((x) => x.reporter_label.endsWith('(simulated)'))).toBe(true);
  const obsCsv = Papa.parse<Record<string, string>>(await readFile(observersFile, 'utf8'), { header: true, skipEmptyLines: true }).data;
  expect(obsCsv).toHaveLength(pa.observers.length + pa.statistical_observer.length);
  for (const o of pa.observers) {
    const row = obsCsv.find((x) => x.kind === 'observer' && x.reporter === o.reporter && x.target === o.target && Number(x.k) === o.k)!;
    expectClose(Number(row.r), o.r, CROSS_ENGINE_TOL, `observer ${o.reporter}>${o.target}@${o.k}`);
  }

  // The CLI on the exported run as a `cli run` folder (run.json + results.jsonl) prints the same numbers.
  await writeFile(join(runDir, 'results.jsonl'), record.results.map((r) => JSON.stringify(r) + '\n').join(''));
  const cli = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['cli/main.ts', 'analyze', '--run', runDir, '--json'], { cwd: root, encoding: 'utf8' });
  expect(cli.status, cli.stderr).toBe(0);
  const printed = JSON.parse(cli.stdout).privileged_access as PrivilegedAccess;
  expectMatrixEqual(printed, cells, 'cli vs page');
  for (const s of printed.statistical_observer) {
    const row = obsCsv.find((x) => x.kind === 'statistical' && x.target === s.target && Number(x.k) === s.k)!;
    expectClose(Number(row.r), s.r, CROSS_ENGINE_TOL, `stat ${s.target}@${s.k}`);
  }
  const verdictsFile = join(dir, 'pa-verdicts.csv');
  await (await download(page, () => page.getByTestId('export-pa-verdicts').click())).saveAs(verdictsFile);
  const verdicts = Papa.parse<Record<string, string>>(await readFile(verdictsFile, 'utf8'), { header: true, skipEmptyLines: true }).data;
  expect(verdicts.map((v) => v.target)).toEqual(printed.models.map((m) => m.key));
  for (const v of printed.verdicts) {
    const row = verdicts.find((x) => x.target === v.target)!;
    expect([row.verdict, row.best_other]).toEqual([v.verdict, v.best_other ?? '']);
    expectClose(Number(row.diff), v.diff!, CROSS_ENGINE_TOL, `diff ${v.target}`);
    expectAllClose([Number(row.ci_low), Number(row.ci_high)], v.ci!, CROSS_ENGINE_TOL, `diff ci ${v.target}`);
  }
  await writeFile(join(dir, 'cli-analyze.json'), cli.stdout);
}

describe.skipIf(!hasBrowser)('privileged-access views in headless Chromium', () => {
  it('three simulated models (the Simulated preset): every view, keyboard, tables, exports equal cli analyze --run', async () => {
    const { browser, page, errors } = await open();
    try {
      await page.goto(`${server.url}/#/experiment`);
      const spec = await startSimulated(page, { scenarios: 3, decisions: 10, reports: 2 }, 'PA e2e');
      await timed('simulated run', () => runEnded(page, 300_000));
      expect(await page.getByTestId('run-phase').getAttribute('data-phase')).toBe('done');
      await page.getByTestId('see-results').click();
      const section = page.getByTestId('pa-section');
      await section.waitFor({ timeout: 60_000 });
      expect(await section.getAttribute('data-complete')).toBe('true');
      // The answer (verdict cards, heatmap) comes first; the rest is folded under headings: open every fold to check it.
      await page.locator('details').evaluateAll((els) => els.forEach((e) => ((e as HTMLDetailsElement).open = true)));

      // The older views on three models: no horizontal overflow (also on a narrow window); the accuracy bars grouped
      // per target (its self-report, then learned vs target for its decisions and its example pool); each observer's
      // conditions on one row (N × N reporter–target pairs), not one per k.
      const N = spec.models.length;
      const fits = () => page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      const [scrollW, innerW] = await fits();
      expect(scrollW, 'page width').toBeLessThanOrEqual(innerW);
      const barKeys = await page.locator('[data-bar]').evaluateAll((els) => els.map((e) => e.getAttribute('data-bar')));
      // Learned vs target only for the model trained on the targets (the first; the others are native).
      expect(barKeys).toEqual(spec.models.flatMap((m, i) => [`report-${m.key}`, ...(i === 0 ? [`decide-${m.key}-target`, `pool-${m.key}-target`] : [])]));
      expect(await page.locator('[data-observer-row]').count()).toBe(N * N);
      expect(await page.locator('[data-validity-observer]').count()).toBe(N * N);
      expect(await page.locator('[data-validity]').count()).toBe(N);
      expect(await page.getByTestId('observer-summary').textContent()).toContain('(simulated)');
      const deciders = await page.getByTestId('decision-diagnostics').locator('[data-diagnostics] td:first-child').allTextContents();
      expect(deciders).toHaveLength(2 * N);
      for (const t of deciders) expect(t).toContain('(simulated)');
      await shot(page, 'pa-01-results-page');
      await page.setViewportSize({ width: 760, height: 900 });
      // The charts redraw at their new width after a resize (ResizeObserver): wait for the layout to settle.
      await expect.poll(async () => { const [w, inner] = await fits(); return w <= inner; }, { timeout: 5_000 }).toBe(true);
      const [narrowScrollW, narrowW] = await fits();
      await shot(page, 'pa-01-results-page-narrow');
      await page.setViewportSize({ width: 1280, height: 900 });
      console.info(`Results page of three simulated models: ${barKeys.length} accuracy bars, scrollWidth ${scrollW} px in a ${innerW} px window, ${narrowScrollW} px in ${narrowW} px`);

      // Heatmap: N × N cells, the diagonal marked, "simulated" on the simulated models.
      const heat = page.getByTestId('pa-heatmap');
      expect(await heat.locator('[data-cell]').count()).toBe(N * N);
      expect(await heat.locator('.cell.self').count()).toBe(N);
      expect(await heat.textContent()).toContain('(simulated)');
      const cells = await pageMatrix(page);
      expect(cells.filter((c) => c.simulated)).toHaveLength(N * N);

      // The interval on hover and on keyboard focus; Enter opens that cell's scatter.
      const readout = page.getByTestId('pa-heatmap-readout');
      const first = heat.locator('[data-cell][data-reporter=m1][data-target=m2]');
      await first.hover();
      expect(await readout.textContent()).toMatch(/describing .*: r = .*, 95 % interval .* to .*, n = \d+/);
      const diag = heat.locator('[data-cell][data-reporter=m1][data-target=m1]');
      await diag.focus();
      expect(await readout.textContent()).toMatch(/^\s*trained \(simulated\) describing itself: r = .*95 % interval/);
      await page.keyboard.press('Enter');
      const scatter = page.getByTestId('pa-cell-scatter');
      await expect.poll(() => scatter.locator('circle').count()).toBe(cells.find((c) => c.reporter === 'm1' && c.target === 'm1')!.n);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      expect(await scatter.locator('h3').textContent()).toMatch(/trained \(simulated\)'s reports vs native 1 \(simulated\)'s learned weights/);
      await shot(page, 'pa-02-heatmap', '[data-testid=pa-section] .grid2');

      // Observer curves: one point per k for every observer and the statistical observer, for each target.
      await expectObserverPoints(page, spec, KS);
      // Keyboard: a curve point and a bar each read out their r and interval on focus.
      await page.getByTestId('pa-observer-curve').locator('[data-point]').first().focus();
      expect(await page.getByTestId('pa-curve-readout').textContent()).toMatch(/k = 0: r = .*, 95 % interval/);
      await page.getByTestId('pa-grouped-bars').locator('[data-pa-bar]').first().focus();
      expect(await page.getByTestId('pa-bars-readout').textContent()).toMatch(/^trained \(simulated\) — Self: trained \(simulated\): r = .*, 95 % interval/);
      await shot(page, 'pa-03-observers', '[data-testid=pa-section] section[aria-labelledby=pa-curve-h]');

      // Grouped bars: one per (target, reporter); the verdict panel names the common-sense baseline.
      expect(await page.getByTestId('pa-grouped-bars').locator('[data-pa-bar]').count()).toBe(N * N);
      expect(await page.getByTestId('pa-verdict').count()).toBe(N);
      expect(await page.getByTestId('pa-common-sense').first().textContent()).toMatch(/Common-sense baseline/);
      expect(await page.getByTestId('pa-simulated').textContent()).toMatch(/simulated/);
      await shot(page, 'pa-04-bars', '[data-testid=pa-section] section[aria-labelledby=pa-bars-h]');
      await shot(page, 'pa-05-verdicts', '[data-testid=pa-section] section[aria-labelledby=pa-why-h]');

      // Table alternatives.
      for (const t of ['pa-matrix-table', 'pa-observer-table', 'pa-bars-table']) {
        await page.getByTestId(t).locator('xpath=ancestor::details[1]/summary').click();
        expect(await page.getByTestId(t).textContent()).toContain('(simulated)');
      }
      expect(await page.getByTestId('pa-matrix-table').locator('tbody tr').count()).toBe(N);
      await shot(page, 'pa-06-section-with-tables', '[data-testid=pa-section]');

      // Charts as standalone SVG, "simulated" included.
      const svgFile = join(exportsDir, 'pa-matrix.svg');
      await (await download(page, () => page.locator('[data-testid=pa-section] .grid2 > section').first().getByRole('button', { name: 'Save SVG' }).click())).saveAs(svgFile);
      const svgText = await readFile(svgFile, 'utf8');
      expect(svgText).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(svgText).toContain('(simulated)');
      expect(svgText.match(/data-cell=""/g)).toHaveLength(N * N);
      const pngFile = join(exportsDir, 'pa-matrix.png');
      await (await download(page, () => page.locator('[data-testid=pa-section] .grid2 > section').first().getByRole('button', { name: 'Save PNG' }).click())).saveAs(pngFile);
      expect((await readFile(pngFile)).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');

      await expectExportsEqualCli(page, join(exportsDir, 'simulated'));

      // Dark theme: the same charts stay readable (viridis and Okabe–Ito on a dark background).
      await page.getByRole('button', { name: /^Theme/ }).click();
      await shot(page, 'pa-09-dark', '[data-testid=pa-section]');
      expect(errors).toEqual([]);
    } catch (e) {
      await shot(page, 'pa-failure').catch(() => undefined);
      console.error('page errors:', errors);
      throw e;
    } finally {
      await browser.close();
    }
  }, 600_000);

  it('the fixture model and two simulated models (a loaded spec): live while it runs, then N × N cells, a point per k, numbers equal cli analyze --run', async () => {
    const { browser, page, errors } = await open();
    const ks = [0, 2, 4];
    const spec = severalModelsSpec('PA fixture', { scenarios: 3, decisions: 6, reports: 1 }, [{ id: '/models/tiny-llama', device: 'wasm' }, ...SIMULATED_PRESET_MODELS.slice(0, 2)], {
      seed: 'pa-fixture',
      observe: ks,
    });
    try {
      await page.goto(`${server.url}/?localModels=/models/#/models`);
      await page.getByTestId('capability-verdict').waitFor();
      await page.fill('input[name=custom-model]', 'tiny-llama');
      await page.getByRole('button', { name: 'Add model' }).click();
      await timed('fixture: download', async () => {
        await page.getByRole('button', { name: 'Download tiny-llama' }).click();
        await page.locator('[data-testid=download-panel][data-state=done]').waitFor({ timeout: 120_000 });
      });
      await page.getByRole('link', { name: 'Experiment' }).click();
      await page.getByText('Experiment spec (JSON): save, load, share').click();
      await page.fill('textarea[name=spec-paste]', JSON.stringify(spec));
      await page.getByRole('button', { name: 'Load pasted spec' }).click();
      expect(await page.inputValue('select[name=other-0]')).toBe(spec.models[2].id);
      const shown = JSON.parse((await page.getByTestId('spec-json').textContent())!) as ExperimentSpec;
      expect(shown.conditions).toEqual(spec.conditions);
      await page.getByTestId('start-run').click();

      // Results while the fixture model runs: provisional numbers, refreshed as its trials arrive.
      await page.waitForFunction(() => Number(document.querySelector('[data-testid=run-done]')?.getAttribute('data-done') ?? 0) >= 6, undefined, { timeout: 180_000 });
      await page.getByTestId('see-live-results').click();
      const section = page.getByTestId('pa-section');
      await section.waitFor({ timeout: 60_000 });
      expect(await section.getAttribute('data-complete')).toBe('false');
      await page.getByTestId('pa-live').waitFor();
      await page.waitForFunction(() => Number(document.querySelector('[data-testid=pa-section]')?.getAttribute('data-refreshes') ?? 0) >= 1, undefined, { timeout: 60_000 });
      await shot(page, 'pa-07-fixture-live', '[data-testid=pa-section]');
      await timed('fixture: run with Results open', () =>
        page.waitForFunction(() => document.querySelector('[data-testid=pa-section]')?.getAttribute('data-complete') === 'true', undefined, { timeout: 400_000 }),
      );
      expect(await page.getByTestId('pa-live').count()).toBe(0);

      const N = spec.models.length;
      expect(await page.getByTestId('pa-heatmap').locator('[data-cell]').count()).toBe(N * N);
      expect(await page.getByTestId('pa-heatmap').locator('[data-cell][data-simulated=false]').count()).toBe(1);
      expect(await page.getByTestId('pa-heatmap').textContent()).toContain('tiny-llama');
      await expectObserverPoints(page, spec, ks);
      expect(await page.getByTestId('pa-grouped-bars').locator('[data-pa-bar]').count()).toBe(N * N);
      expect(await page.getByTestId('pa-verdict').count()).toBe(N);
      await shot(page, 'pa-08-fixture-done', '[data-testid=pa-section]');
      await expectExportsEqualCli(page, join(exportsDir, 'fixture'));
      expect(errors).toEqual([]);
    } catch (e) {
      await shot(page, 'pa-failure-fixture').catch(() => undefined);
      console.error('page errors:', errors);
      throw e;
    } finally {
      await browser.close();
    }
  }, 600_000);

  it('trials/s of a simulated-models run with the Results view open (live updates) and closed (Run view, Models view)', async () => {
    const { browser, page, errors } = await open();
    const rates: Record<string, number> = {};
    let total = 0;
    let live = '';
    try {
      await page.goto(`${server.url}/#/experiment`);
      // A warm-up run (code caches, the first IndexedDB writes); then the same run watched from the Run view (its
      // live progress and latest trial), from the Results view (live re-analysis), and from the Models view (neither).
      for (const mode of ['warm-up', 'run view', 'results view', 'models view'] as const) {
        const t0 = Date.now();
        const spec = await startSimulated(page, { scenarios: 10, decisions: 20, reports: 3 }, `PA speed ${mode}`);
        total = buildPlan(spec, resolveScenarios(spec)).trials.length;
        if (mode === 'results view') {
          // Results while the run goes: provisional numbers, refreshed as trials arrive.
          await page.getByTestId('see-live-results').click();
          const section = page.getByTestId('pa-section');
          await section.waitFor({ timeout: 60_000 });
          expect(await section.getAttribute('data-complete')).toBe('false');
          expect(await page.locator('[data-cell]').count()).toBe(9);
          await page.getByTestId('pa-live').waitFor();
        }
        if (mode === 'models view') await page.getByRole('link', { name: 'Models' }).click();
        await expect.poll(async () => (await newestRun(page)).status, { timeout: 300_000, interval: 500 }).toBe('done');
        rates[mode] = total / ((Date.now() - t0) / 1000);
        if (mode === 'results view') {
          // The last trials reach the page too: the view ends complete without being reopened.
          await page.waitForFunction(() => document.querySelector('[data-testid=pa-section]')?.getAttribute('data-complete') === 'true', undefined, { timeout: 60_000 });
          const section = page.getByTestId('pa-section');
          const refreshes = Number(await section.getAttribute('data-refreshes'));
          expect(refreshes).toBeGreaterThanOrEqual(2);
          expect(await page.getByTestId('pa-live').count()).toBe(0);
          live = `${refreshes} live refreshes took ${await section.getAttribute('data-live-ms')} ms in all (read, analyse, redraw) of a ${(total / rates[mode]).toFixed(1)} s run`;
        }
      }
      const f = (x: number) => x.toFixed(1);
      console.info(
        `trials/s, ${total} trials of three simulated models (start to finish): Run view ${f(rates['run view'])}, ` +
          `Results view open (live updates) ${f(rates['results view'])}, Models view (neither) ${f(rates['models view'])}; ` +
          `Results open / Models view = ${(rates['results view'] / rates['models view']).toFixed(2)}, Results open / Run view = ${(rates['results view'] / rates['run view']).toFixed(2)}; ${live}`,
      );
      expect(errors).toEqual([]);
    } catch (e) {
      await shot(page, 'pa-failure-speed').catch(() => undefined);
      console.error('page errors:', errors);
      throw e;
    } finally {
      await browser.close();
    }
  }, 600_000);
});
