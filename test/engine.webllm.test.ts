/**
 * The engine conformance suite on the WebLLM engine, driven by the test double
 * of web-llm's MLCEngine (test/support/fake-mlc-engine.ts): once on the
 * full-logit path (logit processor + the pipeline's tokenizer) and once on the
 * top-5 fallback (an engine that does not expose its tokenizer). No GPU runs
 * here: what is verified is the engine's use of the WebLLM API, against a
 * double whose request checks and structured output are the real ones
 * (web-llm's validator, XGrammar).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebLLMEngine, type WebLLMEngineOptions } from '../workers/webllm-engine';
import { reportSchema } from '../workers/webllm-helpers';
import type { DeviceReport } from '../workers/device';
import { checks, finalChecks, type ConformanceContext, type Figures } from './conformance/checks';
import { conformanceInputs } from './conformance/inputs';
import { createFakeWebLLM, type FakeWebLLM } from './support/fake-mlc-engine';
import { decisionMessages, introspectionMessages, type ChatMessage } from '../src/lib/prompts';
import { EngineError, type LoadProgress } from '../src/lib/engine/types';

const MODEL = 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC';
const gpu = (shaderF16 = true): (() => Promise<DeviceReport>) => async () => ({ webgpu: true, shaderF16, wasmThreads: false, node: false });
const noGpu = async (): Promise<DeviceReport> => ({ webgpu: false, shaderF16: false, wasmThreads: false, node: false });

function makeEngine(fake: FakeWebLLM, options: WebLLMEngineOptions = {}) {
  return new WebLLMEngine({ lib: async () => fake.lib, probe: gpu(), ...options });
}

const inputs = conformanceInputs();

function conformance(label: string, setup: () => { fake: FakeWebLLM; engine: WebLLMEngine; basis: 'full' | 'top-k' }) {
  describe(`WebLLM engine (${label}): conformance`, () => {
    let ctx: ConformanceContext;
    let fake: FakeWebLLM;
    let engine: WebLLMEngine;
    let basis: 'full' | 'top-k';
    const figures: Record<string, Figures | void> = {};

    beforeAll(async () => {
      ({ fake, engine, basis } = setup());
      const caps = await engine.load({ model: MODEL });
      expect(caps.approximateChoice).toBe(basis === 'top-k');
      expect(engine.decisionBasis()).toBe(basis);
      // The reference: the double's model run directly on the templated prompt, not through the engine.
      // On the top-5 path the engine can only report what WebLLM's top 5 holds, so its reference is
      // computed the same way from the full distribution: exact for labels in the top 5, the bound otherwise.
      const model = fake.world.model;
      const messages = inputs.options[0].map(({ a, b }) => decisionMessages(inputs.scenarios[0], a, b));
      const expected = messages.map((m) => (basis === 'full' ? model.referenceLogprobs(m, ['A', 'B']) : model.referenceTopK(m, ['A', 'B']).logprobs) as [number, number]);
      figures.labelsOutsideTop5 = { trials: messages.length, withALabelOutside: messages.filter((m) => model.referenceTopK(m, ['A', 'B']).missing > 0).length };
      ctx = { engine, ...inputs, expected, reports: 200, missingModel: 'no-such-model-q4f16_1-MLC' };
    });

    afterAll(async () => {
      console.info(`WebLLM engine (${label}) figures:`, JSON.stringify(figures), JSON.stringify(engine.stats));
      await engine.unload();
    });

    for (const c of [...checks, ...finalChecks]) it(c.name, async () => void (figures[c.name] = await c.run(ctx)));

    it(`decisions used the ${label} basis throughout`, () => {
      if (basis === 'full') {
        expect(engine.stats.topKDecisions).toBe(0);
        expect(engine.stats.fullDecisions).toBeGreaterThan(0);
        // The captured logits agree with WebLLM's own top-5 log-probabilities of the same step.
        expect(engine.stats.maxTopAgreementDiff).toBeLessThan(1e-5);
      } else {
        expect(engine.stats.fullDecisions).toBe(0);
        expect(engine.stats.topKDecisions).toBeGreaterThan(0);
      }
    });
  });
}

conformance('full logits', () => {
  const fake = createFakeWebLLM();
  return { fake, engine: makeEngine(fake), basis: 'full' };
});

conformance('top-5 fallback', () => {
  // An engine object that keeps its pipeline (and tokenizer) out of reach: the engine must fall back by itself.
  const fake = createFakeWebLLM({ exposeInternals: false });
  return { fake, engine: makeEngine(fake), basis: 'top-k' };
});

describe('WebLLM engine: requests it sends', () => {
  const { scenarios, options } = inputs;
  const names = scenarios[0].attributes.map((x) => x.name);
  const decision = decisionMessages(scenarios[0], options[0][0].a, options[0][0].b);
  const introspection = introspectionMessages(scenarios[0], options[0][0].a, options[0][0].b);

  it('decisions: one token, temperature 1, penalties off, top-5 log-probabilities, from a fresh KV cache', async () => {
    const fake = createFakeWebLLM();
    const e = makeEngine(fake);
    await e.load({ model: MODEL });
    fake.world.calls.length = 0;
    await e.scoreChoice(decision, ['A', 'B']);
    expect(fake.world.calls).toEqual(['resetChat', 'chatCompletion']);
    const req = fake.world.requests.at(-1)!;
    expect(req).toMatchObject({ max_tokens: 1, temperature: 1, top_p: 1, presence_penalty: 0, frequency_penalty: 0, repetition_penalty: 1, logprobs: true, top_logprobs: 5, stream: false });
    expect(req.messages).toEqual(decision);
    expect(req.response_format).toBeUndefined();
  });

  it('constrained reports: json_object with the report schema (never without one), greedy', async () => {
    const fake = createFakeWebLLM();
    const e = makeEngine(fake);
    await e.load({ model: MODEL });
    await e.report(introspection, names, 'constrained');
    const req = fake.world.requests.at(-1)!;
    expect(req.temperature).toBe(0);
    expect(req.response_format).toEqual({ type: 'json_object', schema: JSON.stringify(reportSchema(names)) });
    expect(req.max_tokens).toBeGreaterThan(16 * names.length);
    for (const r of fake.world.requests) if (r.response_format?.type === 'json_object') expect(typeof r.response_format.schema).toBe('string');
  });

  it('free reports: no response format, greedy, parsed with parseReport', async () => {
    const reply = '```json\n{"' + names.join('": 10, "') + '": -20}\n```';
    const fake = createFakeWebLLM({ modelOptions: { reply: (p) => (p.includes('[INTROSPECTION TASK]') ? reply : null) } });
    const e = makeEngine(fake);
    await e.load({ model: MODEL });
    const r = await e.report(introspection, names, 'free');
    expect(fake.world.requests.at(-1)!.response_format).toBeUndefined();
    expect(fake.world.requests.at(-1)!.temperature).toBe(0);
    expect(r.text).toBe(reply);
    expect(r.parse.ok).toBe(true);
    expect(r.weights).toEqual([...names.slice(0, -1).map(() => 10), -20]);
  });

  it('free reports: an invalid reply keeps its text and says why', async () => {
    const fake = createFakeWebLLM({ modelOptions: { reply: () => `{"${names[0]}": 10}` } });
    const e = makeEngine(fake);
    await e.load({ model: MODEL });
    const r = await e.report(introspection, names, 'free');
    expect(r.text).toBe(`{"${names[0]}": 10}`);
    expect(r.weights).toBeNull();
    expect(r.parse).toMatchObject({ ok: false, reason: 'missing_key' });
  });

  it('constrained reports follow the model where the schema allows, and XGrammar overrides it where not', async () => {
    // The scripted reply breaks the schema (a string value, a stray key): the grammar forces integers and exactly the names.
    const bad = `{"${names[0]}": "high", "extra": 5}`;
    const fake = createFakeWebLLM({ modelOptions: { reply: () => bad } });
    const e = makeEngine(fake);
    await e.load({ model: MODEL });
    const r = await e.report(introspection, names, 'constrained');
    expect(Object.keys(JSON.parse(r.text))).toEqual(names);
    expect(r.weights!.every((w) => Number.isInteger(w) && w >= -100 && w <= 100)).toBe(true);
  });

  it('a model that loops on whitespace inside the JSON: the schema reply runs out of tokens, the grammar retry completes', async () => {
    const fake = createFakeWebLLM({ modelOptions: { whitespaceBias: 12 } });
    const e = makeEngine(fake);
    await e.load({ model: MODEL });
    const r = await e.report(introspection, names, 'constrained');
    expect(e.stats.constrainedRetries).toBe(1);
    const formats = fake.world.requests.map((q) => q.response_format?.type);
    expect(formats).toEqual(['json_object', 'grammar']);
    expect(r.parse.ok).toBe(true);
    expect(r.text).toMatch(/^\{"[^\n]*\}$/); // one line: the grammar leaves no room for whitespace
  });

  it("constrainedFormat 'grammar' sends only the EBNF grammar", async () => {
    const fake = createFakeWebLLM();
    const e = makeEngine(fake, { constrainedFormat: 'grammar' });
    await e.load({ model: MODEL });
    const r = await e.report(introspection, names, 'constrained');
    expect(fake.world.requests.map((q) => q.response_format?.type)).toEqual(['grammar']);
    expect(r.parse.ok).toBe(true);
  });

  it('Qwen3: thinking is turned off and the empty think block is not part of the reply', async () => {
    const fake = createFakeWebLLM({ modelOptions: { reply: () => `{"${names.join('": 1, "')}": 2}` } });
    const e = makeEngine(fake);
    await e.load({ model: 'Qwen3-0.6B-q4f16_1-MLC' });
    const r = await e.report(introspection, names, 'free');
    expect(fake.world.requests.at(-1)!.extra_body).toEqual({ enable_thinking: false });
    expect(r.text.startsWith('{')).toBe(true);
    expect(r.parse.ok).toBe(true);
    const c = await e.report(introspection, names, 'constrained');
    expect(JSON.parse(c.text)).toBeTruthy();
    // The decision is read after the empty think block, as WebLLM prefills it.
    const s = await e.scoreChoice(decision, ['A', 'B']);
    const ids = fake.world.model.promptIds(decision, { enableThinking: false });
    const logits = fake.world.model.logits(ids);
    const lse = Math.log(Array.from(logits).reduce((acc, x) => acc + Math.exp(x), 0));
    expect(s.logprobs[0]).toBeCloseTo(logits[fake.world.model.tokenizer.id('A')] - lse, 6);
  });

  it('other models get no enable_thinking field', async () => {
    const fake = createFakeWebLLM();
    const e = makeEngine(fake);
    await e.load({ model: MODEL });
    await e.scoreChoice(decision, ['A', 'B']);
    expect(fake.world.requests.at(-1)!.extra_body).toBeUndefined();
  });

  it('Gemma 2 (no system turn): the system prompt is folded into the user turn', async () => {
    const fake = createFakeWebLLM();
    const e = makeEngine(fake);
    await e.load({ model: 'gemma-2-2b-it-q4f16_1-MLC' });
    await e.scoreChoice(decision, ['A', 'B']);
    const msgs = fake.world.requests.at(-1)!.messages as ChatMessage[];
    expect(msgs).toHaveLength(1);
    expect(msgs[0].role).toBe('user');
    expect(msgs[0].content).toBe(`${decision[0].content}\n\n${decision[1].content}`);
  });
});

describe('WebLLM engine: decisions', () => {
  const { scenarios, options } = inputs;
  const decision = decisionMessages(scenarios[1], options[1][2].a, options[1][2].b);

  it('full and top-5 paths agree when both labels are in the top 5', async () => {
    const full = makeEngine(createFakeWebLLM());
    const topk = makeEngine(createFakeWebLLM(), { decisions: 'top-k' });
    await full.load({ model: MODEL });
    await topk.load({ model: MODEL });
    const a = await full.scoreChoice(decision, ['A', 'B']);
    const b = await topk.scoreChoice(decision, ['A', 'B']);
    expect(a.basis).toBe('full');
    expect(b.basis).toBe('top-k');
    expect(b.logprobs[0]).toBeCloseTo(a.logprobs[0], 5);
    expect(b.logprobs[1]).toBeCloseTo(a.logprobs[1], 5);
    expect(b.choice).toBe(a.choice);
    expect((await topk.capabilities())!.approximateChoice).toBe(true);
  });

  it('top-5: a label outside the top 5 gets the bound min(p5, remaining mass / missing) and is named', async () => {
    const fake = createFakeWebLLM();
    const topk = makeEngine(fake, { decisions: 'top-k' });
    const full = makeEngine(createFakeWebLLM());
    await topk.load({ model: MODEL });
    await full.load({ model: MODEL });
    const r = await topk.scoreChoice(decision, ['A', 'B', 'Q']);
    const exact = await full.scoreChoice(decision, ['A', 'B', 'Q']);
    expect((r as { estimated?: string[] }).estimated).toEqual(['Q']);
    // The bound from the model's own distribution at that step.
    const logits = Array.from(fake.world.model.logits(fake.world.model.promptIds(decision)));
    const max = Math.max(...logits);
    const z = logits.reduce((acc, x) => acc + Math.exp(x - max), 0);
    const top5 = logits.map((x) => Math.exp(x - max) / z).sort((a, b) => b - a).slice(0, 5);
    const bound = Math.min(top5[4], 1 - top5.reduce((a, b) => a + b, 0));
    expect(r.logprobs[2]).toBeCloseTo(Math.log(bound), 4);
    // An upper bound of the true probability, below A and B.
    expect(r.logprobs[2]).toBeGreaterThanOrEqual(exact.logprobs[2]);
    expect(r.logprobs[2]).toBeLessThan(Math.min(r.logprobs[0], r.logprobs[1]));
    expect(r.choice).toBe(exact.choice);
    expect(r.probs.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
  });

  it('full path: labels whose first tokens coincide are rejected', async () => {
    const e = makeEngine(createFakeWebLLM());
    await e.load({ model: MODEL });
    await expect(e.scoreChoice(decision, ['Option A', 'Option B'])).rejects.toThrow(/unsupported.*share their first token/);
  });

  it("decisions: 'top-k' registers no logit processor (it would copy the logits at every token)", async () => {
    const fake = createFakeWebLLM();
    await makeEngine(fake, { decisions: 'top-k' }).load({ model: MODEL });
    await makeEngine(fake).load({ model: MODEL });
    expect(fake.engines[0].logitProcessorRegistry).toBeUndefined();
    expect([...fake.engines[1].logitProcessorRegistry!.keys()]).toEqual([MODEL]);
  });

  it("decisions: 'full' on an engine that hides its tokenizer fails with unsupported", async () => {
    const e = makeEngine(createFakeWebLLM({ exposeInternals: false }), { decisions: 'full' });
    await expect(e.load({ model: MODEL })).rejects.toThrow(/\[unsupported\].*tokenizer/);
    expect(await e.capabilities()).toBeNull();
  });

  it('a logit processor that is never called: falls back to top-5 and says so', async () => {
    const fake = createFakeWebLLM();
    const lib = { ...fake.lib, createEngine: (c: Parameters<typeof fake.lib.createEngine>[0]) => fake.lib.createEngine({ ...c, logitProcessorRegistry: undefined }) };
    const e = new WebLLMEngine({ lib: async () => lib, probe: gpu() });
    await e.load({ model: MODEL });
    expect(e.decisionBasis()).toBe('full');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const r = await e.scoreChoice(decision, ['A', 'B']);
    expect(warn).toHaveBeenCalledOnce();
    warn.mockRestore();
    expect(r.basis).toBe('top-k');
    expect(e.decisionBasis()).toBe('top-k');
    expect((await e.capabilities())!.approximateChoice).toBe(true);
  });
});

describe('WebLLM engine: loading', () => {
  it('maps the progress phases (which restart at 0) from WebLLM texts, then ready', async () => {
    const fake = createFakeWebLLM();
    const e = makeEngine(fake);
    const seen: LoadProgress[] = [];
    await e.load({ model: MODEL }, (p) => seen.push(p));
    const phases = seen.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1]);
    expect(phases).toEqual(['init', 'download', 'cache', 'compile', 'init', 'ready']);
    // Progress restarts per phase: it is monotone within each phase.
    for (const phase of ['download', 'cache', 'compile'] as const) {
      const xs = seen.filter((p) => p.phase === phase).map((p) => p.progress!);
      expect(xs.length).toBeGreaterThan(1);
      expect(xs.at(-1)).toBe(1);
      expect(xs.every((x, i) => i === 0 || x >= xs[i - 1])).toBe(true);
    }
    expect(seen.find((p) => p.phase === 'download')!.loadedBytes).toBeGreaterThan(0);
    expect(seen.every((p) => !p.text || fake.world.progress.some((r) => r.text === p.text) || p.phase === 'init' || p.phase === 'ready')).toBe(true);

    // Second load: the weights are cached, so no download phase.
    const e2 = makeEngine(fake);
    const seen2: LoadProgress[] = [];
    await e2.load({ model: MODEL }, (p) => seen2.push(p));
    expect(seen2.some((p) => p.phase === 'download')).toBe(false);
    expect(seen2.some((p) => p.phase === 'cache')).toBe(true);
  });

  it('capabilities: webgpu, the quantisation, the context window', async () => {
    const e = makeEngine(createFakeWebLLM());
    const caps = await e.load({ model: 'gemma-2-2b-it-q4f32_1-MLC-1k' });
    expect(caps).toEqual({ engine: 'webllm', model: 'gemma-2-2b-it-q4f32_1-MLC-1k', device: 'webgpu', dtype: 'q4f32_1', contextLength: 1024, adapter: null, approximateChoice: false });
  });

  it('resolves a transformers.js or upstream id to the build for the device', async () => {
    const e = makeEngine(createFakeWebLLM());
    expect((await e.load({ model: 'onnx-community/Qwen2.5-0.5B-Instruct' })).model).toBe('Qwen2.5-0.5B-Instruct-q4f16_1-MLC');
    const noF16 = makeEngine(createFakeWebLLM({ gpu: { shaderF16: false, vramMB: 8192, label: 'x' } }), { probe: gpu(false) });
    expect((await noF16.load({ model: 'HuggingFaceTB/SmolLM2-360M-Instruct' })).model).toBe('SmolLM2-360M-Instruct-q4f32_1-MLC');
    expect((await noF16.load({ model: 'Qwen/Qwen2.5-0.5B-Instruct', dtype: 'q4f32' })).dtype).toBe('q4f32_1');
  });

  it('errors carry codes a user can act on', async () => {
    const code = (p: Promise<unknown>) => p.then(() => 'loaded', (err) => EngineError.from(err).code);
    expect(await code(makeEngine(createFakeWebLLM()).load({ model: 'no-such-model' }))).toBe('model_not_found');
    expect(await code(makeEngine(createFakeWebLLM(), { probe: noGpu }).load({ model: MODEL }))).toBe('webgpu_unavailable');
    // The probe says WebGPU, but WebLLM finds no adapter.
    expect(await code(makeEngine(createFakeWebLLM({ gpu: null })).load({ model: MODEL }))).toBe('webgpu_unavailable');
    // A q4f16 build asked for by id on a GPU without shader-f16: refused before loading.
    expect(await code(makeEngine(createFakeWebLLM(), { probe: gpu(false) }).load({ model: MODEL }))).toBe('unsupported');
    // WebLLM's own check of required_features (SmolLM2 q4f16 lists shader-f16).
    expect(await code(makeEngine(createFakeWebLLM({ gpu: { shaderF16: false, vramMB: 8192, label: 'x' } })).load({ model: 'SmolLM2-360M-Instruct-q4f16_1-MLC' }))).toBe('unsupported');
    expect(await code(makeEngine(createFakeWebLLM({ gpu: { shaderF16: true, vramMB: 512, label: 'x' } })).load({ model: MODEL }))).toBe('out_of_memory');
    expect(await code(makeEngine(createFakeWebLLM({ online: false })).load({ model: MODEL }))).toBe('network');
    expect(await code(makeEngine(createFakeWebLLM()).load({ model: MODEL, adapter: { id: 'x' } }))).toBe('unsupported');
    expect(await code(makeEngine(createFakeWebLLM()).load({ model: MODEL, device: 'wasm' }))).toBe('unsupported');
    expect(await code(makeEngine(createFakeWebLLM()).load({ model: 'onnx-community/Qwen2.5-0.5B-Instruct', dtype: 'fp16' }))).toBe('unsupported');
  });

  it('offline with the model cached: loads', async () => {
    const fake = createFakeWebLLM();
    await makeEngine(fake).load({ model: MODEL });
    fake.world.online = false;
    const e = makeEngine(fake);
    await e.load({ model: MODEL });
    expect((await e.scoreChoice(decisionMessages(inputs.scenarios[0], inputs.options[0][0].a, inputs.options[0][0].b), ['A', 'B'])).basis).toBe('full');
  });

  it('unload during load: the load fails with cancelled and nothing stays loaded', async () => {
    const fake = createFakeWebLLM();
    const e = makeEngine(fake);
    const seen: LoadProgress[] = [];
    const pending = e.load({ model: MODEL }, (p) => {
      seen.push(p);
      if (p.phase === 'download') void e.unload();
    });
    await expect(pending).rejects.toThrow(/\[cancelled\]/);
    expect(await e.capabilities()).toBeNull();
    expect(fake.world.progress.some((r) => r.text.startsWith('Loading GPU shader'))).toBe(false);
  });

  it('cache helpers: cached or not, delete (with our app config)', async () => {
    const fake = createFakeWebLLM();
    const e = makeEngine(fake);
    expect(await e.isCached(MODEL)).toBe(false);
    await e.load({ model: MODEL });
    expect(await e.isCached(MODEL)).toBe(true);
    expect(await e.isCached('not-in-the-catalog')).toBe(false);
    await e.deleteFromCache(MODEL);
    expect(await e.isCached(MODEL)).toBe(false);
    expect(await e.capabilities()).toBeNull(); // deleting the loaded model unloads it
    await expect(e.deleteFromCache('not-in-the-catalog')).rejects.toThrow(/model_not_found/);
    const appConfig = await e.appConfigFor();
    expect(appConfig.model_list.length).toBeGreaterThan(10);
    expect(appConfig.model_list.every((r) => r.model_id.endsWith('-MLC') || r.model_id.endsWith('-MLC-1k'))).toBe(true);
  });
});

describe('WebLLM engine: cancel', () => {
  it('interrupts a reply in flight (finish "abort" → cancelled) and the next call works', async () => {
    const fake = createFakeWebLLM({ stepDelayMs: 2, modelOptions: { answerBias: 0 } });
    const e = makeEngine(fake, { maxReplyTokens: 400 });
    await e.load({ model: MODEL });
    const { scenarios, options } = inputs;
    const names = scenarios[0].attributes.map((x) => x.name);
    const pending = e.report(introspectionMessages(scenarios[0], options[0][0].a, options[0][0].b), names, 'free');
    await new Promise((r) => setTimeout(r, 20));
    await e.cancel();
    await expect(pending).rejects.toThrow(/\[cancelled\]/);
    expect(fake.world.calls).toContain('interruptGenerate');
    const r = await e.scoreChoice(decisionMessages(scenarios[0], options[0][0].a, options[0][0].b), ['A', 'B']);
    expect(r.probs[0] + r.probs[1]).toBeCloseTo(1, 12);
  });

  it('calls before load or after unload fail with not_loaded', async () => {
    const e = makeEngine(createFakeWebLLM());
    await expect(e.scoreChoice([{ role: 'user', content: 'x' }], ['A', 'B'])).rejects.toThrow(/not_loaded/);
    await expect(e.report([{ role: 'user', content: 'x' }], ['a'], 'free')).rejects.toThrow(/not_loaded/);
  });
});

