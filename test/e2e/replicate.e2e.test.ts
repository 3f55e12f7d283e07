/**
 * "Replicate the paper" end to end in headless Chromium (WASM): the fixture model served under
 * /models/ with a seeded PEFT adapter under /adapters/ as the "trained" Exp 1 adapter. The steps:
 * download the instilling set, the training command, the adapter, the matched evaluation loaded
 * into the form (base + adapter vs the base, the step marked), a small run, the results with
 * "did the preferences take?" and the paper's marks; Exp 2's no-training analogue (in-context
 * self-reports) run the same way; Exp 3 before introspection training (the instilled
 * adapter on the new native contexts) and after (an adapter; here the fixture's again), each with its own mark; after a reload the steps' state is kept.
 *
 * Screenshots: test-output/screenshots/replicate-*.png.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { unzipSync } from 'fflate';
import { buildApp, newestRun, runEnded, screenshotter, stepTimer, writeFixtureWithAdapter } from './app-build';
import { hasBrowser, launchChromium } from '../support/browser';
import { serveStatic, type StaticServer } from '../support/static-server';
import { preferenceUptake } from '../../src/lib/experiment/paper-figures';

const shot = screenshotter('replicate-');
const { timings, timed } = stepTimer();
let tmp = '';
let server: StaticServer;

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'replicate-e2e-'));
  await writeFixtureWithAdapter(tmp);
  await timed('build', () => buildApp(join(tmp, 'site')));
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models'), '/adapters/': join(tmp, 'adapters') });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (Object.keys(timings).length) console.info('replicate e2e timings (ms):', JSON.stringify(timings));
});

/** Run the loaded evaluation with few trials (the Experiment view is showing); returns the phase it ended in. */
async function runSmall(page: Page) {
  await page.selectOption('select[name=device]', 'wasm');
  await page.fill('input[name=decisions]', '4');
  await page.fill('input[name=reports]', '1');
  await page.getByTestId('start-run').click();
  return runEnded(page, 240_000);
}

const specOf = async (page: Page) => JSON.parse((await page.getByTestId('spec-json').textContent())!);
const marksOf = (page: Page) => page.locator('[data-paper-mark]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-paper-mark'))));

describe.skipIf(!hasBrowser)('Replicate the paper (Chromium, WASM)', () => {
  it('Exp 1 with an adapter, Exp 2 in context, Exp 3 before and after: set, command, adapter, matched evaluation, results with the paper\'s marks; kept after a reload', async () => {
    const browser = await launchChromium({ webgpu: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    const downloads: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('download', (d) => downloads.push(d.suggestedFilename()));
    try {
      await timed('model + adapter', async () => {
        await page.goto(`${server.url}/?localModels=/models/#/models`);
        await page.getByTestId('capability-verdict').waitFor();
        await page.fill('input[name=custom-model]', 'tiny-llama');
        await page.getByRole('button', { name: 'Add model' }).click();
        await page.locator('tr[data-model="/models/tiny-llama"]').waitFor();
        await page.getByRole('button', { name: 'Download tiny-llama' }).click();
        await page.locator('[data-testid=download-panel][data-state=done]').waitFor({ timeout: 120_000 });
        await page.selectOption('select[name=adapter-base]', '/models/tiny-llama');
        await page.fill('input[name=adapter-id]', '/adapters/instilled');
        await page.getByRole('button', { name: 'Add adapter' }).click();
        await page.locator('tr[data-adapted="tiny-llama + instilled"]').waitFor();
      });

      // The steps: base model and small sets.
      await page.getByRole('link', { name: 'Replicate the paper' }).click();
      await page.selectOption('select[name=replicate-base]', '/models/tiny-llama');
      await page.fill('input[name=replicate-contexts]', '4');
      await page.press('input[name=replicate-contexts]', 'Tab');
      await page.fill('input[name=replicate-decisions]', '3');
      await page.press('input[name=replicate-decisions]', 'Tab');
      const exp1 = page.getByTestId('step-exp1');
      // The sizes' consequence, shown: 4 × 3 = 12 examples, 2 steps of 8 × 3 epochs.
      await expect.poll(() => page.getByTestId('replicate-costs').locator('li[data-step=exp1]').textContent()).toMatch(/12 training examples .* 6 training steps/s);
      // (1) the instilling set, downloaded as one zip (unzipping makes instill/).
      const [zip] = await Promise.all([page.waitForEvent('download'), exp1.getByTestId('download-exp1').click()]);
      await exp1.getByTestId('downloaded-exp1').waitFor();
      expect(zip.suggestedFilename()).toBe('instill.zip');
      const unzipped = unzipSync(new Uint8Array(readFileSync((await zip.path())!)));
      expect(Object.keys(unzipped)).toEqual(expect.arrayContaining(['train.jsonl', 'heldout.jsonl', 'eval-spec.json', 'scenarios.csv', 'target_weights.csv'].map((f) => `instill/${f}`)));
      // No separate file downloads beside the zip.
      expect(downloads.filter((n) => /\.(jsonl|json|csv)$/.test(n))).toEqual([]);
      // (2) the kit's command for this base model.
      // A served folder the lab cannot map to PyTorch weights: a placeholder and what goes there, never the web path.
      expect(await exp1.getByTestId('command-exp1').textContent()).toBe('python training/train_lora.py --data sets/instill --base MODEL_FOLDER --out sets/instill/adapter');
      expect(await exp1.getByTestId('base-note-exp1').textContent()).toContain("MODEL_FOLDER: the folder where you saved tiny-llama's PyTorch weights");
      expect(await page.getByTestId('command-exp2').textContent()).toContain('--init-adapter sets/instill/adapter');
      // One layout for every step: the command never wraps, and Copy sits at the same x on each step.
      const copyX = await Promise.all(['exp1', 'exp2', 'exp3'].map(async (s) => (await page.getByTestId(`copy-${s}`).boundingBox())!.x));
      expect(new Set(copyX).size).toBe(1);
      expect(await exp1.getByTestId('command-exp1').evaluate((el) => getComputedStyle(el).whiteSpace)).toBe('pre');
      // (3) the adapter trained on it (here: the fixture's).
      await page.selectOption('select[name=adapter-exp1]', '/adapters/instilled');
      expect(await exp1.getByTestId('adapter-exp1-chosen').textContent()).toContain('tiny-llama + instilled (/adapters/instilled)');
      expect(await exp1.locator('li[data-part=set]').getAttribute('data-done')).toBe('true');
      expect(await exp1.locator('li[data-part=adapter]').getAttribute('data-done')).toBe('true');
      await shot(page, '01-steps');

      // (4) the matched evaluation, one click into the form.
      await exp1.getByTestId('evaluate-exp1').click();
      await page.getByTestId('spec-json').waitFor({ state: 'attached' });
      const spec1 = await specOf(page);
      // The Scenarios field is fixed by the set's contexts, and says so.
      expect(await page.getByTestId('scenarios-why').textContent()).toContain('4 chosen by hand');
      expect(spec1.paperStep).toBe('exp1');
      expect(spec1.scenarios.ids).toHaveLength(4);
      expect(spec1.models.map((m: { key: string; id: string; adapter?: { id: string } }) => [m.key, m.id, m.adapter?.id ?? null])).toEqual([
        ['self', '/models/tiny-llama', '/adapters/instilled'],
        ['control', '/models/tiny-llama', null],
      ]);
      expect(await timed('run exp1', () => runSmall(page))).toBe('done');
      const run1 = await newestRun(page);
      expect(run1.planned.length).toBeGreaterThan(0);
      expect(run1.stored.sort()).toEqual(run1.planned.sort());

      // (5) results: "did the preferences take?" first, then the paper's marks on the accuracy chart.
      await page.getByTestId('see-results').click();
      const check = page.getByTestId('paper-check');
      await check.waitFor();
      expect(await check.getAttribute('data-step')).toBe('exp1');
      // The verdict is the one learned vs target r (the chart's bar) calls for; a random adapter instils nothing.
      const uptake = await check.getAttribute('data-uptake');
      const bar = page.locator('[data-bar$="-target"] rect title');
      const shown = (await bar.count()) ? Number(/r = (-?[\d.]+)/.exec((await bar.first().textContent())!)![1]) : null;
      const attr = await check.getAttribute('data-r');
      const r = attr ? Number(attr) : null;
      // The check reads the same r the chart's bar shows (rounded there).
      if (r === null) expect(shown).toBeNull();
      else expect(Math.abs(r - shown!)).toBeLessThanOrEqual(0.005);
      expect(uptake).toBe(preferenceUptake(r).verdict);
      if (r !== null) expect(await check.getByTestId('uptake').textContent()).toContain(`r = ${r.toFixed(2).replace(/^0/, '')}`);
      console.info(`Exp 1 on the fixture adapter: learned vs target r = ${r}, verdict ${uptake}`);
      expect(await marksOf(page)).toEqual(expect.arrayContaining([0.54, 0.5]));
      if (uptake !== 'unknown') expect(await marksOf(page)).toEqual(expect.arrayContaining([0.84, 0.87]));
      await shot(page, '02-exp1-results');

      // Exp 2 without training: in-context self-reports on the held-out half, with the instilled adapter.
      await check.getByRole('button', { name: 'Back to the steps' }).click();
      const exp2 = page.getByTestId('step-exp2');
      await exp2.getByRole('radio', { name: /No training/ }).check();
      await expect.poll(() => exp2.getAttribute('data-mode')).toBe('in-context');
      expect(await exp1.getByTestId('results-exp1').getAttribute('data-run')).toBe(run1.runId);
      await exp2.getByTestId('evaluate-exp2').click();
      const spec2 = await specOf(page);
      expect(spec2.paperStep).toBe('exp2');
      expect(spec2.scenarios.ids).toHaveLength(2);
      expect(spec2.conditions.filter((c: { examples?: unknown }) => c.examples)).toEqual([expect.objectContaining({ key: 'in-context-k1', examples: { k: 1, answers: 'target' } })]);
      expect(await timed('run exp2', () => runSmall(page))).toBe('done');
      const run2 = await newestRun(page);
      await page.getByTestId('see-results').click();
      await page.locator('[data-testid=paper-check][data-step=exp2]').waitFor();
      expect(await page.locator('main').textContent()).toContain('Self-report (1 shown): tiny-llama + instilled');
      // Both self-report conditions (plain and in context) carry Exp 2's marks.
      await expect.poll(() => marksOf(page)).toEqual(expect.arrayContaining([0.74, 0.75]));
      expect((await marksOf(page)).filter((v) => v === 0.74)).toHaveLength(2);
      await shot(page, '03-exp2-in-context-results');

      // Exp 3 before introspection training: the instilled adapter on the new native contexts; marked .46/.40 only.
      await page.getByTestId('paper-check').getByRole('button', { name: 'Back to the steps' }).click();
      const exp3 = page.getByTestId('step-exp3');
      await exp3.getByTestId('evaluate-exp3-before').click();
      const spec3b = await specOf(page);
      expect([spec3b.paperStep, spec3b.paperPhase]).toEqual(['exp3', 'before']);
      expect(spec3b.models.map((m: { key: string; adapter?: { id: string } }) => [m.key, m.adapter?.id ?? null])).toEqual([['self', '/adapters/instilled'], ['control', null]]);
      for (const id of spec3b.scenarios.ids) expect(spec1.scenarios.ids).not.toContain(id);
      expect(await timed('run exp3 before', () => runSmall(page))).toBe('done');
      const run3b = await newestRun(page);
      await page.getByTestId('see-results').click();
      await page.locator('[data-testid=paper-check][data-step=exp3][data-phase=before]').waitFor();
      await expect.poll(() => marksOf(page)).toEqual(expect.arrayContaining([0.46, 0.4]));
      expect(await marksOf(page)).not.toContain(0.71);
      expect(await page.getByTestId('paper-check').textContent()).toContain('before introspection training (native contexts): GPT-4o 0.46, GPT-4o-mini 0.40');

      // Exp 3 after, with an adapter, on the same contexts: marked .71/.70 only. The fixture has one adapter, so it stands in
      // for the introspection-trained one (this checks the wiring, not a result); the in-context analogue's k = 3 examples
      // overflow the fixture model's 2048 positions.
      await page.getByTestId('paper-check').getByRole('button', { name: 'Back to the steps' }).click();
      expect(await exp3.getByTestId('results-exp3-before').getAttribute('data-run')).toBe(run3b.runId);
      await page.selectOption('select[name=adapter-exp3]', '/adapters/instilled');
      await exp3.getByTestId('evaluate-exp3').click();
      const spec3a = await specOf(page);
      expect([spec3a.paperStep, spec3a.paperPhase]).toEqual(['exp3', 'after']);
      expect(spec3a.scenarios.ids).toEqual(spec3b.scenarios.ids);
      expect(await timed('run exp3 after', () => runSmall(page))).toBe('done');
      const run3a = await newestRun(page);
      await page.getByTestId('see-results').click();
      await page.locator('[data-testid=paper-check][data-step=exp3][data-phase=after]').waitFor();
      await expect.poll(() => marksOf(page)).toEqual(expect.arrayContaining([0.71, 0.7]));
      expect(await marksOf(page)).not.toContain(0.46);
      expect(await page.locator('#paper-check-h').textContent()).toBe('Exp 3: native preferences in new contexts (after introspection training): against the paper');
      await shot(page, '05-exp3-results');

      // Reload: the steps' state is kept (set downloaded, adapter, mode, each step's run).
      await page.goto(`${server.url}/?localModels=/models/#/replicate`);
      await page.getByTestId('step-exp1').waitFor();
      await page.getByTestId('downloaded-exp1').waitFor();
      expect(await page.getByTestId('adapter-exp1-chosen').textContent()).toContain('/adapters/instilled');
      expect(await page.getByTestId('step-exp2').getAttribute('data-mode')).toBe('in-context');
      expect(await page.inputValue('input[name=replicate-contexts]')).toBe('4');
      await expect.poll(() => page.getByTestId('results-exp1').getAttribute('data-run')).toBe(run1.runId);
      expect(await page.getByTestId('results-exp2').getAttribute('data-run')).toBe(run2.runId);
      expect(await page.getByTestId('results-exp3').getAttribute('data-run')).toBe(run3a.runId);
      expect(await page.getByTestId('results-exp3-before').getAttribute('data-run')).toBe(run3b.runId);
      await shot(page, '04-after-reload');
      expect(errors).toEqual([]);
    } catch (e) {
      await shot(page, 'failure').catch(() => undefined);
      console.error('page errors:', errors);
      throw e;
    } finally {
      await browser.close();
    }
  }, 900_000);
});
