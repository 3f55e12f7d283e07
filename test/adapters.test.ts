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
  readSafetensors,
  sameBaseModel,
  whyNotTargeted,
  writeSafetensors,
  adapterSource,
} from '../src/lib/adapters';
import { readAdapterFiles } from '../workers/adapter-files';
import { buildFixtureAdapter } from './fixture/adapter';
import { buildFixture } from './fixture/build';
import { mulberry32 } from './fixture/weights';

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

  it('patches in place when given headroom, appending only the adapter', () => {
    const adapter = adapterFor({ r: 8 });
    const buffer = new Uint8Array(model.length + (1 << 20));
    buffer.set(model);
    const r = patchOnnxWithLora(buffer, model.length, adapter);
    expect(r.inPlace).toBe(true);
    expect(r.bytes.buffer).toBe(buffer.buffer);
    expect(r.applied).toHaveLength(14);
    const adapterBytes = adapter.modules.reduce((n, m) => n + 4 * m.r * (m.inFeatures + m.outFeatures), 0);
    expect(r.addedBytes).toBeGreaterThan(adapterBytes);
    expect(r.addedBytes).toBeLessThan(adapterBytes + 14 * 1024);
    // Without headroom: a copy, and the caller's bytes stay as they were.
    const plain = model.slice();
    const copy = patchOnnxWithLora(plain, plain.length, adapter);
    expect(copy.inPlace).toBe(false);
    expect(sameBytes(plain, model)).toBe(true);
    expect(sameBytes(copy.bytes, r.bytes)).toBe(true);
  });
});
