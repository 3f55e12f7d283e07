/**
 * How faithful the MLCEngine test double is: its ported pieces are run side by
 * side with web-llm 0.2.86's own (unexported) functions from the installed
 * bundle, and its documented behaviours are checked one by one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionRequestNonStreaming, GenerationConfig, LogitProcessor } from '@mlc-ai/web-llm';
import {
  checkGenerationConfig,
  Conversation,
  createFakeWebLLM,
  getTopProbs,
  loadWebLLMInternals,
  type FakeMLCEngine,
  type WebLLMInternals,
} from './support/fake-mlc-engine';
import { buildAppConfig } from '../workers/webllm-helpers';
import { WEBLLM_MODEL_IDS } from '../src/lib/models/webllm-catalog';

const MODEL = 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC';
let real: WebLLMInternals;
beforeAll(async () => {
  real = await loadWebLLMInternals();
}, 60_000);

function outcome(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

describe('ported pieces agree with the real ones', () => {
  it('getTopProbs (selection with early exit), on random distributions and ties', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rnd() * 60);
      const raw = Array.from({ length: n }, () => (trial % 5 === 0 ? Math.floor(rnd() * 3) : rnd() ** 4));
      const z = raw.reduce((a, b) => a + b, 0) || 1;
      const probs = Float32Array.from(raw, (x) => x / z);
      for (let k = 0; k <= 5; k++) expect(getTopProbs(k, probs)).toEqual(real.getTopProbs(k, probs));
    }
  });

  it('generation-config checks: same errors, same defaults filled in', () => {
    const configs: GenerationConfig[] = [
      {},
      { logprobs: true },
      { logprobs: true, top_logprobs: 5 },
      { logprobs: true, top_logprobs: 6 },
      { logprobs: true, top_logprobs: -1 },
      { top_logprobs: 2 },
      { logprobs: false, top_logprobs: 0 },
      { temperature: 0 },
      { temperature: -0.1 },
      { top_p: 0 },
      { top_p: 1 },
      { max_tokens: 0 },
      { repetition_penalty: 0 },
      { presence_penalty: 0.5 },
      { frequency_penalty: 3 },
      { logit_bias: { '12': 100 } },
      { logit_bias: { '12': 101 } },
      { logit_bias: { x: 1 } },
    ];
    for (const c of configs) {
      const a = JSON.parse(JSON.stringify(c));
      const b = JSON.parse(JSON.stringify(c));
      expect(outcome(() => checkGenerationConfig(a)), JSON.stringify(c)).toBe(outcome(() => real.postInitAndCheckGenerationConfigValues(b)));
      expect(a).toEqual(b);
    }
  });

  it("the conversation template: the double's prompt pieces equal web-llm's Conversation", () => {
    const fake = createFakeWebLLM();
    const config = fake.world.model.chatConfig;
    const requests: ChatCompletionRequestNonStreaming['messages'][] = [
      [{ role: 'user', content: 'Which is better?' }],
      [
        { role: 'system', content: 'Decide for others.' },
        { role: 'user', content: 'A or B?' },
      ],
      [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'reply' },
        { role: 'user', content: 'second' },
      ],
    ];
    for (const messages of requests) {
      for (const thinkingOff of [false, true]) {
        const r = real.getConversationFromChatCompletionRequest({ messages }, config);
        r.appendMessage('user', messages[messages.length - 1].content as string);
        const ours = Conversation.fromRequest(messages, config.conv_template);
        ours.appendMessage('user', messages[messages.length - 1].content as string);
        if (thinkingOff) {
          (r as unknown as { appendEmptyThinkingReplyHeader(role: string, s: string): void }).appendEmptyThinkingReplyHeader('assistant', '<think>\n\n</think>\n\n');
          ours.appendEmptyThinkingReplyHeader('assistant', '<think>\n\n</think>\n\n');
        } else {
          r.appendReplyHeader('assistant');
          ours.appendReplyHeader('assistant');
        }
        expect(ours.promptArray(true, 0)).toEqual(r.getPromptArray(config));
      }
    }
  });
});

async function loaded(options: Parameters<typeof createFakeWebLLM>[0] = {}, registry?: Map<string, LogitProcessor>) {
  const fake = createFakeWebLLM(options);
  const appConfig = buildAppConfig(fake.lib.prebuiltAppConfig, WEBLLM_MODEL_IDS);
  const engine = fake.lib.createEngine({ appConfig, logitProcessorRegistry: registry }) as FakeMLCEngine;
  await engine.reload(MODEL);
  return { fake, engine };
}

const ask = (content = 'Pick A or B.'): ChatCompletionRequestNonStreaming['messages'] => [
  { role: 'system', content: 'You decide.' },
  { role: 'user', content },
];

describe('documented behaviours of the double', () => {
  it('logprobs alone returns no alternatives; top_logprobs without logprobs throws DependencyError', async () => {
    const { engine } = await loaded();
    const r = await engine.chat.completions.create({ messages: ask(), max_tokens: 3, logprobs: true });
    expect(r.choices[0].logprobs).toEqual({ content: [] });
    const r5 = await engine.chat.completions.create({ messages: ask(), max_tokens: 3, logprobs: true, top_logprobs: 5 });
    expect(r5.choices[0].logprobs!.content!).toHaveLength(r5.usage!.completion_tokens);
    expect(r5.choices[0].logprobs!.content![0].top_logprobs).toHaveLength(5);
    await expect(engine.chat.completions.create({ messages: ask(), max_tokens: 1, top_logprobs: 2 })).rejects.toMatchObject({ name: 'DependencyError' });
  });

  it('json_object without a schema throws the same GrammarMatcherInitError as the real pipeline', async () => {
    const { engine } = await loaded();
    const err = await engine.chat.completions.create({ messages: ask(), response_format: { type: 'json_object' } }).catch((e: Error) => e);
    // The real pipeline's message, from its own code path.
    const proto = real.LLMChatPipeline.prototype as unknown as { prepareGrammarMatcherForSampling(this: unknown, g: unknown): Promise<void>; isGrammarConstrained: unknown; getResponseFormatKey: unknown };
    const vocab = ['<s>', '{', '}'];
    const realErr = await proto.prepareGrammarMatcherForSampling
      .call(
        {
          tokenizer: { getVocabSize: () => vocab.length, idToToken: (i: number) => vocab[i] },
          token_postproc_method: 'raw',
          prepend_space_in_encode: false,
          fullVocabSize: vocab.length,
          stopTokens: [0],
          isGrammarConstrained: proto.isGrammarConstrained,
          getResponseFormatKey: proto.getResponseFormatKey,
        },
        { response_format: { type: 'json_object' } },
      )
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'GrammarMatcherInitError' });
    expect((err as Error).message).toBe((realErr as Error).message);
  });

  it("request validation is web-llm's own (system message order, schema with the wrong type)", async () => {
    const { engine } = await loaded();
    await expect(
      engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }, { role: 'system', content: 'late' }, { role: 'user', content: 'y' }] }),
    ).rejects.toMatchObject({ name: 'SystemMessageOrderError' });
    await expect(engine.chat.completions.create({ messages: ask(), response_format: { type: 'grammar', schema: '{}' } as never })).rejects.toMatchObject({
      name: 'InvalidResponseFormatError',
    });
  });

  it('the logit processor sees the raw logits (Float32Array) at every sampled position, before temperature and bias', async () => {
    const seen: Float32Array[] = [];
    const sampled: number[] = [];
    let resets = 0;
    const processor: LogitProcessor = {
      processLogits: (l) => (seen.push(l.slice()), l),
      processSampledToken: (t) => void sampled.push(t),
      resetState: () => void resets++,
    };
    const { fake, engine } = await loaded({}, new Map([[MODEL, processor]]));
    const r = await engine.chat.completions.create({ messages: ask(), max_tokens: 4, temperature: 0.3, logit_bias: { '10': 50 } });
    expect(seen.length).toBe(sampled.length);
    expect(seen.length).toBeGreaterThanOrEqual(r.usage!.completion_tokens);
    expect(seen.every((l) => l instanceof Float32Array)).toBe(true);
    const prompt = fake.world.model.promptIds(ask() as never);
    expect(Array.from(seen[0])).toEqual(Array.from(fake.world.model.logits(prompt)));
    expect(resets).toBeGreaterThan(0); // the new conversation reset the KV cache and the processor
  });

  it('forwardTokensAndSample feeds ids onto the KV cache; resetChat clears it', async () => {
    const seen: Float32Array[] = [];
    const processor: LogitProcessor = { processLogits: (l) => (seen.push(l.slice()), l), processSampledToken: () => undefined, resetState: () => undefined };
    const { fake, engine } = await loaded({}, new Map([[MODEL, processor]]));
    const ids = Array.from(fake.world.model.tokenizer.encode('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n'));
    const t = await engine.forwardTokensAndSample(ids, true);
    expect(Number.isInteger(t)).toBe(true);
    expect(Array.from(seen[0])).toEqual(Array.from(fake.world.model.logits(ids)));
    await engine.forwardTokensAndSample([t], false);
    expect(Array.from(seen[1])).toEqual(Array.from(fake.world.model.logits([...ids, t])));
    await engine.resetChat();
    await engine.forwardTokensAndSample(ids, true);
    expect(Array.from(seen[2])).toEqual(Array.from(seen[0]));
  });

  it('an interrupt before the request is forgotten (the flag resets when a request starts); one during it ends it with "abort"', async () => {
    const { fake, engine } = await loaded({ stepDelayMs: 2, modelOptions: { answerBias: 0 } });
    engine.interruptGenerate();
    const full = await engine.chat.completions.create({ messages: ask(), max_tokens: 5, ignore_eos: true });
    expect(full.choices[0].finish_reason).toBe('length');
    const pending = engine.chat.completions.create({ messages: ask(), max_tokens: 500, ignore_eos: true });
    setTimeout(() => engine.interruptGenerate(), 15);
    const r = await pending;
    expect(r.choices[0].finish_reason).toBe('abort');
    expect(r.usage!.completion_tokens).toBeLessThan(500);
    expect(fake.world.calls.filter((c) => c === 'interruptGenerate')).toHaveLength(2);
  });

  it('reload: ModelNotFoundError for an id outside the app config; unload() during reload makes it return quietly', async () => {
    const fake = createFakeWebLLM();
    const engine = fake.lib.createEngine({ appConfig: buildAppConfig(fake.lib.prebuiltAppConfig, [MODEL]) }) as FakeMLCEngine;
    await expect(engine.reload('Llama-3.2-1B-Instruct-q4f16_1-MLC')).rejects.toMatchObject({
      name: 'ModelNotFoundError',
      message: expect.stringContaining('Cannot find model record in appConfig for Llama-3.2-1B-Instruct-q4f16_1-MLC'),
    });
    const pending = engine.reload(MODEL);
    await new Promise((r) => setTimeout(r, 1));
    await engine.unload();
    await expect(pending).resolves.toBeUndefined();
    await expect(engine.chat.completions.create({ messages: ask() })).rejects.toMatchObject({ name: 'ModelNotLoadedError' });
  });

  it('greedy decoding at temperature 0 is deterministic; a stop token ends with "stop"', async () => {
    const { engine } = await loaded({ modelOptions: { reply: () => 'ok' } });
    const a = await engine.chat.completions.create({ messages: ask(), temperature: 0, max_tokens: 20 });
    const b = await engine.chat.completions.create({ messages: ask(), temperature: 0, max_tokens: 20 });
    expect(a.choices[0].message.content).toBe('ok');
    expect(b.choices[0].message.content).toBe('ok');
    expect(a.choices[0].finish_reason).toBe('stop');
  });
});
