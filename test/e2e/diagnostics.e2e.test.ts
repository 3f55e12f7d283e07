/**
 * The Results view's decision diagnostics and reliability ceilings in headless
 * Chromium, on the production build: runs of a strongly position-biased
 * simulated model (bias 12 logits towards "A"), made in Node with the real
 * runner and imported as run.json. Without counterbalancing the view warns in
 * words and says the learned weights come from the soft fit; every r shows its
 * ceiling. A native model whose choices ignore the attributes (beta = 0) with reports
 * that copy option A's values: the page says both, first. The page's figures are
 * checked against Node's analysis of the same record (within 1e-9, never bit for bit).
 *
 * Screenshots: test-output/screenshots/diagnostics-*.png.
 * Skipped (with the reason printed) without /usr/bin/chromium, unless REQUIRE_BROWSER=1.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectResponseWarnings } from './response-warnings';
import { screenshotter, serveBuiltApp } from './app-build';
import { hasBrowser, launchChromium } from '../support/browser';
import type { StaticServer } from '../support/static-server';
import { runSimulated } from '../support/sim-run';
import { expectClose } from '../support/close';
import { analyzeRun } from '../../src/app/run-analysis';
import { positionWarning } from '../../src/app/decision-diagnostics';
import { copyingReports } from '../support/copying';
import { runJson } from '../../src/app/exports';
import { presetSpec } from '../../src/lib/experiment/presets';
import type { RunRecord } from '../../src/lib/experiment/runs';

const shot = screenshotter('diagnostics-');
let app: Awaited<ReturnType<typeof serveBuiltApp>> | undefined;
let server: StaticServer;

async function biasedRun(counterbalance: boolean, name: string): Promise<RunRecord> {
  const spec = presetSpec('classroom', { model: { id: 'sim:biased?weights=target&bias=12&beta=8' }, seed: 'e2e-diagnostics' });
  const { record } = await runSimulated({ ...spec, name, counterbalance, decisionsPerScenario: 30, reportsPerScenario: 4 });
  return { ...record, id: `run-${counterbalance ? 'balanced' : 'plain'}` };
}

beforeAll(async () => {
  if (!hasBrowser) return;
  app = await serveBuiltApp('diagnostics-e2e');
  server = app.server;
}, 240_000);

afterAll(async () => {
  await app?.close();
});

async function importAndOpen(page: Page, record: RunRecord): Promise<void> {
  const file = join(app!.dir, `${record.id}.json`);
  await writeFile(file, runJson(record).text);
  await page.goto(`${server.url}/#/runs`);
  await page.locator('input[type=file]').setInputFiles(file);
  await page.getByText(`Imported “${record.spec.name}”`).waitFor();
  await page.goto(`${server.url}/#/results/${record.id}`);
  await page.getByTestId('decision-diagnostics').waitFor();
}

describe.skipIf(!hasBrowser)('decision diagnostics and reliability ceilings in the Results view', () => {
  it('warns in words about a degenerate hard fit, names the fit of every figure and shows every r with its ceiling', async () => {
    const plain = await biasedRun(false, 'Biased, not counterbalanced');
    const balanced = await biasedRun(true, 'Biased, counterbalanced');
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      for (const [record, tag] of [[plain, 'plain'], [balanced, 'counterbalanced']] as const) {
        const node = analyzeRun(record);
        const d = node.decisions[0];
        await importAndOpen(page, record);
        const warning = page.getByTestId('position-warning');
        expect(await warning.textContent()).toBe(`${d.key}: ${positionWarning(d)}`);
        expect(await warning.textContent()).toMatch(/answered "A" in 9\d % of its decisions.*soft fit/);
        expect(await page.locator(`tr[data-diagnostics="${d.key}"]`).getByTestId('fit').textContent()).toBe('soft fit (P(A))');
        // Every r with the fit behind it and its ceiling.
        const rows = page.getByTestId('reliability-ceilings').locator('tbody tr');
        expect(await rows.count()).toBe(3);
        for (const text of await rows.allTextContents()) expect(text).toMatch(/ceiling \d\.\d\d \[\d\.\d\d, \d\.\d\d\], disattenuated r \d\.\d\d/);
        expect(await page.getByTestId('reliability-ceilings').textContent()).toContain('learned vs target');
        expect(await page.getByTestId('headline-ceiling').textContent()).toMatch(/^ceiling /);
        // The page's headline r is Node's, within 1e-9.
        expectClose(Number(await page.getByTestId('headline-r').getAttribute('data-r')), node.headline!.r);
        await shot(page, tag);
      }
    } finally {
      await browser.close();
    }
  }, 180_000);

  it('says first, in words, when the choices barely depend on the attributes and when the reports copy the options', async () => {
    const spec = presetSpec('classroom', { model: { id: 'sim:flat?beta=0' }, seed: 'e2e-barely' });
    const { record: run } = await runSimulated({ ...spec, name: 'Does not respond, copies', decisionsPerScenario: 12, reportsPerScenario: 3, scenarios: { source: 'builtin', count: 6 } });
    const record = { ...copyingReports(run), id: 'run-barely' };
    const node = analyzeRun(record);
    const d = node.decisions[0];
    const r = node.reports[0];
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await importAndOpen(page, record);
      // Both warnings, first on the page, in Node's words and numbers (within 1e-9).
      await expectResponseWarnings(page, d, r);
      // A native model, never trained on the target weights: no learned vs target bar or row, no "target" toggle.
      expect(await page.locator('[data-bar]').evaluateAll((els) => els.map((e) => e.getAttribute('data-bar')))).toEqual(['self-report']);
      expect(await page.getByTestId('reliability-ceilings').textContent()).not.toContain('vs target');
      expect(await page.locator('input[name=against]').count()).toBe(0);
      await shot(page, 'barely-responds');
      // The raw slopes beside the scaled weights, per scenario.
      await page.getByTestId('open-scenario').first().click();
      const slopes = await page.locator('[data-testid=weights-table] td[data-slope]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-slope'))));
      const s0 = node.scenarios[0].slopes.decide!;
      expect(slopes).toHaveLength(s0.length);
      slopes.forEach((x, i) => expectClose(x, s0[i]));
      await shot(page, 'barely-responds-weights', '[data-testid=scenario-detail]');
    } finally {
      await browser.close();
    }
  }, 180_000);
});
