/**
 * `npm run bench:eta [-- --scenarios 3 --decisions 6 --reports 2]`: the Run view's time left against the
 * real time, on the real model (SmolLM2-135M-Instruct) in headless Chromium (WASM, fp32), through the
 * lab's own pages: the Classroom preset (by default the 42 trials: 3 scenarios × 6 decisions in
 * both orders + 2 self-reports each). Samples the Run view's "about … left" every 250 ms from Start and
 * prints, for the first estimate and a few later ones, the estimate, the time that was really left
 * (known at the end), and their ratio; then a last JSON line
 *   {"trials", "run_s", "first": {"at_s", "done", "estimate_s", "actual_s", "ratio"}, "samples": [...]}
 * A ratio, not a timed assertion: the machine is small and shared.
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../test/e2e/app-build';
import { hasBrowser, launchChromium } from '../test/support/browser';
import { serveStatic } from '../test/support/static-server';
import { realModel } from '../test/support/real-model';

const NAME = 'smollm2-135m-instruct';
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const sizes = { scenarios: arg('scenarios', 3), decisions: arg('decisions', 6), reports: arg('reports', 2) };

if (!hasBrowser) {
  console.error('bench:eta needs Chromium (/usr/bin/chromium or CHROMIUM_PATH).');
  process.exit(1);
}
const { onnx } = await realModel();
const tmp = await mkdtemp(join(tmpdir(), 'bench-eta-'));
await mkdir(join(tmp, 'models'));
await symlink(onnx, join(tmp, 'models', NAME));
await buildApp(join(tmp, 'site'));
const server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models') });
const browser = await launchChromium();
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${server.url}/?localModels=/models/#/models`);
  await page.getByTestId('capability-verdict').waitFor();
  await page.fill('input[name=custom-model]', NAME);
  await page.getByRole('button', { name: 'Add model' }).click();
  await page.getByRole('button', { name: `Download ${NAME}` }).click();
  await page.locator('[data-testid=download-panel][data-state=done]').waitFor({ timeout: 600_000 });

  await page.getByRole('link', { name: 'Experiment' }).click();
  await page.locator('[data-preset=classroom]').click();
  await page.selectOption('select[name=model]', `/models/${NAME}`);
  await page.selectOption('select[name=device]', 'wasm');
  await page.selectOption('select[name=dtype]', 'fp32');
  await page.fill('input[name=scenarios]', String(sizes.scenarios));
  await page.fill('input[name=decisions]', String(sizes.decisions));
  await page.fill('input[name=reports]', String(sizes.reports));

  // From Start: what the Run view says (trials done, seconds left), every 250 ms, until the run ends.
  const t0 = Date.now();
  await page.getByTestId('start-run').click();
  const samples: { at_s: number; done: number; estimate_s: number | null }[] = [];
  let firstTrialS: number | null = null;
  for (;;) {
    const phase = await page.getByTestId('run-phase').getAttribute('data-phase').catch(() => null);
    if (phase === 'done' || phase === 'failed') {
      if (phase === 'failed') throw new Error(`the run failed: ${await page.locator('[role=alert]').first().textContent().catch(() => '?')}`);
      break;
    }
    const done = Number((await page.getByTestId('run-done').getAttribute('data-done').catch(() => null)) ?? 0);
    const eta = await page.getByTestId('run-eta').getAttribute('data-eta', { timeout: 100 }).catch(() => null);
    const at = (Date.now() - t0) / 1000;
    if (done > 0 && firstTrialS === null) firstTrialS = at;
    samples.push({ at_s: at, done, estimate_s: eta ? Number(eta) : null });
    await page.waitForTimeout(250);
  }
  const end = (Date.now() - t0) / 1000;
  const total = Number(await page.getByTestId('run-done').getAttribute('data-total').catch(() => 0)) || null;
  const withEta = samples.filter((s) => s.estimate_s !== null);
  const rows = withEta.map((s) => ({ ...s, actual_s: end - s.at_s, ratio: s.estimate_s! / (end - s.at_s) }));
  const first = rows[0] ?? null;
  console.log(`Classroom on ${NAME}, Chromium WASM fp32: ${total ?? '?'} trials, ${end.toFixed(1)} s from Start (first trial at ${firstTrialS?.toFixed(1) ?? '?'} s)`);
  console.log('| at (s) | trials done | Run view: time left | really left | estimate ÷ real |\n| --- | --- | --- | --- | --- |');
  const pick = rows.filter((r, i) => i === 0 || r.done !== rows[i - 1].done).filter((_, i, a) => i < 4 || i === Math.floor(a.length / 2) || i === a.length - 1);
  for (const r of pick) console.log(`| ${r.at_s.toFixed(1)} | ${r.done} | ${r.estimate_s!.toFixed(0)} s | ${r.actual_s.toFixed(0)} s | ${r.ratio.toFixed(2)} |`);
  console.log(JSON.stringify({ trials: total, run_s: +end.toFixed(1), first_trial_s: firstTrialS, first, samples: pick }));
} finally {
  await browser.close();
  await server.close();
  await rm(tmp, { recursive: true, force: true });
}
