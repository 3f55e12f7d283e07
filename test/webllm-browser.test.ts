/**
 * The REAL @mlc-ai/web-llm in headless Chromium, through the production path
 * (WorkerEngine → engine.worker → WebLLMEngine → MLCEngine), on SwiftShader's
 * WebGPU. The network is closed here and no compiled MLC model is available
 * offline, so no model can load: what this checks for real is the library's
 * loading in our worker, our app config, device probing (no shader-f16 →
 * q4f32 build), the mapping of the real offline failure to `network`, the
 * real cache helper, and that the real MLCEngine keeps the internals the
 * full-logit path reads.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { hasBrowser, launchChromium } from './support/browser';
import { serveStatic, type StaticServer } from './support/static-server';

const ROOT = resolve(import.meta.dirname, '..');
let tmp: string;
let server: StaticServer;

const HARNESS = `
import { WorkerEngine } from '${ROOT}/workers/client';
import { WebLLMEngine, loadWebLLMLib } from '${ROOT}/workers/webllm-engine';
import { probeDevice } from '${ROOT}/workers/device';
import { EngineError } from '${ROOT}/src/lib/engine/types';
import { WEBLLM_MODEL_IDS } from '${ROOT}/src/lib/models/webllm-catalog';
import { buildAppConfig } from '${ROOT}/workers/webllm-helpers';

const out = {};
try {
  out.device = await probeDevice();
  const engine = await WorkerEngine.create('webllm');
  const progress = [];
  const started = performance.now();
  out.load = await engine.load({ model: 'onnx-community/Qwen2.5-0.5B-Instruct' }, (p) => progress.push(p)).then(
    (caps) => ({ ok: true, caps }),
    (e) => ({ ok: false, code: EngineError.from(e).code, message: String(e.message ?? e) }),
  );
  out.loadMs = performance.now() - started;
  out.progress = progress;
  out.capsAfter = await engine.capabilities();
  engine.terminate();

  const page = new WebLLMEngine();
  out.cached = await page.isCached('Qwen2.5-0.5B-Instruct-q4f32_1-MLC');
  const lib = await loadWebLLMLib();
  const appConfig = buildAppConfig(lib.prebuiltAppConfig, WEBLLM_MODEL_IDS);
  out.appConfigIds = appConfig.model_list.map((r) => r.model_id).sort();
  out.catalogIds = [...WEBLLM_MODEL_IDS].sort();
  const mlc = lib.createEngine({ appConfig, logitProcessorRegistry: new Map() });
  out.internals = {
    pipelines: mlc.loadedModelIdToPipeline instanceof Map,
    chatConfigs: mlc.loadedModelIdToChatConfig instanceof Map,
    forwardTokensAndSample: typeof mlc.forwardTokensAndSample,
    create: typeof mlc.chat?.completions?.create,
  };
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = String(e && e.stack || e);
}
window.__result = out;
`;

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'webllm-browser-'));
  const root = join(tmp, 'src');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><html><head><meta charset="UTF-8"></head><body><script type="module" src="./harness.js"></script></body></html>');
  await writeFile(join(root, 'harness.js'), HARNESS);
  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    worker: { format: 'es' },
    build: { outDir: join(tmp, 'site'), emptyOutDir: true, target: 'es2022', minify: false },
  });
  server = await serveStatic({ '/': join(tmp, 'site') });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!hasBrowser)('real WebLLM in headless Chromium (SwiftShader WebGPU, network closed)', () => {
  it('loads in our worker, picks the q4f32 build, fails offline with network, keeps the internals we read', async () => {
    const browser = await launchChromium({ webgpu: true });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(String(e)));
      await page.goto(`${server.url}/index.html`);
      await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: 180_000 });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the page's free-form report
      const r = (await page.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result)) as Record<string, any>;
      if (!r.ok) console.error(r.error, logs.join('\n'));
      console.info('real WebLLM in Chromium:', JSON.stringify({ device: r.device, load: r.load, loadMs: Math.round(r.loadMs), progress: r.progress, cached: r.cached, internals: r.internals }));
      expect(r.ok).toBe(true);
      expect(r.device.webgpu).toBe(true);
      expect(r.device.shaderF16).toBe(false);
      expect(r.load.ok).toBe(false);
      expect(r.load.code).toBe('network');
      expect(r.capsAfter).toBeNull();
      // The engine announced the q4f32 build (no shader-f16 on SwiftShader) before WebLLM tried to fetch it.
      expect(r.progress[0]).toMatchObject({ phase: 'init', text: 'Loading Qwen2.5-0.5B-Instruct-q4f32_1-MLC' });
      expect(r.cached).toBe(false);
      // Every build of our catalog is in the WebLLM release the browser loaded (the count follows the catalog).
      expect(r.appConfigIds).toEqual(r.catalogIds);
      expect(r.catalogIds.length).toBeGreaterThan(0);
      expect(r.internals).toEqual({ pipelines: true, chatConfigs: true, forwardTokensAndSample: 'function', create: 'function' });
    } finally {
      await browser.close();
    }
  }, 300_000);
});
