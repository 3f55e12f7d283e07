/**
 * The real chat model (SmolLM2-135M-Instruct, from the pinned GGUF; python/real_model.py) in
 * the lab's transformers.js engine in Node, fp32, loaded from its ONNX folder exactly as
 * Optimum and transformers 4.57 write it (chat template in chat_template.jinja, none in
 * tokenizer_config.json): it scores a decision of the lab's own prompt, and the labels "A"
 * and "B" are single tokens, its two most likely next tokens.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEngine } from '../workers/transformers-engine';
import { decisionMessages } from '../src/lib/prompts';
import { builtinScenarioSet } from '../src/lib/scenarios/builtin';
import { realModel, realModelSkip, REAL_MODEL_TIMEOUT, type RealModel } from './support/real-model';
import { ONNX_FILE, OPTIMUM_DTYPES } from './support/real-models';
import { serveStatic } from './support/static-server';
import { modelSource, probeLocalModel } from '../src/app/local-models';
import { approxSizeMB, findModel, MODEL_CATALOG } from '../src/lib/models/catalog';

describe.skipIf(realModelSkip)('the real model (SmolLM2-135M-Instruct) as a test asset', () => {
  let m: RealModel;
  const engine = new TransformersEngine({ allowRemoteModels: false });

  beforeAll(async () => {
    m = await realModel();
    console.info(`real model: ${m.dir} (${m.cached ? 'cached' : 'converted now'}; conversion took ${m.build_seconds} s; this call ${m.seconds} s)`);
  }, REAL_MODEL_TIMEOUT);
  afterAll(() => engine.unload());

  it('has the GGUF, the PyTorch folder and the onnx-community layout, as the tools wrote them', () => {
    expect(statSync(m.gguf).size).toBe(98_362_432);
    expect(existsSync(join(m.hf, 'model.safetensors'))).toBe(true);
    for (const d of OPTIMUM_DTYPES) {
      const size = statSync(join(m.onnx, 'onnx', ONNX_FILE[d])).size;
      expect(size, d).toBe(m.onnx_bytes[d]);
      expect(size, d).toBeGreaterThan(50e6);
    }
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'])
      expect(existsSync(join(m.onnx, f)), f).toBe(true);
    // transformers 4.57 keeps the template out of tokenizer_config.json: the loader must find it.
    expect(readFileSync(join(m.onnx, 'chat_template.jinja'), 'utf8')).toContain('<|im_start|>');
    expect(JSON.parse(readFileSync(join(m.onnx, 'tokenizer_config.json'), 'utf8')).chat_template).toBeUndefined();
  });

  it("is the catalog's quickest model, whose sizes are its files'; served as a static/models/ copy, the lab finds every build", async () => {
    const entry = findModel('HuggingFaceTB/SmolLM2-135M-Instruct')!;
    expect(MODEL_CATALOG[0]).toBe(entry);
    expect(entry.fileBytes).toEqual(m.onnx_bytes);
    // Served where a copy in static/models/ is: the lab's probe of a local folder sees the same layout.
    const server = await serveStatic({ '/models/SmolLM2-135M-Instruct/': m.onnx });
    try {
      const fetcher = ((url: string, init?: RequestInit) => fetch(`${server.url}${url}`, init)) as typeof fetch;
      const src = modelSource('/models/SmolLM2-135M-Instruct');
      if (src.kind !== 'local') throw new Error('not a local folder');
      const probe = await probeLocalModel(src, fetcher);
      expect(probe.ok, probe.error).toBe(true);
      expect(probe.modelType).toBe('llama');
      expect([...probe.dtypes].sort()).toEqual([...entry.dtypes].sort());
      for (const d of entry.dtypes) expect(Math.round(probe.sizeMB![d]), d).toBe(approxSizeMB(entry, d));
    } finally {
      await server.close();
    }
  });

  it('has the special tokens the GGUF says: eos <|im_end|> (2), no BOS added', async () => {
    for (const dir of [m.hf, m.onnx]) {
      const tok = await AutoTokenizer.from_pretrained(dir);
      expect(tok.eos_token).toBe('<|im_end|>');
      expect(tok.eos_token_id).toBe(2);
      expect(tok.encode('Hello')).toEqual(tok.encode('Hello', { add_special_tokens: false }));
      const config = JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'));
      expect([config.eos_token_id].flat()).toEqual([2]);
    }
  });

  it('scores a decision in the lab engine (Node, fp32): "A" and "B" are single tokens and the two most likely', async () => {
    const caps = await engine.load({ model: m.onnx, device: 'cpu', dtype: 'fp32' });
    expect(caps.contextLength).toBe(8192);
    const tok = await AutoTokenizer.from_pretrained(m.onnx);
    const ids = ['A', 'B'].map((l) => tok.encode(l, { add_special_tokens: false }));
    expect(ids.map((t) => t.length)).toEqual([1, 1]);

    const scenario = builtinScenarioSet().scenarios[0];
    const a = scenario.attributes.map((x) => x.min);
    const b = scenario.attributes.map((x) => x.max);
    const messages = decisionMessages(scenario, a, b);
    const prompt = engine.promptIds(messages);
    // The model's ChatML template, with the generation prompt, rendered from chat_template.jinja.
    expect(tok.decode(prompt)).toMatch(/^<\|im_start\|>system\n[\s\S]*<\|im_end\|>\n<\|im_start\|>assistant\n$/);

    const score = await engine.scoreChoice(messages, ['A', 'B']);
    expect(score.basis).toBe('full');
    expect(score.probs[0] + score.probs[1]).toBeCloseTo(1, 12);
    expect(score.labelMass).toBeGreaterThan(0.1);
    const logits = await engine.nextTokenLogits(prompt);
    const top2 = [...logits.keys()].sort((i, j) => logits[j] - logits[i]).slice(0, 2);
    expect(new Set(top2)).toEqual(new Set(ids.map((t) => t[0])));
    console.info(`real model, one decision: P(A) ${score.probs[0].toFixed(4)}, label mass ${score.labelMass.toFixed(3)}, ${prompt.length} prompt tokens`);
  }, 300_000);
});
