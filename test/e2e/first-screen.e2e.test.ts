/**
 * Issue 19 in headless Chromium at 1280×800, simulated models (no download):
 * - a several-model Results page answers on its first screen: one verdict card per model,
 *   in plain words (no spec keys, no "-0.00"), within the first 800 px, then the heatmap;
 * - switching presets resets the models (Simulated → Classroom keeps no simulated model);
 * - large type grows the heatmap so its column labels do not run together;
 * - the Experiment form shows simulated models without build, device or engine choices (item 9).
 * Skipped (with the reason printed) without /usr/bin/chromium, unless REQUIRE_BROWSER=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { runEnded, screenshotter, serveBuiltApp } from './app-build';
import { hasBrowser, launchChromium } from '../support/browser';

const shot = screenshotter('first-screen-');
let app: Awaited<ReturnType<typeof serveBuiltApp>> | undefined;

beforeAll(async () => {
  if (hasBrowser) app = await serveBuiltApp('first-screen-e2e');
}, 240_000);
afterAll(async () => app?.close());

async function withPage(f: (page: Page, errors: string[]) => Promise<void>) {
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await f(page, errors);
  } finally {
    await browser.close();
  }
}

describe.skipIf(!hasBrowser)('a several-model run answers on one screen (issue 19)', () => {
  it('switching presets resets the models; verdict cards within the first 800 px; large type grows the heatmap', async () => {
    await withPage(async (page, errors) => {
      await page.goto(`${app!.server.url}/#/experiment`);
      // Item 2: Simulated → Classroom must not keep a simulated model.
      await page.locator('[data-preset=simulated]').click();
      await expect.poll(() => page.getByTestId('spec-json').textContent()).toContain('sim:');
      await page.locator('[data-preset=classroom]').click();
      await expect.poll(() => page.getByTestId('spec-json').textContent()).not.toContain('sim:');

      await page.locator('[data-preset=simulated]').click();
      // Item 9: no Build / Run on / Engine choice and no next-token sentence for simulated models; the name shows whole.
      for (const sel of ['select[name=dtype]', 'select[name=device]', 'select[name=engine]']) expect(await page.locator(sel).count(), sel).toBe(0);
      expect(await page.locator('main').textContent()).not.toContain('next-token probabilities');
      const name = page.locator('input[name=name]');
      expect(await name.inputValue()).toMatch(/^Simulated models/);
      expect(await name.evaluate((e: HTMLInputElement) => e.scrollWidth <= e.clientWidth), 'the run name is not cut').toBe(true);
      await page.locator('[data-preset=classroom]').click();
      expect(await page.locator('select[name=device]').count(), 'a real model keeps its choices').toBe(1);
      await page.locator('[data-preset=simulated]').click();
      await page.fill('input[name=scenarios]', '6');
      await page.fill('input[name=decisions]', '10');
      await page.fill('input[name=reports]', '2');
      await expect.poll(() => page.getByTestId('spec-json').textContent()).toContain('"decisionsPerScenario": 10');
      await page.getByTestId('start-run').click();
      await runEnded(page, 300_000);
      await page.getByTestId('see-results').click();
      const cards = page.getByTestId('pa-answer-card');
      await expect.poll(() => cards.count(), { timeout: 60_000 }).toBe(3);
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, 'results-top');
      // Item 3: the answer is on the first screen.
      const boxes = await cards.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().bottom + window.scrollY));
      for (const bottom of boxes) expect(bottom, 'verdict card bottom (px)').toBeLessThanOrEqual(800);
      const heatTop = await page.getByTestId('pa-heatmap').evaluate((e) => e.getBoundingClientRect().top + window.scrollY);
      expect(heatTop, 'heatmap right after the cards').toBeLessThan(1300);
      // Plain words: model labels, never spec keys; one minus sign; no "-0.00".
      const top = await page.getByTestId('pa-answer').innerText();
      expect(top).toMatch(/trained \(simulated\)/);
      expect(top).not.toMatch(/\b(decide|pool|report|observe)-m\d|sim:|obs:|stat@/);
      expect(top).not.toMatch(/-\d|−0\.00/);
      const visible = await page.locator('body').innerText();
      expect(visible).not.toMatch(/-0\.00|−0\.00/);
      // Item 4: no card says the self-report is worth N decisions when another description beats it.
      for (const t of await cards.allInnerTexts()) if (/matched or beaten/.test(t)) expect(t).not.toMatch(/worth/);

      // Item 8: large type grows the cells with the text; the column labels keep apart.
      const cellWidth = () => page.locator('[data-testid=pa-heatmap] [data-cell] rect').first().evaluate((e) => e.getBoundingClientRect().width);
      const normal = await cellWidth();
      await page.getByRole('button', { name: 'Large type' }).click();
      await expect.poll(cellWidth).toBeGreaterThan(normal * 1.3);
      const labels = await page.locator('[data-testid=pa-heatmap] > text.tick.col').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.left, r.right]));
      expect(labels).toHaveLength(3);
      labels.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < labels.length; i++) expect(labels[i][0], 'column labels must not overlap').toBeGreaterThanOrEqual(labels[i - 1][1]);
      await page.getByTestId('pa-heatmap').scrollIntoViewIfNeeded();
      await shot(page, 'heatmap-large-type');
      expect(errors).toEqual([]);
    });
  }, 420_000);

  it('the causal and self-prediction presets, picked on the page, run on simulated models to their own Results sections (issue 18)', async () => {
    await withPage(async (page, errors) => {
      const cases = [
        { preset: 'causal', inSpec: '"intervention"', section: 'causal-section', card: 'causal-verdict' },
        { preset: 'self-prediction', inSpec: '"kind": "predictions"', section: 'self-prediction-section', card: 'self-prediction-verdict' },
      ];
      for (const c of cases) {
        await page.goto(`${app!.server.url}/#/experiment`);
        await page.locator(`[data-preset=${c.preset}]`).click();
        await expect.poll(() => page.getByTestId('spec-json').textContent()).toContain(c.inSpec);
        const sims = await page.locator('select[name=model] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).filter((v) => v.startsWith('sim:')));
        await page.selectOption('select[name=model]', sims[0]);
        if (await page.locator('select[name=control]').count()) await page.selectOption('select[name=control]', sims[1]);
        await page.fill('input[name=scenarios]', '4');
        await page.fill('input[name=decisions]', '6');
        await expect.poll(() => page.getByTestId('spec-json').textContent()).toContain(c.inSpec); // the sizes keep the preset's conditions
        await page.getByTestId('start-run').click();
        expect(await runEnded(page, 300_000), c.preset).toBe('done');
        await page.getByTestId('see-results').click();
        const section = page.getByTestId(c.section);
        await section.waitFor({ timeout: 60_000 });
        await expect.poll(() => section.getByTestId(c.card).count(), { timeout: 60_000 }).toBeGreaterThan(0);
        expect(await section.innerText()).toMatch(/simulated/);
        await shot(page, `${c.preset}-results`, `[data-testid=${c.section}]`);
      }
      expect(errors).toEqual([]);
    });
  }, 420_000);
});
