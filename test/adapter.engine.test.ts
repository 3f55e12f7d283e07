/**
 * LoRA adapters applied by the transformers.js engine in Node (onnxruntime-node):
 * for each fixture layout (Optimum names, ModelBuilder packed qkv, external
 * data) and dtype (fp32, q4 MatMulNBits, q8 MatMulInteger), the logits with a
 * random rank-8 adapter on all seven projections equal the float64 reference
 * with W + s·B·A (the dequantized base for q4/q8); B = 0 and scale 0 give the
 * base model bit for bit; a bad adapter fails clearly and leaves the loaded
 * model as it was.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEngine } from '../workers/transformers-engine';
import { referenceForward, writeFixtureModel, type FixtureInfo } from './fixture/model';
import { buildFixtureAdapter, type FixtureAdapter, type FixtureAdapterOptions } from './fixture/adapter';
import type { FixtureDtype, FixtureOptions } from './fixture/build';
import { decisionMessages } from '../src/lib/prompts';
import { conformanceInputs } from './conformance/inputs';
import { maxAbsDiff } from './support/real-models';

/**
 * fp32 and q4 (dequantized base): 1e-4. q8 also quantizes each projection's
 * input to uint8 at run time; the reference emulates that in float64, and where
 * onnxruntime's float32 activation sits on a rounding boundary one code flips
 * (one step ≈ 1e-3 of the range), so q8 is held to 1e-3.
 */
const TOL: Record<FixtureDtype, number> = { fp32: 1e-4, q4: 1e-4, q8: 1e-3 };

let root: string;
const models: Record<string, FixtureInfo> = {};
const adapters: Record<string, FixtureAdapter & { dir: string }> = {};
let ids: number[];

async function writeAdapter(name: string, info: FixtureInfo, opts: FixtureAdapterOptions) {
  const a = buildFixtureAdapter(info.config, opts);
  const dir = join(root, 'adapters', name);
  await mkdir(dir, { recursive: true });
  for (const [f, bytes] of Object.entries(a.files)) await writeFile(join(dir, f), bytes);
  adapters[name] = { ...a, dir };
  return adapters[name];
}

const LAYOUTS: Record<string, FixtureOptions> = {
  optimum: { layout: 'optimum', dtypes: ['fp32', 'q4', 'q8'] },
  modelbuilder: { layout: 'modelbuilder', dtypes: ['fp32', 'q4', 'q8'] },
  external: { layout: 'optimum', dtypes: ['fp32', 'q4'], externalData: true },
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'adapter-engine-'));
  for (const [name, opts] of Object.entries(LAYOUTS))
    // The folder is named like the adapter's base model (base_model_name_or_path is checked).
    models[name] = await writeFixtureModel(join(root, name, 'fixture-llama'), { seed: 5, ...opts });
  const c = models.optimum;
  await writeAdapter('plain', c, { seed: 1, r: 8, alpha: 16 });
  await writeAdapter('rslora', c, { seed: 2, r: 8, alpha: 16, rslora: true });
  await writeAdapter('zeroB', c, { seed: 3, zeroB: true });
  const e = new TransformersEngine({ allowRemoteModels: false });
  await e.load({ model: c.dir, device: 'cpu', dtype: 'fp32' });
  const { scenarios, options } = conformanceInputs();
  ids = e.promptIds(decisionMessages(scenarios[0], options[0][0].a, options[0][0].b));
  await e.unload();
}, 120_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function logitsOf(model: string, dtype: string, adapter?: { id: string; scale?: number }) {
  const e = new TransformersEngine({ allowRemoteModels: false });
  const caps = await e.load({ model, device: 'cpu', dtype, adapter });
  const logits = await e.nextTokenLogits(ids);
  await e.unload();
  return { logits, caps };
}

const CASES = Object.entries(LAYOUTS).flatMap(([layout, o]) => o.dtypes!.flatMap((dtype) => (['plain', 'rslora'] as const).map((a) => [layout, dtype, a] as const)));

describe('LoRA in the transformers.js engine (Node): logits equal the W + s·B·A reference', () => {
  it.each(CASES)('%s layout, %s, %s adapter (rank 8, all seven projections)', async (layout, dtype, name) => {
    const info = models[layout];
    const a = adapters[name];
    const { logits, caps } = await logitsOf(info.dir, dtype, { id: a.dir });
    const w = info.weightsByDtype[dtype]!;
    const ref = referenceForward(w, ids, { lora: a.deltas }).logits.at(-1)!;
    const base = referenceForward(w, ids).logits.at(-1)!;
    const diff = maxAbsDiff(logits, ref);
    console.info(`${layout} ${dtype} ${name}: max |logit - reference| = ${diff.toExponential(2)} (the adapter moves logits by ${maxAbsDiff(ref, base).toFixed(3)})`);
    // The adapter matters (so this comparison can fail) ...
    expect(maxAbsDiff(ref, base)).toBeGreaterThan(0.05);
    // ... and is applied exactly.
    expect(diff).toBeLessThan(TOL[dtype]);
    expect(caps.adapter).toBe(a.dir);
    expect(caps.adapterInfo!.modules).toHaveLength(14);
    expect(caps.adapterInfo!.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it.each(Object.entries(LAYOUTS).flatMap(([layout, o]) => o.dtypes!.map((d) => [layout, d] as const)))(
    '%s layout, %s: B = 0 and scale 0 give the base model bit for bit',
    async (layout, dtype) => {
      const info = models[layout];
      const base = await logitsOf(info.dir, dtype);
      const zero = await logitsOf(info.dir, dtype, { id: adapters.zeroB.dir });
      const scaled = await logitsOf(info.dir, dtype, { id: adapters.plain.dir, scale: 0 });
      expect(Array.from(zero.logits)).toEqual(Array.from(base.logits));
      expect(Array.from(scaled.logits)).toEqual(Array.from(base.logits));
    },
    60_000,
  );
});

describe('LoRA config fields and bad adapters in the engine', () => {
  it('honours rank_pattern, alpha_pattern and a regex target_modules that picks a layer (F16 weights)', async () => {
    const info = models.optimum;
    const a = await writeAdapter('patterns', info, {
      seed: 7,
      r: 8,
      alpha: 16,
      dtype: 'F16',
      targets: ['q', 'v', 'down'],
      layers: [1],
      rankPattern: { v_proj: 4 },
      alphaPattern: { 'layers.1.mlp.down_proj': 64 },
      // PEFT refuses layers_to_transform beside a regex target_modules: the regex names the layer.
      config: { target_modules: String.raw`.*\.layers\.1\.(self_attn\.q_proj|self_attn\.v_proj|mlp\.down_proj)`, layers_to_transform: null },
    });
    const { logits, caps } = await logitsOf(info.dir, 'fp32', { id: a.dir, scale: 0.5 });
    const deltas = a.deltas.map((layer) => Object.fromEntries(Object.entries(layer).map(([k, d]) => [k, d!.map((v) => v * 0.5)])));
    const ref = referenceForward(info.weightsByDtype.fp32!, ids, { lora: deltas }).logits.at(-1)!;
    expect(caps.adapterInfo!.modules).toEqual(['model.layers.1.mlp.down_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
    expect(maxAbsDiff(logits, ref)).toBeLessThan(1e-4);
    expect(maxAbsDiff(ref, referenceForward(info.weightsByDtype.fp32!, ids).logits.at(-1)!)).toBeGreaterThan(0.05);
  }, 60_000);

  it('refuses each bad adapter with a clear error; nothing is half-applied and the loaded model stays usable', async () => {
    const info = models.optimum;
    const other = await writeFixtureModel(join(root, 'three-layers', 'fixture-llama'), { seed: 5, numLayers: 3 });
    const wide = await writeFixtureModel(join(root, 'wide', 'fixture-llama'), { seed: 5, intermediateSize: 96 });
    const bad: Array<[string, string, RegExp]> = [
      ['missing module', (await writeAdapter('three', other, { seed: 1 })).dir, /model\.layers\.2\..*does not have/],
      ['shape', (await writeAdapter('wide', wide, { seed: 1 })).dir, /features/],
      ['other base model', (await writeAdapter('otherbase', info, { seed: 1, baseModel: 'Qwen/Qwen2.5-0.5B-Instruct' })).dir, /base_model_name_or_path|trained on/],
      ['DoRA', (await writeAdapter('dora', info, { seed: 1, config: { use_dora: true } })).dir, /use_dora/],
      ['missing folder', join(root, 'adapters', 'nope'), /adapter_config\.json/],
    ];
    const trunc = await writeAdapter('truncated', info, { seed: 1 });
    await writeFile(join(trunc.dir, 'adapter_model.safetensors'), trunc.files['adapter_model.safetensors'].subarray(0, 1000));
    bad.push(['truncated weights', trunc.dir, /safetensors/]);

    const e = new TransformersEngine({ allowRemoteModels: false });
    const caps = await e.load({ model: info.dir, device: 'cpu', dtype: 'fp32', adapter: { id: adapters.plain.dir } });
    const before = await e.nextTokenLogits(ids);
    for (const [what, dir, pattern] of bad) {
      const err = await e.load({ model: info.dir, device: 'cpu', dtype: 'fp32', adapter: { id: dir } }).then(
        () => null,
        (x: Error) => x,
      );
      expect(err, what).not.toBeNull();
      expect(err!.message, what).toMatch(/^\[bad_adapter\]/);
      expect(err!.message, what).toMatch(pattern);
      // The model with the earlier adapter is still loaded and computes exactly as before.
      expect(await e.capabilities()).toEqual(caps);
      expect(Array.from(await e.nextTokenLogits(ids))).toEqual(Array.from(before));
    }
    await e.unload();
  }, 120_000);
});
