/**
 * LoRA adapters in headless Chromium through the worker, on WASM and on WebGPU
 * (SwiftShader): a served adapter folder and one stored in the browser (Cache
 * Storage, as picked files are), for each fixture layout and dtype; logits
 * equal the float64 W + s·B·A reference computed in Node; B = 0 and scale 0
 * give the base model bit for bit (within the same browser run).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser } from './support/browser';
import { buildHarness, runHarnessPage } from './support/harness-page';
import { serveStatic, type StaticServer } from './support/static-server';
import { referenceForward, writeFixtureModel, type FixtureInfo } from './fixture/model';
import { buildFixtureAdapter, type FixtureAdapter } from './fixture/adapter';
import type { FixtureDtype, FixtureOptions } from './fixture/build';
import { TransformersEngine } from '../workers/transformers-engine';
import { decisionMessages } from '../src/lib/prompts';
import { conformanceInputs } from './conformance/inputs';
import { maxAbsDiff } from './support/real-models';

/** As in Node (adapter.engine.test.ts): 1e-4, and 1e-3 for q8's run-time activation quantization. */
const TOL: Record<FixtureDtype, number> = { fp32: 1e-4, q4: 1e-4, q8: 1e-3 };

const LAYOUTS: Record<string, FixtureOptions> = {
  optimum: { layout: 'optimum', dtypes: ['fp32', 'q4', 'q8'] },
  modelbuilder: { layout: 'modelbuilder', dtypes: ['fp32', 'q4', 'q8'] },
  external: { layout: 'optimum', dtypes: ['fp32', 'q4'], externalData: true },
};

let tmp: string;
let server: StaticServer;
let ids: number[];
const models: Record<string, FixtureInfo> = {};
const adapters: Record<string, FixtureAdapter> = {};

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'browser-adapter-'));
  for (const [name, opts] of Object.entries(LAYOUTS)) models[name] = await writeFixtureModel(join(tmp, 'models', name, 'fixture-llama'), { seed: 5, ...opts });
  const c = models.optimum.config;
  const specs = { plain: { seed: 1 }, rslora: { seed: 2, rslora: true }, zeroB: { seed: 3, zeroB: true } };
  for (const [name, o] of Object.entries(specs)) {
    adapters[name] = buildFixtureAdapter(c, { r: 8, alpha: 16, ...o });
    await mkdir(join(tmp, 'adapters', name), { recursive: true });
    for (const [f, b] of Object.entries(adapters[name].files)) await writeFile(join(tmp, 'adapters', name, f), b);
  }
  const e = new TransformersEngine({ allowRemoteModels: false });
  await e.load({ model: models.optimum.dir, device: 'cpu', dtype: 'fp32' });
  const { scenarios, options } = conformanceInputs();
  ids = e.promptIds(decisionMessages(scenarios[0], options[0][0].a, options[0][0].b));
  await e.unload();
  await buildHarness(join(tmp, 'site'));
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models'), '/adapters/': join(tmp, 'adapters') });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Per model and dtype: base, served plain adapter, stored rsLoRA adapter, B = 0, scale 0. */
function casesFor(layouts: [string, FixtureDtype][]) {
  return layouts.flatMap(([layout, dtype]) => {
    const model = `${layout}/fixture-llama`;
    return [
      { layout, dtype, kind: 'base', model, adapter: undefined },
      { layout, dtype, kind: 'plain', model, adapter: { id: '/adapters/plain' } },
      { layout, dtype, kind: 'rslora', model, adapter: { id: 'stored:rslora' } },
      { layout, dtype, kind: 'zeroB', model, adapter: { id: '/adapters/zeroB' } },
      { layout, dtype, kind: 'scale0', model, adapter: { id: 'stored:rslora', scale: 0 } },
    ];
  });
}

const RUNS = [
  ['wasm', false, Object.entries(LAYOUTS).flatMap(([l, o]) => o.dtypes!.map((d) => [l, d] as [string, FixtureDtype]))],
  // SwiftShader runs WebGPU on the CPU at about a second per forward pass: two layouts there.
  ['webgpu', true, [['optimum', 'fp32'], ['modelbuilder', 'q4']] as [string, FixtureDtype][]],
] as const;

describe.skipIf(!hasBrowser)('LoRA adapters in headless Chromium through the worker', () => {
  it.each(RUNS)('on %s: served and stored adapters match the W + s·B·A reference; B = 0 and scale 0 are the base model', async (device, webgpu, layouts) => {
    const cases = casesFor([...layouts]);
    const result = await runHarnessPage(
      server,
      { mode: 'adapter', device, ids, store: { rslora: '/adapters/rslora' }, cases: cases.map(({ model, dtype, adapter }) => ({ model, dtype, adapter })) },
      webgpu,
    );
    expect(result.error ?? '').toBe('');
    const logits = result.logits!;
    const base = new Map<string, number[]>();
    cases.forEach((c, i) => {
      const got = logits[i];
      expect(typeof got === 'string' ? got : '', `${c.layout} ${c.dtype} ${c.kind}`).toBe('');
      const row = got as number[];
      if (c.kind === 'base') return void base.set(`${c.layout}/${c.dtype}`, row);
      if (c.kind === 'zeroB' || c.kind === 'scale0') return void expect(row, `${c.layout} ${c.dtype} ${c.kind}`).toEqual(base.get(`${c.layout}/${c.dtype}`));
      const w = models[c.layout].weightsByDtype[c.dtype]!;
      const ref = referenceForward(w, ids, { lora: adapters[c.kind].deltas }).logits.at(-1)!;
      const diff = maxAbsDiff(row, ref);
      console.info(`browser ${device} ${c.layout} ${c.dtype} ${c.kind}: max |logit - reference| = ${diff.toExponential(2)}`);
      expect(maxAbsDiff(ref, referenceForward(w, ids).logits.at(-1)!)).toBeGreaterThan(0.05);
      expect(diff, `${c.layout} ${c.dtype} ${c.kind}`).toBeLessThan(TOL[c.dtype]);
    });
    // Every file came from the test's own origin (no model host, no CDN).
    expect(server.requests.some((p) => p.startsWith('/adapters/plain/'))).toBe(true);
  }, 900_000);
});
