/**
 * Constrained self-reports on the real model (SmolLM2-135M-Instruct, q4, as Optimum wrote it)
 * in headless Chromium through the worker (WASM): a handful of the lab's report prompts — a
 * self-report, an observer's (k = 0 and k = 3) and an in-context one — all parse, each with one
 * weight per attribute within ±100. Skips, saying why, without Chromium or the project venv.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser } from './support/browser';
import { buildHarness, runHarnessPage } from './support/harness-page';
import { serveStatic, type StaticServer } from './support/static-server';
import { realModel, realModelSkip, realPrompts, REAL_MODEL_TIMEOUT, type RealPrompt } from './support/real-model';
import { workerOptionsFor } from '../src/app/engine-provider';
import { parseReport } from '../src/lib/reports';

const skip = !hasBrowser || realModelSkip !== null;
if (realModelSkip) console.warn(`SKIP (constrained reports on the real model in Chromium): ${realModelSkip}`);

describe.skipIf(skip)('constrained reports on the real model in headless Chromium (WASM)', () => {
  let tmp: string;
  let server: StaticServer;
  let asks: RealPrompt[];

  beforeAll(async () => {
    const m = await realModel();
    asks = realPrompts(m.onnx).filter((p) => p.kind !== 'decision');
    tmp = await mkdtemp(join(tmpdir(), 'browser-real-reports-'));
    await buildHarness(join(tmp, 'site'));
    server = await serveStatic({ '/': join(tmp, 'site'), '/models/SmolLM2-135M-Instruct/': m.onnx });
  }, REAL_MODEL_TIMEOUT);
  afterAll(async () => {
    await server?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('every report kind parses: 100 % valid', async () => {
    expect([...new Set(asks.map((a) => a.kind))].sort()).toEqual(['in-context', 'observation', 'report']);
    const result = await runHarnessPage(server, {
      mode: 'reports',
      device: 'wasm',
      cases: [{ ...workerOptionsFor('/models/SmolLM2-135M-Instruct'), dtype: 'q4' }],
      asks: asks.map((a) => ({ messages: a.messages, names: a.names })),
    });
    expect(result.error ?? '').toBe('');
    const reports = result.reports!;
    expect(reports).toHaveLength(asks.length);
    reports.forEach((r, i) => {
      const parse = parseReport(r.text, asks[i].names);
      expect(parse.ok, `${asks[i].id}: ${r.text}`).toBe(true);
      expect(r.weights, asks[i].id).toHaveLength(asks[i].names.length);
      for (const w of r.weights!) expect(Math.abs(w)).toBeLessThanOrEqual(100);
    });
    console.info(`constrained reports on the real model in Chromium (WASM, q4): ${reports.filter((r) => r.weights).length}/${reports.length} valid; e.g. ${reports[0].text}`);
  }, 600_000);
});
