/**
 * Issue 19, item 1: the first Download after a cold `npm run dev` is not lost. A Vite dev
 * server with an empty dependency cache (as on a fresh clone) serves the lab and the fixture
 * model; the first click on Download must finish without the page reloading (Vite used to
 * discover @huggingface/transformers in the worker only then, re-optimise and reload).
 * Skipped (with the reason printed) without /usr/bin/chromium, unless REQUIRE_BROWSER=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { root } from './app-build';
import { hasBrowser, launchChromium } from '../support/browser';
import { writeFixtureModel } from '../fixture/model';

let tmp = '';
let server: ViteDevServer | undefined;
let url = '';
const reloads: string[] = [];

/** Serves the fixture model under /models/ from the dev server. */
function fixtureModels(dir: string): Plugin {
  return {
    name: 'fixture-models',
    configureServer(s) {
      s.middlewares.use('/models', (req, res, next) => {
        const p = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0])));
        if (!p.startsWith(dir) || !existsSync(p) || statSync(p).isDirectory()) return next();
        res.setHeader('Content-Length', String(statSync(p).size));
        createReadStream(p).pipe(res);
      });
    },
  };
}

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'dev-download-'));
  await writeFixtureModel(join(tmp, 'models', 'tiny-llama'), { seed: 11 });
  server = await createServer({
    root,
    configFile: join(root, 'vite.config.ts'),
    cacheDir: join(tmp, 'vite-cache'), // cold: nothing optimised yet
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: true },
    plugins: [fixtureModels(join(tmp, 'models'))],
  });
  const send = server.ws.send.bind(server.ws) as (...a: unknown[]) => void;
  (server.ws as { send: (...a: unknown[]) => void }).send = (...a: unknown[]) => {
    const msg = a[0] as { type?: string } | string;
    if (typeof msg === 'object' && msg?.type === 'full-reload') reloads.push(JSON.stringify(msg));
    send(...a);
  };
  await server.listen();
  url = server.resolvedUrls!.local[0].replace(/\/$/, '');
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!hasBrowser)('npm run dev, cold', () => {
  it('the first Download finishes without a page reload', async () => {
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
      let loads = 0;
      page.on('load', () => loads++);
      await page.goto(`${url}/?localModels=/models/#/models`, { timeout: 180_000 });
      await page.getByTestId('capability-verdict').waitFor({ timeout: 180_000 });
      await page.fill('input[name=custom-model]', 'tiny-llama');
      await page.getByRole('button', { name: 'Add model' }).click();
      await page.getByRole('button', { name: 'Download tiny-llama' }).click();
      await page.locator('[data-testid=download-panel][data-state=done]').waitFor({ timeout: 240_000 });
      expect(reloads, 'Vite reloaded the page').toEqual([]);
      expect(loads, 'page loads').toBe(1);
    } finally {
      await browser.close();
    }
  }, 420_000);
});
