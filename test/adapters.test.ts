/**
 * The pure adapter core: the safetensors reader (including a seeded fuzz run),
 * PEFT config validation and the math-changing fields, and the ONNX patcher's
 * refusals. The engine-level acceptance is in adapter.engine.test.ts.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AdapterError,
  buildLoraAdapter,
  deltaWeight,
  moduleScale,
  parseLoraConfig,
  patchOnnxWithLora,
  readOnnxGraph,
  type BaseModelConfig,
  readSafetensors,
  sameBaseModel,
  whyNotTargeted,
  writeSafetensors,
  adapterSource,
  f16ToF32,
  f32ToF16,
} from '../src/lib/adapters';
import { readAdapterFiles } from '../workers/adapter-files';
import { buildFixtureAdapter } from './fixture/adapter';
import { buildFixture } from './fixture/build';
import { mulberry32 } from './fixture/weights';
import { DT, GraphBuilder, I } from './fixture/onnx';
import { quantizeQ4, Q4_BLOCK } from './fixture/quant';
import * as ort from 'onnxruntime-node';

const fixture = buildFixture({ seed: 3 });
const config = fixture.config;
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

function expectAdapterError(fn: () => unknown, code: string, pattern: RegExp, field?: string) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AdapterError);
  const e = err as AdapterError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(pattern);
  if (field) expect(e.field).toBe(field);
}

describe('safetensors reader', () => {
  const tensors = [
    { name: 'a', dtype: 'F32' as const, shape: [2, 3], data: [1, -2, 3.5, 0, 1e-8, -7] },
    { name: 'b', dtype: 'F16' as const, shape: [3], data: [0.5, -1.25, 65504] },
    { name: 'c', dtype: 'BF16' as const, shape: [2], data: [1.5, -256] },
  ];
  const file = writeSafetensors(tensors, { format: 'pt' });

  it('reads F32, F16 and BF16 exactly, with metadata', () => {
    const r = readSafetensors(file);
    expect([...r.tensors.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(Array.from(r.tensors.get('a')!.data)).toEqual(tensors[0].data.map(Math.fround));
    expect(Array.from(r.tensors.get('b')!.data)).toEqual([0.5, -1.25, 65504]);
    expect(Array.from(r.tensors.get('c')!.data)).toEqual([1.5, -256]);
    expect(r.tensors.get('a')!.shape).toEqual([2, 3]);
    expect(r.metadata).toEqual({ format: 'pt' });
  });

  const headerOf = (f: Uint8Array) => {
    const n = Number(new DataView(f.buffer).getBigUint64(0, true));
    return JSON.parse(new TextDecoder().decode(f.subarray(8, 8 + n)));
  };
  const withHeader = (h: unknown, data: Uint8Array) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  };
  const data = (() => {
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    return file.subarray(8 + n);
  })();

  it.each([
    ['a truncated file', () => file.subarray(0, 5), /shorter than the 8-byte header/],
    ['a header length beyond the file', () => { const f = file.slice(); new DataView(f.buffer).setBigUint64(0, 1n << 40n, true); return f; }, /beyond the end of the file/],
    ['a cut data block', () => file.subarray(0, file.length - 3), /outside the .*data block|needs/],
    ['overlapping tensors', () => { const h = headerOf(file); h.b.data_offsets = [h.a.data_offsets[0], h.a.data_offsets[0] + 6]; return withHeader(h, data); }, /overlap/],
    ['out-of-range offsets', () => { const h = headerOf(file); h.c.data_offsets = [10_000, 10_004]; return withHeader(h, data); }, /outside the/],
    ['an unknown dtype', () => { const h = headerOf(file); h.a.dtype = 'F42'; return withHeader(h, data); }, /unknown dtype "F42"/],
    ['a dtype LoRA weights never have', () => { const h = headerOf(file); h.a.dtype = 'I64'; return withHeader(h, data); }, /dtype I64; LoRA weights must be F32, F16 or BF16/],
    ['a shape that disagrees with the offsets', () => { const h = headerOf(file); h.a.shape = [3, 3]; return withHeader(h, data); }, /needs 36 bytes but its offsets span 24/],
    ['a header that is not JSON', () => withHeader(null, data).map((b, i) => (i === 8 ? 0x7b : b)), /not valid UTF-8 JSON|not a JSON object/],
  ])('refuses %s with a clear error', (_name, make, pattern) => {
    expectAdapterError(() => readSafetensors(make()), 'corrupt', pattern);
  });

  it('survives a seeded fuzz run: random and mutated files only ever fail with AdapterError', () => {
    const rand = mulberry32(20261130);
    const int = (n: number) => Math.floor(rand() * n);
    const valid = buildFixtureAdapter(config, { r: 2, targets: ['q', 'v'], layers: [0] }).files['adapter_model.safetensors'];
    let ok = 0;
    let refused = 0;
    for (let iter = 0; iter < 3000; iter++) {
      let f: Uint8Array;
      const kind = iter % 4;
      if (kind === 0) f = Uint8Array.from({ length: int(64) }, () => int(256));
      else {
        f = valid.slice();
        if (kind === 1) for (let k = 1 + int(8); k > 0; k--) f[int(f.length)] = int(256);
        else if (kind === 2) f = f.subarray(0, int(f.length));
        else {
          // Mutate the header text: digits, quotes and brackets are where parsers break.
          const n = Number(new DataView(f.buffer).getBigUint64(0, true));
          for (let k = 1 + int(4); k > 0; k--) f[8 + int(n)] = '0123456789[]{}",:-eE'.charCodeAt(int(20));
          if (rand() < 0.2) new DataView(f.buffer).setBigUint64(0, BigInt(int(2 * n + 16)), true);
        }
      }
      try {
        readSafetensors(f);
        buildLoraAdapter({ config: buildFixtureAdapter(config, { r: 2, targets: ['q', 'v'], layers: [0] }).files['adapter_config.json'], weights: f });
        ok++;
      } catch (e) {
        if (!(e instanceof AdapterError)) throw new Error(`iteration ${iter}: ${String(e)}`);
        refused++;
      }
    }
    console.info(`fuzz: 3000 files, ${ok} accepted, ${refused} refused with AdapterError`);
    expect(refused).toBeGreaterThan(1000);
  });
});

describe('PEFT config', () => {
  const base = { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] };
  it.each([
    [{ use_dora: true }, 'use_dora'],
    [{ bias: 'all' }, 'bias'],
    [{ lora_bias: true }, 'lora_bias'],
    [{ modules_to_save: ['lm_head'] }, 'modules_to_save'],
    [{ init_lora_weights: 'pissa_niter_4' }, 'init_lora_weights'],
    [{ init_lora_weights: 'olora' }, 'init_lora_weights'],
    [{ peft_type: 'IA3' }, 'peft_type'],
    [{ trainable_token_indices: [1, 2] }, 'trainable_token_indices'],
  ])('refuses %j naming the field', (extra, field) => {
    expectAdapterError(() => parseLoraConfig({ ...base, ...extra }), 'unsupported', new RegExp(field), field);
  });

  it('refuses malformed fields naming them', () => {
    expectAdapterError(() => parseLoraConfig({ ...base, r: 0 }), 'corrupt', /r must be a positive integer/, 'r');
    expectAdapterError(() => parseLoraConfig({ ...base, target_modules: 42 }), 'corrupt', /target_modules/, 'target_modules');
    expectAdapterError(() => parseLoraConfig({ ...base, target_modules: '(?P<x>q)' }), 'corrupt', /target_modules is not a regular expression/, 'target_modules');
    expectAdapterError(() => parseLoraConfig('{nope'), 'corrupt', /not valid JSON/);
  });

  it('targets modules as PEFT does: list suffixes, full-match regex, all-linear, exclusions, layers', () => {
    const q0 = 'model.layers.0.self_attn.q_proj';
    const k1 = 'model.layers.1.self_attn.k_proj';
    const c = (extra: object) => parseLoraConfig({ ...base, ...extra });
    expect(whyNotTargeted(c({}), q0)).toBeNull();
    expect(whyNotTargeted(c({}), k1)).toBe('target_modules');
    expect(whyNotTargeted(c({ target_modules: String.raw`.*\.layers\.1\..*_proj` }), k1)).toBeNull();
    expect(whyNotTargeted(c({ target_modules: 'k_proj' }), k1)).toBe('target_modules'); // a regex matches the whole name
    expect(whyNotTargeted(c({ target_modules: 'all-linear' }), k1)).toBeNull();
    expect(whyNotTargeted(c({ target_modules: 'all-linear' }), 'lm_head')).toBe('target_modules');
    expect(whyNotTargeted(c({ target_modules: 'all-linear', exclude_modules: ['k_proj'] }), k1)).toBe('exclude_modules');
    expect(whyNotTargeted(c({ layers_to_transform: [1] }), q0)).toBe('layers_to_transform');
    expect(whyNotTargeted(c({ layers_to_transform: 0, layers_pattern: 'layers' }), q0)).toBeNull();
  });

  it('computes the scale from r, lora_alpha, use_rslora and the rank/alpha patterns', () => {
    const c = parseLoraConfig({ ...base, rank_pattern: { q_proj: 4 }, alpha_pattern: { 'layers.1.self_attn.v_proj': 64 } });
    expect(moduleScale(c, 'model.layers.0.self_attn.q_proj')).toEqual({ r: 4, alpha: 16, scale: 4 });
    expect(moduleScale(c, 'model.layers.1.self_attn.v_proj')).toEqual({ r: 8, alpha: 64, scale: 8 });
    expect(moduleScale(c, 'model.layers.0.self_attn.v_proj')).toEqual({ r: 8, alpha: 16, scale: 2 });
    const rs = parseLoraConfig({ ...base, use_rslora: true });
    expect(moduleScale(rs, 'model.layers.0.self_attn.v_proj').scale).toBeCloseTo(16 / Math.sqrt(8), 12);
    expect(parseLoraConfig({ ...base, fan_in_fan_out: true }).fanInFanOut).toBe(true);
  });

  it('compares base models by name, ignoring the ONNX export suffix and the organisation', () => {
    expect(sameBaseModel('Qwen/Qwen2.5-0.5B-Instruct', 'onnx-community/Qwen2.5-0.5B-Instruct')).toBe(true);
    expect(sameBaseModel('/tmp/x/llama-tiny', '/tmp/x/llama-tiny-onnx')).toBe(true);
    expect(sameBaseModel('Qwen/Qwen2.5-0.5B-Instruct', 'onnx-community/Qwen2.5-1.5B-Instruct')).toBe(false);
  });
});

describe('adapter files', () => {
  const files = buildFixtureAdapter(config, { r: 4 }).files;
  const build = (cfg: object, weights = files['adapter_model.safetensors']) =>
    buildLoraAdapter({ config: enc({ ...JSON.parse(new TextDecoder().decode(files['adapter_config.json'])), ...cfg }), weights }, { baseModel: '/models/fixture-llama' });

  it('gives every module A, B and its scale; the delta is s·B·A', () => {
    const a = build({});
    expect(a.modules).toHaveLength(14);
    const m = a.modules.find((x) => x.name === 'model.layers.1.mlp.down_proj')!;
    expect([m.r, m.inFeatures, m.outFeatures, m.scale]).toEqual([4, config.intermediateSize, config.hiddenSize, 16 / 4]);
    const d = deltaWeight(m);
    let expected = 0;
    for (let k = 0; k < m.r; k++) expected += m.scale * m.B[3 * m.r + k] * m.A[k * m.inFeatures + 5];
    expect(d[3 * m.inFeatures + 5]).toBeCloseTo(expected, 12);
  });

  it('refuses weights the config rules out, a rank the config contradicts, DoRA and embedding weights, NaN, another base model', () => {
    expectAdapterError(() => build({ target_modules: ['q_proj'] }), 'inconsistent', /rules out/, 'target_modules');
    expectAdapterError(() => build({ r: 8 }), 'inconsistent', /rank 4 in the weights but 8/, 'r');
    expectAdapterError(() => build({ base_model_name_or_path: 'meta-llama/Llama-3.2-1B' }), 'mismatch', /trained on "meta-llama\/Llama-3.2-1B"/, 'base_model_name_or_path');
    const tensor = (name: string, data = [1, 2]) => writeSafetensors([{ name, dtype: 'F32', shape: [data.length], data }]);
    expectAdapterError(() => build({}, tensor('base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector')), 'unsupported', /DoRA/, 'use_dora');
    expectAdapterError(() => build({}, tensor('base_model.model.model.embed_tokens.lora_embedding_A')), 'unsupported', /embedding LoRA/, 'target_modules');
    expectAdapterError(() => build({}, tensor('base_model.model.lm_head.weight')), 'unsupported', /not a LoRA A\/B matrix/);
    const nan = writeSafetensors([
      { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', dtype: 'F32', shape: [4, 64], data: Array.from({ length: 256 }, (_, i) => (i === 7 ? NaN : 0.1)) },
      { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', dtype: 'F32', shape: [64, 4], data: new Array(256).fill(0.1) },
    ]);
    expectAdapterError(() => build({}, nan), 'corrupt', /NaN or infinite/);
  });

  it('reads a local folder, and refuses adapter_model.bin saying how to convert it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adapter-files-'));
    try {
      await mkdir(join(dir, 'ok'));
      for (const [f, b] of Object.entries(files)) await writeFile(join(dir, 'ok', f), b);
      const read = await readAdapterFiles(join(dir, 'ok'));
      expect(sameBytes(read.weights, files['adapter_model.safetensors'])).toBe(true);
      expect(read.sha256).toMatch(/^[0-9a-f]{64}$/);
      await mkdir(join(dir, 'pickle'));
      await writeFile(join(dir, 'pickle', 'adapter_config.json'), files['adapter_config.json']);
      await writeFile(join(dir, 'pickle', 'adapter_model.bin'), new Uint8Array([0x80, 2]));
      await expect(readAdapterFiles(join(dir, 'pickle'))).rejects.toThrow(/pickle.*save_pretrained.*safe_serialization=True/s);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names each source kind', () => {
    expect(adapterSource('stored:instilled-100')).toEqual({ kind: 'stored', location: 'instilled-100' });
    expect(adapterSource('me/qwen-instilled')).toEqual({ kind: 'hub', location: 'me/qwen-instilled' });
    expect(adapterSource('/adapters/x/')).toEqual({ kind: 'path', location: '/adapters/x' });
    expect(adapterSource('https://example.org/a')).toEqual({ kind: 'url', location: 'https://example.org/a' });
  });
});

/** Byte equality of large arrays (vitest's deep equality is slow on megabytes). */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

describe('ONNX patcher', () => {
  const model = fixture.files['onnx/model.onnx'];
  const adapterFor = (opts: Parameters<typeof buildFixtureAdapter>[1], cfg = config) => {
    const f = buildFixtureAdapter(cfg, opts).files;
    return buildLoraAdapter({ config: f['adapter_config.json'], weights: f['adapter_model.safetensors'] });
  };

  it('refuses a module the graph lacks and a shape that differs, leaving the bytes untouched', () => {
    const before = model.slice();
    const buffer = new Uint8Array(model.length + (1 << 20));
    buffer.set(model);
    const snapshot = buffer.slice();
    expectAdapterError(() => patchOnnxWithLora(buffer, model.length, adapterFor({}, { ...config, numLayers: 3 })), 'mismatch', /model.layers.2.*does not have/);
    expectAdapterError(() => patchOnnxWithLora(buffer, model.length, adapterFor({}, { ...config, intermediateSize: 96 })), 'mismatch', /features/);
    expect(sameBytes(buffer, snapshot)).toBe(true);
    expect(sameBytes(model, before)).toBe(true);
  });

  it("checks that a packed qkv_proj is as wide as config.json's q + k + v, with a clear error", () => {
    const mb = buildFixture({ seed: 3, layout: 'modelbuilder' });
    const graph = mb.files['onnx/model.onnx'];
    const hf = JSON.parse(new TextDecoder().decode(mb.files['config.json'])) as BaseModelConfig;
    const vOnly = adapterFor({ targets: ['v'], layers: [0] });
    // The right config: v lands on its slice.
    expect(patchOnnxWithLora(graph.slice(), graph.length, vOnly, { config: hf }).applied.map((a) => a.module)).toEqual(['model.layers.0.self_attn.v_proj']);
    // A config of another model (twice the heads): v's offset and the branch's width would be wrong, and
    // only ONNX Runtime would notice. The patcher says so first, naming the numbers.
    const wrong = { ...hf, num_attention_heads: 2 * hf.num_attention_heads! };
    const q = config.numHeads * config.headDim;
    const kv = config.numKvHeads * config.headDim;
    expectAdapterError(
      () => patchOnnxWithLora(graph.slice(), graph.length, vOnly, { config: wrong }),
      'mismatch',
      new RegExp(`packs q, k and v into ${q + 2 * kv} outputs, but the model's config.json \\(num_attention_heads ${2 * config.numHeads},.*\\) gives q ${2 * q} \\+ k ${kv} \\+ v ${kv} = ${2 * q + 2 * kv}`),
      'config.json',
    );
  });

  it('patches in place when given headroom, appending only the adapter and the node list', () => {
    const adapter = adapterFor({ r: 8 });
    const buffer = new Uint8Array(model.length + (1 << 20));
    buffer.set(model);
    const r = patchOnnxWithLora(buffer, model.length, adapter);
    expect(r.inPlace).toBe(true);
    expect(r.bytes.buffer).toBe(buffer.buffer);
    expect(r.applied).toHaveLength(14);
    const adapterBytes = adapter.modules.reduce((n, m) => n + 4 * m.r * (m.inFeatures + m.outFeatures), 0);
    // The node list is copied (in order, each branch after its projection); the weights are not.
    const nodeBytes = readOnnxGraph(model).nodes.reduce((n, x) => n + x.entry.body.end - x.entry.tag, 0);
    expect(r.addedBytes).toBeGreaterThan(adapterBytes);
    expect(r.addedBytes).toBeLessThan(adapterBytes + nodeBytes + 14 * 1024);
    // Without headroom: a copy, and the caller's bytes stay as they were.
    const plain = model.slice();
    const copy = patchOnnxWithLora(plain, plain.length, adapter);
    expect(copy.inPlace).toBe(false);
    expect(sameBytes(plain, model)).toBe(true);
    expect(sameBytes(copy.bytes, r.bytes)).toBe(true);
  });
});

describe('ONNX patcher on fp16 graphs (onnxruntime-node)', () => {
  // One projection in the layouts fp16 exports use: MatMul with fp16 weights
  // (fp16) and MatMulNBits with fp16 scales (q4f16). The branch runs in fp32
  // between two Casts; the sum is rounded to fp16 once more.
  const H = config.hiddenSize;
  const N = config.numHeads * config.headDim;
  const files = buildFixtureAdapter(config, { targets: ['q'], layers: [0], seed: 4 });
  const adapter = buildLoraAdapter({ config: files.files['adapter_config.json'], weights: files.files['adapter_model.safetensors'] });
  const zero = buildFixtureAdapter(config, { targets: ['q'], layers: [0], zeroB: true }).files;
  const zeroAdapter = buildLoraAdapter({ config: zero['adapter_config.json'], weights: zero['adapter_model.safetensors'] });
  const rand = mulberry32(8);
  const W = Float32Array.from({ length: H * N }, () => (2 * rand() - 1) / 8);
  const x = Float32Array.from({ length: 2 * H }, () => 2 * rand() - 1);
  const half = (a: Float32Array) => Uint16Array.from(a, f32ToF16);
  const unhalf = (a: Uint16Array) => Float64Array.from(a, f16ToF32);

  function graph(op: 'MatMul' | 'MatMulNBits'): { bytes: Uint8Array; Wused: Float64Array } {
    const g = new GraphBuilder();
    g.input('x', DT.FLOAT16, [2, H]);
    g.output('y', DT.FLOAT16, [2, N]);
    const node = '/model/layers.0/self_attn/q_proj/MatMul';
    if (op === 'MatMul') {
      g.initializer('onnx::MatMul_1', [H, N], half(W));
      g.named('MatMul', node, ['x', 'onnx::MatMul_1'], ['y']);
      return { bytes: g.toModel('fp16'), Wused: unhalf(half(W)) };
    }
    const q = quantizeQ4(W, H, N);
    const scales16 = half(q.scales);
    const blocks = H / Q4_BLOCK;
    const Wused = new Float64Array(H * N);
    for (let k = 0; k < H; k++) for (let n = 0; n < N; n++) Wused[k * N + n] = (q.dequant[k * N + n] / q.scales[n * blocks + Math.floor(k / Q4_BLOCK)]) * f16ToF32(scales16[n * blocks + Math.floor(k / Q4_BLOCK)]);
    g.initializer('w_Q4', [N, blocks, Q4_BLOCK / 2], q.packed);
    g.initializer('w_scales', [N * blocks], scales16);
    g.named('MatMulNBits', `${node}_Q4`, ['x', 'w_Q4', 'w_scales'], ['y'], { K: I(H), N: I(N), bits: I(4), block_size: I(Q4_BLOCK) }, 'com.microsoft');
    return { bytes: g.toModel('q4f16'), Wused };
  }

  async function run(bytes: Uint8Array): Promise<Uint16Array> {
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({ x: new ort.Tensor('float16', half(x), [2, H]) });
    await s.release();
    return out.y.data as Uint16Array;
  }

  it.each(['MatMul', 'MatMulNBits'] as const)('%s: y = x·(W + s·B·A) within fp16 rounding; B = 0 is the base bit for bit', async (op) => {
    const { bytes, Wused } = graph(op);
    const base = await run(bytes);
    const patched = await run(patchOnnxWithLora(bytes, bytes.length, adapter).bytes);
    const unchanged = await run(patchOnnxWithLora(bytes, bytes.length, zeroAdapter).bytes);
    expect(Array.from(unchanged)).toEqual(Array.from(base));
    const delta = files.deltas[0].q!;
    const xs = unhalf(half(x));
    let maxRef = 0;
    let maxErr = 0;
    let moved = 0;
    for (let t = 0; t < 2; t++)
      for (let n = 0; n < N; n++) {
        let ref = 0;
        let b = 0;
        for (let k = 0; k < H; k++) {
          ref += xs[t * H + k] * (Wused[k * N + n] + delta[k * N + n]);
          b += xs[t * H + k] * Wused[k * N + n];
        }
        maxRef = Math.max(maxRef, Math.abs(ref));
        maxErr = Math.max(maxErr, Math.abs(f16ToF32(patched[t * N + n]) - ref));
        moved = Math.max(moved, Math.abs(ref - b));
      }
    console.info(`fp16 ${op}: max |y - reference| = ${maxErr.toExponential(2)} (max |y| ${maxRef.toFixed(2)}, the adapter moves y by ${moved.toFixed(2)})`);
    expect(moved).toBeGreaterThan(0.1);
    // fp16 tolerance: a few half-precision ulps of the output's scale (2^-11 relative each).
    expect(maxErr).toBeLessThan(4 * 2 ** -11 * maxRef);
  });
});
