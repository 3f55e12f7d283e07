/**
 * The browser harness (test/browser/): built with Vite into a folder, and run
 * in a fresh headless Chromium page that reads /harness-config.json and
 * leaves its outcome in window.__result.
 */
import { join } from 'node:path';
import { build } from 'vite';
import { ortAssets } from '../../tools/vite-ort-assets';
import { launchChromium } from './browser';
import type { StaticServer } from './static-server';

export async function buildHarness(outDir: string): Promise<void> {
  await build({
    root: join(import.meta.dirname, '..', 'browser'),
    configFile: false,
    logLevel: 'warn',
    plugins: [ortAssets()],
    worker: { format: 'es' },
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: false },
  });
}

export async function runHarnessPage(server: StaticServer, config: object, webgpu = false) {
  server.setJson('/harness-config.json', config);
  const browser = await launchChromium({ webgpu });
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => {
      logs.push(m.text());
      if (process.env.HARNESS_VERBOSE) console.log('[page]', m.text());
    });
    page.on('pageerror', (e) => logs.push(String(e)));
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => window.__result !== undefined, undefined, { timeout: 240_000 });
    const result = await page.evaluate(() => window.__result!);
    if (!result.ok) console.error(result.error, logs.join('\n'), server.requests.join('\n'));
    return result;
  } finally {
    await browser.close();
  }
}
