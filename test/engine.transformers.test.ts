/**
 * The engine conformance suite on the transformers.js engine in Node
 * (onnxruntime-node), with the generated fixture model. The same checks run
 * in Chromium through the worker (test/browser).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer } from '@huggingface/transformers';
import { TransformersEngine } from '../workers/transformers-engine';
import { fp32SizeMBOnDisk } from '../workers/model-files';
import { chooseBuild, NODE_FP32_MAX_MB } from '../src/lib/models/build-choice';
import { checks, finalChecks, type ConformanceContext, type Figures } from './conformance/checks';
import { conformanceInputs } from './conformance/inputs';
import { referenceForward, writeFixtureModel, type FixtureInfo } from './fixture/model';
import { decisionMessages } from '../src/lib/prompts';

let dir: string;
let info: FixtureInfo;
let ctx: ConformanceContext;
const engine = new TransformersEngine({ allowRemoteModels: false });
const figures: Record<string, Figures | void> = {};

function logSoftmax(row: Float64Array): Float64Array {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - max);
  const lse = max + Math.log(s);
  return row.map((x) => x - lse);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engine-fixture-'));
  info = await writeFixtureModel(dir, { seed: 11 });
  await engine.load({ model: info.dir, device: 'cpu', dtype: 'fp32' });
  const inputs = conformanceInputs();
  const tok = await AutoTokenizer.from_pretrained(info.dir);
  const [idA, idB] = ['A', 'B'].map((l) => tok.encode(l, { add_special_tokens: false })[0]);
  const expected = inputs.options[0].map(({ a, b }) => {
    const ids = engine.promptIds(decisionMessages(inputs.scenarios[0], a, b));
    const { logits } = referenceForward(info.weights, ids);
    const lp = logSoftmax(logits[logits.length - 1]);
    return [lp[idA], lp[idB]] as [number, number];
  });
  ctx = {
    engine,
    ...inputs,
    expected,
    reports: 200,
    setPrefixReuse: async (on) => engine.setPrefixReuse(on),
    missingModel: join(dir, 'no-such-model'),
  };
});

afterAll(async () => {
  console.info('transformers.js engine (Node) figures:', JSON.stringify(figures));
  await engine.unload();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('transformers.js engine in Node (onnxruntime-node): conformance', () => {
  for (const c of [...checks, ...finalChecks]) it(c.name, async () => void (figures[c.name] = await c.run(ctx)));
});

describe('transformers.js engine internals', () => {
  it('reuses the shared prefix: later trials of a scenario feed only their own tokens', async () => {
    const e = new TransformersEngine({ allowRemoteModels: false });
    await e.load({ model: info.dir, device: 'cpu', dtype: 'fp32' });
    const { scenarios, options } = conformanceInputs();
    for (const { a, b } of options[0]) await e.scoreChoice(decisionMessages(scenarios[0], a, b), ['A', 'B']);
    const promptLength = e.promptIds(decisionMessages(scenarios[0], options[0][0].a, options[0][0].b)).length;
    // First trial: full prompt; second: prefix + suffix; the rest: suffix only.
    expect(e.stats.prefixHits).toBe(options[0].length - 2);
    expect(e.stats.tokensFed).toBeLessThan(promptLength * options[0].length * 0.7);
    await e.unload();
  });

  it('tokenises a hinted next prompt during the current forward pass, with identical results', async () => {
    const e = new TransformersEngine({ allowRemoteModels: false });
    await e.load({ model: info.dir, device: 'cpu', dtype: 'fp32' });
    const { scenarios, options } = conformanceInputs();
    const [m1, m2] = options[1].slice(0, 2).map(({ a, b }) => decisionMessages(scenarios[1], a, b));
    const plain = [await e.scoreChoice(m1, ['A', 'B']), await e.scoreChoice(m2, ['A', 'B'])];
    await e.prepare(m2);
    const first = await e.scoreChoice(m1, ['A', 'B']);
    expect((e as unknown as { tokenized: Map<string, number[]> }).tokenized.size).toBe(1);
    const second = await e.scoreChoice(m2, ['A', 'B']);
    expect((e as unknown as { tokenized: Map<string, number[]> }).tokenized.size).toBe(0);
    expect(first.logprobs[0]).toBeCloseTo(plain[0].logprobs[0], 6);
    expect(second.logprobs[1]).toBeCloseTo(plain[1].logprobs[1], 6);
    await e.unload();
  });

  it('"auto" in Node loads fp32 (the model\'s own numbers) when its file is on disk and small enough, q8 when fp32 is too large', async () => {
    const both = join(dir, 'both');
    const fixture = await writeFixtureModel(both, { seed: 11, dtypes: ['fp32', 'q8'] });
    expect(await fp32SizeMBOnDisk(fixture.dir)).toBeGreaterThan(0);
    const e = new TransformersEngine({ allowRemoteModels: false });
    expect((await e.load({ model: fixture.dir, device: 'cpu', dtype: 'auto' })).dtype).toBe('fp32');
    await e.unload();
    // The same folder with an fp32 file reported over the limit: q8.
    expect(chooseBuild('cpu', { available: ['fp32', 'q8'], sizeMB: { fp32: NODE_FP32_MAX_MB + 1 } }).dtype).toBe('q8');
  });

  it('rejects an adapter it cannot read, and dtypes the device cannot run', async () => {
    const e = new TransformersEngine({ allowRemoteModels: false });
    await expect(e.load({ model: info.dir, adapter: { id: join(dir, 'no-such-adapter') } })).rejects.toThrow(/bad_adapter.*adapter_config\.json/);
    await expect(e.load({ model: info.dir, device: 'webgpu' })).rejects.toThrow(/unsupported/);
  });
});
