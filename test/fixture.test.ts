// The fixture model must be a faithful Llama: transformers.js + onnxruntime-node
// logits have to match the independent float64 reference, with and without a KV
// cache and with left padding, and the tokenizer has to round-trip any text.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import * as ortWeb from 'onnxruntime-web';
import { buildFixture, referenceForward, referenceGreedy, writeFixtureModel, type FixtureInfo } from './fixture/model';

env.allowRemoteModels = false;

const TOL = 1e-4;

// Loose types: transformers.js's declared types for these calls are too narrow to be useful here.
/* eslint-disable @typescript-eslint/no-explicit-any */
let dir: string;
let info: FixtureInfo;
let tokenizer: any;
let model: any;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fixture-model-'));
  info = await writeFixtureModel(dir, { seed: 7 });
  tokenizer = await AutoTokenizer.from_pretrained(info.dir);
  model = await AutoModelForCausalLM.from_pretrained(info.dir, { dtype: 'fp32', device: 'cpu' });
});

afterAll(async () => {
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function chatIds(content: string): number[] {
  const text = tokenizer.apply_chat_template([{ role: 'user', content }], { add_generation_prompt: true, tokenize: false });
  return Array.from(tokenizer(text).input_ids.data as BigInt64Array, Number);
}

const int64 = (values: number[], dims = [1, values.length]) => new Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

/** Max |a - b| between row `row` of a [.., V] float32 tensor slice and a float64 vector. */
function rowDiff(data: Float32Array, row: number, ref: ArrayLike<number>): number {
  const V = ref.length;
  let max = 0;
  for (let v = 0; v < V; v++) max = Math.max(max, Math.abs(data[row * V + v] - ref[v]));
  return max;
}

describe('fixture model folder', () => {
  it('writes the files transformers.js needs with a consistent config', async () => {
    expect(Object.keys(info.files).sort()).toEqual(
      ['config.json', 'generation_config.json', 'onnx/model.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
    const config = JSON.parse(await readFile(join(info.dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'llama',
      hidden_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      intermediate_size: 128,
      tie_word_embeddings: false,
      vocab_size: info.config.vocabSize,
    });
    expect(info.specialTokens['<|im_end|>']).toBe(config.eos_token_id);
    // Session I/O uses Optimum's names, which is what the cache plumbing keys on.
    const session = model.sessions.model;
    expect([...session.inputNames].sort()).toEqual(
      ['attention_mask', 'input_ids', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value'].sort(),
    );
    expect(session.outputNames).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
  });

  it('is deterministic in the seed', () => {
    const a = buildFixture({ seed: 3 }).files['onnx/model.onnx'];
    const b = buildFixture({ seed: 3 }).files['onnx/model.onnx'];
    const c = buildFixture({ seed: 4 }).files['onnx/model.onnx'];
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });
});

describe('tokenizer', () => {
  it('round-trips arbitrary text, JSON and unicode', () => {
    const texts = [
      '{"price": -42, "size": 7}',
      'Héllo wörld — naïve café, 日本語のテキスト, emoji 🧪🚀 and e\u0301 (combining)',
      '  leading spaces,\ttabs\nand\r\nnewlines  \n\n',
      'ctrl \u0000\u0007 chars and <not|special> tags',
    ];
    for (const text of texts) {
      const ids = tokenizer.encode(text);
      expect(ids.length).toBeGreaterThan(0);
      expect(tokenizer.decode(ids)).toBe(text);
    }
  });

  it('splits JSON into sensible merged pieces and keeps special tokens whole', () => {
    const pieces = tokenizer.encode('{"price": -42, "size": 7}').map((id: number) => tokenizer.decode([id]));
    expect(pieces).toEqual(['{"', 'price', '":', ' -', '42', ',', ' "', 'size', '":', ' 7', '}']);
    const ids = tokenizer.encode('<|im_start|>user\nhi<|im_end|><|endoftext|>');
    expect(ids[0]).toBe(info.specialTokens['<|im_start|>']);
    expect(ids.slice(-2)).toEqual([info.specialTokens['<|im_end|>'], info.specialTokens['<|endoftext|>']]);
  });
});

describe('ONNX graph vs float64 reference', () => {
  it('matches logits at every position of a chat prompt', async () => {
    const ids = chatIds('Give me {"price": -42, "size": 7} please');
    const out = await model({ input_ids: int64(ids), attention_mask: int64(ids.map(() => 1)) });
    expect(out.logits.dims).toEqual([1, ids.length, info.config.vocabSize]);
    const ref = referenceForward(info.weights, ids);
    const data = out.logits.data as Float32Array;
    for (let s = 0; s < ids.length; s++) expect(rowDiff(data, s, ref.logits[s])).toBeLessThan(TOL);
    // present.* carry post-RoPE keys in [batch, kv_heads, seq, head_dim].
    const key = out['present.1.key'];
    expect(key.dims).toEqual([1, 2, ids.length, 16]);
    const kd = key.data as Float32Array;
    let maxKey = 0;
    for (let h = 0; h < 2; h++)
      for (let t = 0; t < ids.length; t++)
        for (let d = 0; d < 16; d++) maxKey = Math.max(maxKey, Math.abs(kd[(h * ids.length + t) * 16 + d] - ref.cache[1].key[h][t][d]));
    expect(maxKey).toBeLessThan(TOL);
  });

  it('gives logits that depend on the prompt and are not degenerate', () => {
    const a = referenceForward(info.weights, chatIds('What is the capital of France?')).logits.at(-1)!;
    const b = referenceForward(info.weights, chatIds('Rate your confidence from 0 to 100')).logits.at(-1)!;
    const std = Math.sqrt(a.reduce((n, v) => n + v * v, 0) / a.length);
    expect(std).toBeGreaterThan(1);
    expect(std).toBeLessThan(10);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeGreaterThan(0.5);
  });

  // 1 = a decoding step; 3 = a chunk after a non-empty past, which exercises the
  // causal mask's offset by past length.
  it.each([1, 3])('a cached step of %i token(s) equals the full recompute', async (n) => {
    const ids = chatIds('Count the words in this sentence.');
    const V = info.config.vocabSize;
    const prefix = ids.slice(0, -n);
    const first = await model({ input_ids: int64(prefix), attention_mask: int64(prefix.map(() => 1)) });
    const past: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(first)) {
      if (name.startsWith('present.')) past[name.replace('present.', 'past_key_values.')] = t as Tensor;
    }
    // position_ids are left to transformers.js (cumsum of the mask, sliced to the new tokens).
    const step = await model({
      input_ids: int64(ids.slice(-n)),
      attention_mask: int64(ids.map(() => 1)),
      past_key_values: past,
    });
    expect(step.logits.dims).toEqual([1, n, V]);
    expect(step['present.0.key'].dims).toEqual([1, 2, ids.length, 16]);

    const full = await model({ input_ids: int64(ids), attention_mask: int64(ids.map(() => 1)) });
    const stepData = step.logits.data as Float32Array;
    const fullData = full.logits.data as Float32Array;
    const refPrefix = referenceForward(info.weights, prefix);
    const refStep = referenceForward(info.weights, ids.slice(-n), { past: refPrefix.cache });
    const refFull = referenceForward(info.weights, ids).logits;
    for (let i = 0; i < n; i++) {
      const row = ids.length - n + i;
      expect(rowDiff(stepData, i, Array.from(fullData.subarray(row * V, (row + 1) * V)))).toBeLessThan(TOL);
      expect(rowDiff(stepData, i, refStep.logits[i])).toBeLessThan(TOL);
      // The reference's own cache path must agree with its full recompute (float64).
      expect(Math.max(...refFull[row].map((v, k) => Math.abs(v - refStep.logits[i][k])))).toBeLessThan(1e-9);
    }
  });

  it('masks left padding in a batch', async () => {
    const texts = ['Hi', 'Please answer in JSON with the price and size.'];
    const enc = tokenizer(texts, { padding: true });
    const [B, S] = enc.input_ids.dims;
    expect(B).toBe(2);
    const out = await model(enc);
    const data = out.logits.data as Float32Array;
    const allIds = Array.from(enc.input_ids.data as BigInt64Array, Number);
    const mask = Array.from(enc.attention_mask.data as BigInt64Array, Number);
    for (let b = 0; b < B; b++) {
      const row = mask.slice(b * S, (b + 1) * S);
      const pad = row.indexOf(1);
      expect(row.slice(pad).every((m) => m === 1)).toBe(true); // left padding
      const ids = allIds.slice(b * S + pad, (b + 1) * S);
      expect(ids).toEqual(tokenizer.encode(texts[b]));
      const ref = referenceForward(info.weights, ids);
      for (let s = 0; s < ids.length; s++) expect(rowDiff(data, b * S + pad + s, ref.logits[s])).toBeLessThan(TOL);
    }
    expect(mask[0]).toBe(0); // the short prompt really was padded
  });
});

describe('browser runtime', () => {
  // transformers.js uses onnxruntime-web in the browser; its WASM backend also runs in
  // Node, so the browser's op coverage is checked here without a browser.
  it('runs on onnxruntime-web WASM with a cache and matches the reference', async () => {
    const bytes = await readFile(join(info.dir, 'onnx/model.onnx'));
    ortWeb.env.wasm.numThreads = 1;
    const session = await ortWeb.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['wasm'] });
    const ids = chatIds('Hello there');
    const P = ids.length - 2;
    const i64 = (v: number[]) => new ortWeb.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    const feeds: Record<string, ortWeb.Tensor> = {
      input_ids: i64(ids.slice(0, P)),
      attention_mask: i64(range(0, P).map(() => 1)),
      position_ids: i64(range(0, P)),
    };
    for (let l = 0; l < 2; l++)
      for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = new ortWeb.Tensor('float32', new Float32Array(0), [1, 2, 0, 16]);
    const first = await session.run(feeds);
    const next: Record<string, ortWeb.Tensor> = {
      input_ids: i64(ids.slice(P)),
      attention_mask: i64(ids.map(() => 1)),
      position_ids: i64(range(P, ids.length)),
    };
    for (let l = 0; l < 2; l++) for (const kv of ['key', 'value']) next[`past_key_values.${l}.${kv}`] = first[`present.${l}.${kv}`];
    const out = await session.run(next);
    expect(out.logits.dims).toEqual([1, 2, info.config.vocabSize]);
    const ref = referenceForward(info.weights, ids).logits;
    for (let s = 0; s < 2; s++) expect(rowDiff(out.logits.data as Float32Array, s, ref[P + s])).toBeLessThan(TOL);
    await session.release();
  });
});

describe('generation', () => {
  it('greedy generate() matches reference greedy decoding', async () => {
    const ids = chatIds('Give me {"price": -42, "size": 7}');
    const out = await model.generate({
      input_ids: int64(ids),
      attention_mask: int64(ids.map(() => 1)),
      max_new_tokens: 8,
      do_sample: false,
    });
    const all = Array.from(out.data as BigInt64Array, Number);
    expect(all.slice(0, ids.length)).toEqual(ids);
    const generated = all.slice(ids.length);
    expect(generated.length).toBeGreaterThan(0);
    expect(generated).toEqual(referenceGreedy(info.weights, ids, 8, info.eosTokenIds));
    expect(new Set(generated).size).toBeGreaterThan(1);
    expect(typeof tokenizer.decode(generated)).toBe('string');
  });
});
