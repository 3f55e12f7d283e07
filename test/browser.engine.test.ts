/**
 * The engine conformance suite in headless Chromium, through the comlink
 * worker, on WASM and on WebGPU (SwiftShader), with the fixture model served
 * from the test's own origin; and the trial plan built in the browser bundle
 * compared byte for byte with Node's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer } from '@huggingface/transformers';
import { hasBrowser } from './support/browser';
import { buildHarness, runHarnessPage } from './support/harness-page';
import { serveStatic, type StaticServer } from './support/static-server';
import { writeFixtureModel, referenceForward } from './fixture/model';
import { conformanceInputs, type InputSize } from './conformance/inputs';
import { TransformersEngine } from '../workers/transformers-engine';
import { decisionMessages } from '../src/lib/prompts';
import { buildPlan, serializePlan } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { builtinScenarioSet } from '../src/lib/scenarios';

// SwiftShader runs WebGPU on the CPU at about a second per forward pass: far fewer
// trials there (Node and WASM check 200 constrained reports).
const SIZES = [
  ['wasm', false, { reports: 200, freeReports: 40, size: { scenarios: 4, trials: 8 } }],
  ['webgpu', true, { reports: 3, freeReports: 1, maxReplyTokens: 8, size: { scenarios: 2, trials: 3 } }],
] as const;

let tmp: string;
let server: StaticServer;
/** Reference log-probabilities for the first scenario's options, per input size. */
let expectedFor: (size: InputSize) => Array<[number, number]>;

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'browser-engine-'));
  const info = await writeFixtureModel(join(tmp, 'models', 'tiny-llama'), { seed: 11 });
  await buildHarness(join(tmp, 'site'));
  // Reference log-probabilities from the independent forward pass (Node).
  const engine = new TransformersEngine({ allowRemoteModels: false });
  await engine.load({ model: info.dir, device: 'cpu', dtype: 'fp32' });
  const tok = await AutoTokenizer.from_pretrained(info.dir);
  const [idA, idB] = ['A', 'B'].map((l) => tok.encode(l, { add_special_tokens: false })[0]);
  const prompts = new Map<string, number[][]>();
  for (const size of SIZES.map((s) => s[2].size)) {
    const { scenarios, options } = conformanceInputs(size);
    prompts.set(JSON.stringify(size), options[0].map(({ a, b }) => engine.promptIds(decisionMessages(scenarios[0], a, b))));
  }
  expectedFor = (size) => prompts.get(JSON.stringify(size))!.map((ids) => {
    const { logits } = referenceForward(info.weights, ids);
    const row = logits[logits.length - 1];
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    return [row[idA] - lse, row[idB] - lse];
  });
  await engine.unload();
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models') });
}, 180_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const runPage = (config: object, webgpu = false) => runHarnessPage(server, config, webgpu);

describe.skipIf(!hasBrowser)('in headless Chromium', () => {
  it('builds a byte-identical trial plan in the browser bundle and in Node', async () => {
    const spec = presetSpec('paper', { model: { id: 'any' }, control: { id: 'other' }, seed: 'node-vs-browser' });
    const node = serializePlan(buildPlan(spec, builtinScenarioSet('node-vs-browser').scenarios));
    const result = await runPage({ mode: 'plan' });
    expect(result.ok).toBe(true);
    expect(result.plan!.length).toBe(node.length);
    expect(result.plan === node).toBe(true);
  });

  it.each(SIZES)('passes the engine conformance suite through the worker on %s', async (device, webgpu, sizes) => {
    const requestsBefore = server.requests.length;
    const result = await runPage({ mode: 'conformance', device, modelId: 'tiny-llama', expected: expectedFor(sizes.size), ...sizes }, webgpu);
    expect(result.error ?? '').toBe('');
    expect(result.ok).toBe(true);
    expect(result.crossOriginIsolated).toBe(true);
    const checks = result.checks as Array<{ name: string; figures?: Record<string, unknown> }>;
    console.info(`browser ${device} figures:`, JSON.stringify(checks.map((c) => c.figures ?? {})));
    expect(checks[0].figures?.device).toBe(device);
    // The runtime came from our own origin: the only requests are to the local server.
    expect(server.requests.slice(requestsBefore).some((p) => p.startsWith('/ort/'))).toBe(true);
  }, 600_000);
});
