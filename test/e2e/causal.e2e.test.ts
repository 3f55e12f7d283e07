/**
 * Issue 18 views end to end in headless Chromium: both presets ("causal" and
 * "self-prediction") run on simulated models through the lab's runner (in Node,
 * as `cli run` does), imported as run.json into the Runs view and opened in
 * Results: the causal verdict cards, Δ scatter, dose–response lines and table,
 * and the self-prediction verdict cards, calibration plot and table are filled,
 * say "simulated", and their numbers equal `cli analyze --run DIR --json` on
 * the same run within 1e-9 (never bit for bit across JS engines). A scatter
 * point takes keyboard focus and reads out its values.
 *
 * Screenshots: test-output/screenshots/causal-*.png.
 * Skipped (with the reason printed) without /usr/bin/chromium, unless REQUIRE_BROWSER=1.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { root, screenshotter, serveBuiltApp } from './app-build';
import { hasBrowser, launchChromium } from '../support/browser';
import type { StaticServer } from '../support/static-server';
import { runSimulated } from '../support/sim-run';
import { CROSS_ENGINE_TOL, expectClose } from '../support/close';
import { runJson } from '../../src/app/exports';
import { causalSpec, selfPredictionSpec } from '../../src/lib/experiment/presets';
import { simulatedId } from '../../src/lib/experiment/simulated';
import type { RunRecord } from '../../src/lib/experiment/runs';

const shot = screenshotter('causal-');
let app: Awaited<ReturnType<typeof serveBuiltApp>> | null = null;
let server: StaticServer;

beforeAll(async () => {
  if (!hasBrowser) return;
  app = await serveBuiltApp('causal-e2e');
  server = app.server;
}, 240_000);

afterAll(async () => {
  await app?.close();
});

async function importAndOpen(page: Page, record: RunRecord, waitFor: string): Promise<void> {
  const file = join(app!.dir, `${record.id}.json`);
  await writeFile(file, runJson(record).text);
  await page.goto(`${server.url}/#/runs`);
  await page.locator('input[type=file]').setInputFiles(file);
  await page.getByText(`Imported “${record.spec.name}”`).waitFor();
  await page.goto(`${server.url}/#/results/${record.id}`);
  await page.getByTestId(waitFor).waitFor({ timeout: 60_000 });
}

/** `cli analyze --run DIR --json` on the record written as a `cli run` folder. */
async function cliAnalyze(record: RunRecord): Promise<Record<string, unknown>> {
  const dir = join(app!.dir, `${record.id}-folder`);
  await mkdir(dir, { recursive: true });
  const { results, ...meta } = record;
  await writeFile(join(dir, 'run.json'), JSON.stringify(meta));
  await writeFile(join(dir, 'results.jsonl'), results.map((r) => JSON.stringify(r) + '\n').join(''));
  const cli = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['cli/main.ts', 'analyze', '--run', dir, '--json'], { cwd: root, encoding: 'utf8' });
  expect(cli.status, cli.stderr).toBe(0);
  return JSON.parse(cli.stdout) as Record<string, unknown>;
}

const num = (s: string | null) => (s === null || s === '' ? NaN : Number(s));
const close = (got: number, want: number | null, what: string) => (want === null ? expect(Number.isFinite(got), what).toBe(false) : expectClose(got, want, CROSS_ENGINE_TOL, what));

describe.skipIf(!hasBrowser)('causal and self-prediction views in headless Chromium', () => {
  it('both presets on simulated models: every view filled, "simulated" said, numbers equal cli analyze --run', async () => {
    const models = [{ id: simulatedId({ label: 'knows', weights: 'target', access: 0.9 }) }, { id: simulatedId({ label: 'blind', access: 0 }) }];
    const causal = (await runSimulated({ ...causalSpec('Causal e2e', { scenarios: 12, decisions: 20, reports: 3 }, models, { seed: 'causal-e2e' }) }, {})).record;
    const sp = (await runSimulated(selfPredictionSpec('Self-prediction e2e', { scenarios: 6, decisions: 8 }, models, { seed: 'sp-e2e' }))).record;
    causal.id = 'causal-e2e';
    sp.id = 'self-prediction-e2e';
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      // Causal.
      const printed = (await cliAnalyze(causal)).causal as Array<Record<string, unknown>>;
      await importAndOpen(page, causal, 'causal-section');
      const section = page.getByTestId('causal-section');
      expect(await section.getByTestId('causal-simulated').textContent()).toMatch(/simulated/);
      const cards = await section.getByTestId('causal-verdict').evaluateAll((els) => els.map((e) => ({ c: e.getAttribute('data-condition'), v: e.getAttribute('data-verdict'), text: e.textContent ?? '' })));
      expect(cards.map((c) => [c.c, c.v])).toEqual(printed.map((p) => [p.condition, p.verdict]));
      for (const c of cards) expect(c.text).toMatch(/\(simulated\)/);
      const rows = await section.locator('[data-testid=causal-table] tbody tr').evaluateAll((els) => els.map((e) => ({ c: e.getAttribute('data-condition'), r: e.getAttribute('data-r'), lo: e.getAttribute('data-ci-lo'), hi: e.getAttribute('data-ci-hi') })));
      expect(rows).toHaveLength(printed.length);
      for (const p of printed) {
        const row = rows.find((x) => x.c === p.condition)!;
        close(num(row.r), p.r_delta as number | null, `r_delta ${p.condition}`);
        close(num(row.lo), (p.ci as (number | null)[])[0], `ci lo ${p.condition}`);
        close(num(row.hi), (p.ci as (number | null)[])[1], `ci hi ${p.condition}`);
      }
      const scatter = page.getByTestId('causal-scatter');
      expect(await scatter.locator('[data-point]').count()).toBe(12 * 5);
      expect(await scatter.locator('circle.steered').count()).toBe(12);
      await scatter.locator('[data-point]').first().focus();
      expect(await page.getByTestId('causal-readout').textContent()).toMatch(/Δlearned .*Δreported/);
      const dose = page.getByTestId('causal-dose');
      expect(await dose.locator('[data-point][data-kind=learned]').count()).toBe(4);
      await shot(page, 'causal', '[data-testid=causal-section]');

      // Self-prediction.
      const spPrinted = await cliAnalyze(sp);
      const entries = spPrinted.self_prediction as Array<Record<string, unknown>>;
      const verdicts = spPrinted.self_prediction_verdicts as Array<Record<string, unknown>>;
      await importAndOpen(page, sp, 'self-prediction-section');
      const sps = page.getByTestId('self-prediction-section');
      expect(await sps.getByTestId('self-prediction-simulated').textContent()).toMatch(/simulated/);
      const vcards = await sps.getByTestId('self-prediction-verdict').evaluateAll((els) => els.map((e) => ({ t: e.getAttribute('data-target'), k: e.getAttribute('data-kind'), v: e.getAttribute('data-verdict'), self: e.getAttribute('data-self'), diff: e.getAttribute('data-diff') })));
      expect(vcards.map((c) => [c.t, c.k, c.v])).toEqual(verdicts.map((v) => [v.target, v.kind, v.verdict]));
      for (const v of verdicts) {
        const c = vcards.find((x) => x.t === v.target && x.k === v.kind)!;
        close(num(c.self), v.self as number | null, `self ${v.target} ${v.kind}`);
        close(num(c.diff), v.diff as number | null, `diff ${v.target} ${v.kind}`);
      }
      const trows = await sps.locator('[data-testid=self-prediction-table] tbody tr').evaluateAll((els) =>
        els.map((e) => ({ target: e.getAttribute('data-target'), reporter: e.getAttribute('data-reporter'), kind: e.getAttribute('data-kind'), k: Number(e.getAttribute('data-k')), condition: e.getAttribute('data-condition'), r: e.getAttribute('data-r'), kappa: e.getAttribute('data-kappa'), accuracy: e.getAttribute('data-accuracy') })),
      );
      expect(trows).toHaveLength(entries.length);
      for (const e of entries) {
        const row = trows.find((x) => x.target === e.target && x.reporter === e.reporter && x.kind === e.kind && x.k === e.k && x.condition === (e.condition ?? 'statistical'))!;
        if (e.kind === 'probability') close(num(row.r), e.r as number | null, `r ${JSON.stringify(e.condition)}`);
        else {
          close(num(row.kappa), e.kappa as number | null, `kappa ${JSON.stringify(e.condition)}`);
          close(num(row.accuracy), e.accuracy as number | null, `accuracy ${JSON.stringify(e.condition)}`);
        }
      }
      const cal = page.getByTestId('calibration-plot');
      expect(await cal.locator('[data-point]').count()).toBeGreaterThan(5);
      expect(await cal.locator('.diagonal').count()).toBe(1);
      await shot(page, 'self-prediction', '[data-testid=self-prediction-section]');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);
});
