/**
 * WebLLM's stored models in the lab's "Stored in this browser" list, in
 * headless Chromium on the production build: files put into WebLLM's own
 * Cache Storage caches ("webllm/model", "webllm/config", "webllm/wasm") under
 * a catalog model's URLs (from the installed web-llm's records) are listed
 * under the WebLLM model id with their size, WebLLM's hasModelInCache status
 * comes from a worker, and Delete removes them through WebLLM's
 * deleteModelAllInfoInCache in the worker (a shard that only WebLLM's helper
 * knows of, added after the listing, goes too). No GPU needed: nothing loads.
 * Skipped (with the reason printed) without /usr/bin/chromium, unless REQUIRE_BROWSER=1.
 */
import { serveBuiltApp } from './app-build';
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser, launchChromium } from '../support/browser';
import type { StaticServer } from '../support/static-server';
import { webllmModelBase } from '../../src/app/model-cache';

const MODEL_ID = 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC';
const record = prebuiltAppConfig.model_list.find((r) => r.model_id === MODEL_ID)!;
let app: Awaited<ReturnType<typeof serveBuiltApp>> | undefined;
let server: StaticServer;

beforeAll(async () => {
  if (!hasBrowser) return;
  app = await serveBuiltApp('webllm-cache-e2e');
  server = app.server;
}, 240_000);

afterAll(async () => {
  await app?.close();
});

describe.skipIf(!hasBrowser)('WebLLM models stored in this browser (Chromium, production build)', () => {
  it('lists a WebLLM build by model id with its size and status, and deletes it through WebLLM', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const requests: string[] = [];
      context.on('request', (r) => requests.push(r.url()));
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('dialog', (d) => void d.accept());
      await page.goto(`${server.url}/#/models`);
      await page.locator('#cache-h').waitFor();

      const base = webllmModelBase(record.model);
      // Two of three shards (WebLLM's hasModelInCache: incomplete). One shard with Content-Length, one read as a blob.
      await page.evaluate(
        async ({ base, lib }) => {
          const put = async (cache: string, url: string, bytes: number | string, length = false) => {
            const body = typeof bytes === 'string' ? bytes : new Uint8Array(bytes);
            const headers: Record<string, string> = length && typeof bytes === 'number' ? { 'content-length': String(bytes) } : {};
            await (await caches.open(cache)).put(url, new Response(body, { headers }));
          };
          const manifest = JSON.stringify({ records: [0, 1, 2].map((i) => ({ dataPath: `params_shard_${i}.bin`, format: 'raw-shard', nbytes: 1, records: [] })) });
          await put('webllm/model', `${base}tensor-cache.json`, manifest);
          await put('webllm/model', `${base}params_shard_0.bin`, 3_000_000, true);
          await put('webllm/model', `${base}params_shard_1.bin`, 1_500_000);
          await put('webllm/model', `${base}tokenizer.json`, '{}');
          await put('webllm/config', `${base}mlc-chat-config.json`, '{}');
          await put('webllm/wasm', lib, 200_000);
          await put('webllm/model', 'https://huggingface.co/someone/Unknown-MLC/resolve/main/params_shard_0.bin', 10);
        },
        { base, lib: record.model_lib },
      );
      const expectedBytes = 3_000_000 + 1_500_000 + 200_000 + (await page.evaluate(async (u) => (await (await caches.open('webllm/model')).match(u))!.blob().then((b) => b.size), `${base}tensor-cache.json`)) + 2 + 2;

      await page.getByRole('button', { name: 'Refresh' }).click();
      const row = page.locator(`tr[data-cached="${MODEL_ID}"][data-source=webllm]`);
      await row.waitFor({ timeout: 60_000 });
      expect(Number(await row.getAttribute('data-bytes'))).toBe(expectedBytes);
      const cells = await row.locator('td').allTextContents();
      expect(cells[0]).toContain('WebLLM');
      expect(cells[1].trim()).toBe('6');
      expect(cells[2].trim()).toBe('4.7 MB');
      // WebLLM's own hasModelInCache (in a worker): shard 2 is missing.
      await expect.poll(() => row.getAttribute('data-complete'), { timeout: 60_000 }).toBe('false');
      await page.locator(`tr[data-cached="someone/Unknown-MLC"][data-source=webllm]`).waitFor();
      // The catalog row of the paired transformers.js model shows the stored WebLLM build.
      await page.locator(`tr[data-model="onnx-community/Qwen2.5-0.5B-Instruct"] [data-webllm-stored="${MODEL_ID}"]`).waitFor();

      // All three shards: complete.
      const shard2 = `${base}params_shard_2.bin`;
      await page.evaluate(async (u) => (await caches.open('webllm/model')).put(u, new Response(new Uint8Array(5))), shard2);
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect.poll(() => row.getAttribute('data-complete'), { timeout: 60_000 }).toBe('true');
      expect(Number(await row.getAttribute('data-bytes'))).toBe(expectedBytes + 5);
      // Listed without shard 2 again, then shard 2 put back behind the listing's back: only WebLLM's
      // deleteTensorCache (which reads tensor-cache.json) knows to delete it.
      await page.evaluate(async (u) => (await caches.open('webllm/model')).delete(u), shard2);
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect.poll(() => row.getAttribute('data-complete'), { timeout: 60_000 }).toBe('false');
      await page.evaluate(async (u) => (await caches.open('webllm/model')).put(u, new Response(new Uint8Array(5))), shard2);

      await page.getByRole('button', { name: `Delete stored WebLLM files of ${MODEL_ID}` }).click();
      await row.waitFor({ state: 'detached', timeout: 60_000 });
      const left = await page.evaluate(async () => {
        const out: string[] = [];
        for (const name of ['webllm/model', 'webllm/config', 'webllm/wasm']) for (const r of await (await caches.open(name)).keys()) out.push(`${name} ${r.url}`);
        return out;
      });
      // Everything of the model is gone, shard 2 included (only WebLLM's helper knew of it); the unknown file stays.
      expect(left).toEqual(['webllm/model https://huggingface.co/someone/Unknown-MLC/resolve/main/params_shard_0.bin']);
      expect(await page.locator('p.notice.bad').count()).toBe(0);

      await page.getByRole('button', { name: 'Delete stored WebLLM files of someone/Unknown-MLC' }).click();
      await page.locator('tr[data-cached="someone/Unknown-MLC"]').waitFor({ state: 'detached' });
      await page.getByText('No model files stored yet.').waitFor();

      expect(errors).toEqual([]);
      const origin = new URL(server.url).origin;
      expect(requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin)).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
