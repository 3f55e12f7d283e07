/**
 * The OpenAI-compatible server engine. The shared conformance suite runs
 * twice: against llama.cpp's real server (llama-cpp-python, a tiny random
 * Llama in GGUF; needs the project venv) and against the protocol double
 * (vLLM flavor). What llama.cpp's server does not do — vLLM's adapter names
 * and runtime loading, Ollama's `format`, error bodies, rate limits, broken
 * replies — is checked against the double only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../src/lib/engine/types';
import { decisionMessages, introspectionMessages } from '../src/lib/prompts';
import { OpenAIEngine } from '../workers/openai-engine';
import { runConformance } from './conformance/checks';
import { conformanceInputs } from './conformance/inputs';
import { startFakeServer, type FakeServer } from './support/fake-openai-server';
import { freePort, startLlamaServer, type LlamaServer } from './support/llama-server';
import { pythonSkip } from './support/python';

const inputs = conformanceInputs({ scenarios: 3, trials: 4 });
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e) => EngineError.from(e));

describe.skipIf(pythonSkip)("conformance against llama.cpp's real server (llama-cpp-python 0.3.36)", () => {
  let server: LlamaServer;
  beforeAll(async () => {
    server = await startLlamaServer();
  }, 180_000);
  afterAll(async () => server?.stop());

  it('probes what the server supports and passes the shared suite', async () => {
    const engine = new OpenAIEngine({ baseUrl: server.baseUrl });
    const caps = await engine.load({ model: server.model });
    console.log(`llama.cpp server capabilities: ${JSON.stringify(caps.server)}`);
    expect(caps).toMatchObject({ engine: 'openai', device: 'server', approximateChoice: true });
    expect(caps.server).toMatchObject({ models: [server.model], logprobs: true, topLogprobs: 20, constrained: 'grammar', adapter: null });
    // llama-cpp-python ignores a schema's minimum/maximum (its json_object schema gave an out-of-range integer), so the probe picks the GBNF grammar.
    const results = await runConformance({ ...inputs, engine, reports: 60, freeReports: 12, missingModel: 'no-such-model' }, (name, ms) =>
      console.log(`llama.cpp ✓ ${name} (${ms.toFixed(0)} ms)`),
    );
    for (const r of results) console.log(`llama.cpp ${r.name}: ${JSON.stringify(r.figures ?? {})}`);
    expect(results).toHaveLength(9);
  }, 300_000);

  it('takes several calls in flight at once', async () => {
    const engine = new OpenAIEngine({ baseUrl: server.baseUrl });
    await engine.load({ model: server.model });
    const msgs = inputs.options.flatMap((pairs, s) => pairs.map(({ a, b }) => decisionMessages(inputs.scenarios[s], a, b)));
    const many = await Promise.all(msgs.map((m) => engine.scoreChoice(m, ['A', 'B'])));
    for (const r of many) expect(r.probs[0] + r.probs[1]).toBeCloseTo(1, 12);
    // (Exact agreement per prompt is checked on the double: on this random model both labels fall outside the
    // top 20, and llama-cpp-python's top-20 list for one prompt varies between calls, so the bounds do too.)
  }, 120_000);
});

describe('conformance against the protocol double (vLLM flavor)', () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeServer({ flavor: 'vllm', model: 'Qwen/Qwen2.5-7B-Instruct', promptLogprobs: true });
  });
  afterAll(async () => fake?.close());

  it('passes the shared suite', async () => {
    const engine = new OpenAIEngine({ baseUrl: fake.baseUrl });
    const caps = await engine.load({ model: 'Qwen/Qwen2.5-7B-Instruct' });
    expect(caps.contextLength).toBe(8192);
    expect(caps.server).toMatchObject({ constrained: 'json_schema', logprobs: true, topLogprobs: 20, exactLabels: true });
    const results = await runConformance({ ...inputs, engine, reports: 200, freeReports: 40, missingModel: 'no-such-model' });
    for (const r of results) console.log(`double ${r.name}: ${JSON.stringify(r.figures ?? {})}`);
    expect(results).toHaveLength(9);
  });
});

describe('against the protocol double: what llama.cpp does not do', () => {
  let fake: FakeServer;
  afterAll(async () => fake?.close());
  const names = inputs.scenarios[0].attributes.map((a) => a.name);
  const { a, b } = inputs.options[0][0];

  it('addresses a served LoRA adapter by its name, and loads one at run time where vLLM allows it', async () => {
    fake = await startFakeServer({ flavor: 'vllm', model: 'base', adapters: ['macbeth-lora'], runtimeLora: true });
    const engine = new OpenAIEngine({ baseUrl: fake.baseUrl });
    const named = await engine.load({ model: 'base', adapter: { id: 'macbeth-lora' } });
    expect(named.server).toMatchObject({ servedModel: 'macbeth-lora', adapter: 'named' });
    await engine.scoreChoice(decisionMessages(inputs.scenarios[0], a, b), ['A', 'B']);
    expect(fake.requests.at(-1)?.body?.model).toBe('macbeth-lora');

    const runtime = await engine.load({ model: 'base', adapter: { id: '/adapters/hamlet' } });
    expect(runtime.server).toMatchObject({ servedModel: '/adapters/hamlet', adapter: 'runtime' });
    expect(fake.loaded).toEqual(['/adapters/hamlet']);
    await fake.close();

    fake = await startFakeServer({ flavor: 'vllm', model: 'base', runtimeLora: false });
    const err = await codeOf(new OpenAIEngine({ baseUrl: fake.baseUrl }).load({ model: 'base', adapter: { id: 'missing' } }));
    expect(err).toMatchObject({ code: 'unsupported' });
    expect((err as EngineError).message).toMatch(/does not serve an adapter named "missing".*--lora-modules missing=PATH/s);
    await fake.close();
  });

  it("uses Ollama's format field when that is what the server enforces, and says so", async () => {
    fake = await startFakeServer({ flavor: 'ollama', model: 'llama3.1:70b' });
    const engine = new OpenAIEngine({ baseUrl: fake.baseUrl });
    const caps = await engine.load({ model: 'llama3.1:70b' });
    expect(caps.server?.constrained).toBe('ollama_format');
    expect(caps.server?.notes.join(' ')).toMatch(/Ollama's format field/);
    const r = await engine.report(introspectionMessages(inputs.scenarios[0], a, b), names, 'constrained');
    expect(r.parse.ok).toBe(true);
    expect(fake.requests.at(-1)?.body?.format).toMatchObject({ required: names, additionalProperties: false });
    await fake.close();
  });

  it('retries rate limits with backoff and gives up with the server words', async () => {
    fake = await startFakeServer();
    const waits: number[] = [];
    const engine = new OpenAIEngine({ baseUrl: fake.baseUrl, backoffMs: 10, retries: 3, sleep: async (ms) => void waits.push(ms) });
    await engine.load({ model: 'fake-model' });
    fake.faults.rateLimit = 2;
    const ok = await engine.scoreChoice(decisionMessages(inputs.scenarios[0], a, b), ['A', 'B']);
    expect(ok.probs[0] + ok.probs[1]).toBeCloseTo(1, 12);
    expect(waits).toHaveLength(2);
    fake.faults.rateLimit = 10;
    const err = await codeOf(engine.scoreChoice(decisionMessages(inputs.scenarios[0], a, b), ['A', 'B']));
    expect(err).toMatchObject({ code: 'server_error' });
    expect((err as EngineError).message).toMatch(/HTTP 429 .* after 4 tries: Too many requests/);
    fake.faults.rateLimit = 0;
  });

  it('turns HTTP errors, malformed replies and missing logprobs into clear errors, and keeps working after them', async () => {
    const engine = new OpenAIEngine({ baseUrl: fake.baseUrl, retries: 0 });
    await engine.load({ model: 'fake-model' });
    const msgs = decisionMessages(inputs.scenarios[0], a, b);
    fake.faults.status = 500;
    expect(String(await codeOf(engine.scoreChoice(msgs, ['A', 'B'])))).toMatch(/\[server_error\].*HTTP 500 .*: Internal failure \(500\)/);
    fake.faults.status = 0;
    fake.faults.malformed = true;
    expect(String(await codeOf(engine.report(introspectionMessages(inputs.scenarios[0], a, b), names, 'free')))).toMatch(/\[server_error\].*not JSON/);
    fake.faults.malformed = false;
    fake.faults.noLogprobs = true;
    expect(String(await codeOf(engine.scoreChoice(msgs, ['A', 'B'])))).toMatch(/\[server_error\].*no usable logprobs/);
    fake.faults.noLogprobs = false;
    expect((await engine.scoreChoice(msgs, ['A', 'B'])).labels).toEqual(['A', 'B']);
  });

  it('samples again, with a new seed, when a decision reply ended at once and so carried no logprobs', async () => {
    const engine = new OpenAIEngine({ baseUrl: fake.baseUrl });
    await engine.load({ model: 'fake-model' });
    const msgs = decisionMessages(inputs.scenarios[0], a, b);
    const expected = await engine.scoreChoice(msgs, ['A', 'B']);
    fake.faults.endAtOnce = 3;
    const sent = fake.requests.length;
    expect(await engine.scoreChoice(msgs, ['A', 'B'])).toEqual(expected);
    expect(fake.requests.slice(sent).map((r) => r.body?.seed)).toEqual([undefined, 1, 2, 3]);
    fake.faults.endAtOnce = 100;
    expect(String(await codeOf(engine.scoreChoice(msgs, ['A', 'B'])))).toMatch(/\[server_error\].*no usable logprobs/);
    fake.faults.endAtOnce = 0;
  });

  it("reads the labels' own log-probabilities where vLLM returns prompt_logprobs (exact), top-k where it does not, and both agree", async () => {
    const recent = await startFakeServer({ promptLogprobs: true });
    const exact = new OpenAIEngine({ baseUrl: recent.baseUrl });
    const caps = await exact.load({ model: 'fake-model' });
    expect(caps).toMatchObject({ approximateChoice: false, server: { exactLabels: true } });
    const older = await startFakeServer();
    const topk = new OpenAIEngine({ baseUrl: older.baseUrl });
    expect(await topk.load({ model: 'fake-model' })).toMatchObject({ approximateChoice: true, server: { exactLabels: false } });
    expect((await topk.capabilities())?.server?.notes.join(' ')).toMatch(/Decisions: top-20/);
    for (const { a: oa, b: ob } of inputs.options[0]) {
      const msgs = decisionMessages(inputs.scenarios[0], oa, ob);
      const e = await exact.scoreChoice(msgs, ['A', 'B']);
      const t = await topk.scoreChoice(msgs, ['A', 'B']);
      expect(e.basis).toBe('full');
      expect(t.basis).toBe('top-k');
      // Both labels are among the double's top 20, so the two paths must give the same numbers.
      e.logprobs.forEach((l, i) => expect(l).toBeCloseTo(t.logprobs[i], 12));
    }
    // The exact request: the label as the open final assistant message, the prompt tokens' log-probabilities.
    const sent = recent.requests.at(-1)?.body;
    expect(sent).toMatchObject({ add_generation_prompt: false, continue_final_message: true, prompt_logprobs: 0 });
    expect((sent?.messages as Array<{ role: string; content: string }>).at(-1)).toEqual({ role: 'assistant', content: 'B' });
    await older.close();
    await recent.close();
  });

  it('falls back to 5 top log-probabilities where the server caps them lower than 20', async () => {
    const capped = await startFakeServer({ maxLogprobs: 5 });
    const engine = new OpenAIEngine({ baseUrl: capped.baseUrl });
    expect((await engine.load({ model: 'fake-model' })).server?.topLogprobs).toBe(5);
    await capped.close();
  });

  it('names an unreachable server and a model it does not serve', async () => {
    const port = await freePort();
    const refused = await codeOf(new OpenAIEngine({ baseUrl: `http://127.0.0.1:${port}/v1` }).load({ model: 'm' }));
    expect(String(refused)).toMatch(new RegExp(`\\[server_unreachable\\].*127\\.0\\.0\\.1:${port}/v1/models: ECONNREFUSED`));
    const missing = await codeOf(new OpenAIEngine({ baseUrl: fake.baseUrl }).load({ model: 'gpt-9' }));
    expect(String(missing)).toMatch(/\[model_not_found\].*does not serve "gpt-9"; it serves: "fake-model"\. Use one of these as the model name/);
    expect(String(missing)).not.toMatch(/ONNX/);
  });

  it('where llama.cpp names its model by the file path, says so, offers that id and the alias flags', async () => {
    // llama.cpp's server (and llama-cpp-python's) lists the model by the path it was started with unless given an alias.
    const path = '/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf';
    const llama = await startFakeServer({ model: path });
    try {
      const e = await codeOf(new OpenAIEngine({ baseUrl: llama.baseUrl }).load({ model: 'HuggingFaceTB/SmolLM2-135M-Instruct' }));
      const text = String(e);
      expect(text).toMatch(/^EngineError: \[model_not_found\] The model could not be found\. Check the model id, the folder or the server\./);
      expect(text).toContain(`does not serve "HuggingFaceTB/SmolLM2-135M-Instruct"; it serves: "${path}"`);
      expect(text).toContain('llama.cpp names a model by its file path unless started with an alias');
      expect(text).toContain(`Use "${path}" as the model name`);
      expect(text).toContain('--model_alias HuggingFaceTB/SmolLM2-135M-Instruct');
      expect(text).toContain('--alias HuggingFaceTB/SmolLM2-135M-Instruct');
      expect(text).not.toMatch(/ONNX/);
      // With the id it suggests, the same server loads.
      expect((await new OpenAIEngine({ baseUrl: llama.baseUrl }).load({ model: path })).model).toBe(path);
    } finally {
      await llama.close();
    }
  });

  it('keeps several calls in flight at once, and cancel stops them all', async () => {
    const slow = await startFakeServer({ delayMs: 200 });
    const engine = new OpenAIEngine({ baseUrl: slow.baseUrl });
    await engine.load({ model: 'fake-model' });
    const msgs = inputs.options[0].map((o) => decisionMessages(inputs.scenarios[0], o.a, o.b));
    const alone = [];
    for (const m of msgs) alone.push(await engine.scoreChoice(m, ['A', 'B']));
    const together = await Promise.all(msgs.map((m) => engine.scoreChoice(m, ['A', 'B'])));
    expect(slow.maxInFlight).toBe(msgs.length);
    // Each reply goes back to the call that asked for it.
    expect(together).toEqual(alone);
    const pending = msgs.map((m) => codeOf(engine.scoreChoice(m, ['A', 'B'])));
    await engine.cancel();
    expect((await Promise.all(pending)).map((e) => (e as EngineError).code)).toEqual(msgs.map(() => 'cancelled'));
    await slow.close();
  });
});
