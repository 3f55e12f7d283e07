/**
 * The chat template wherever a model folder keeps it (tokenizer_config.json, chat_template.jinja,
 * chat_template.json, named templates), read by the transformers.js engine in Node; a folder
 * without a usable one fails at load, naming the files looked in, not at its first trial. On the
 * fixture model (every place) and on the real model's folder as Optimum wrote it, less its
 * chat_template.jinja. The same in Chromium: browser.chat-template.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { env } from '@huggingface/transformers';
import { TransformersEngine } from '../workers/transformers-engine';
import { modelFileResponse } from '../workers/model-files';
import { EngineError } from '../src/lib/engine/types';
import { decisionMessages } from '../src/lib/prompts';
import { conformanceInputs } from './conformance/inputs';
import { writeFixtureModel } from './fixture/model';
import { linkFolder, placeChatTemplate, TEMPLATE_PLACES, type TemplatePlace } from './support/template-folders';
import { realModel, realModelSkip, REAL_MODEL_TIMEOUT } from './support/real-model';

const { scenarios, options } = conformanceInputs();
const messages = decisionMessages(scenarios[0], options[0][0].a, options[0][0].b);
const LOOKED_IN = /tokenizer_config\.json.*chat_template\.jinja, chat_template\.json/;

async function loadError(engine: TransformersEngine, model: string): Promise<EngineError> {
  return engine.load({ model, device: 'cpu', dtype: 'fp32' }).then(
    () => {
      throw new Error(`${model} loaded`);
    },
    (e) => EngineError.from(e),
  );
}

describe('chat templates where the tools put them (fixture model)', () => {
  let tmp: string;
  const dirs = {} as Record<TemplatePlace, string>;
  const engine = new TransformersEngine({ allowRemoteModels: false });
  let inline: { ids: number[]; logprobs: number[] };

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'chat-template-'));
    for (const place of TEMPLATE_PLACES) {
      dirs[place] = (await writeFixtureModel(join(tmp, place), { seed: 3 })).dir;
      await placeChatTemplate(dirs[place], place);
    }
    await engine.load({ model: dirs.inline, device: 'cpu', dtype: 'fp32' });
    inline = { ids: engine.promptIds(messages), logprobs: (await engine.scoreChoice(messages, ['A', 'B'])).logprobs };
  });
  afterAll(async () => {
    await engine.unload();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it.each(['jinja', 'json', 'named'] as const)('reads it from %s: the same prompt and the same scores as inline', async (place) => {
    await engine.load({ model: dirs[place], device: 'cpu', dtype: 'fp32' });
    expect(engine.promptIds(messages)).toEqual(inline.ids);
    expect((await engine.scoreChoice(messages, ['A', 'B'])).logprobs).toEqual(inline.logprobs);
  });

  it('fails at load, before the weights, naming the files looked in, where a folder has none', async () => {
    const e = await loadError(engine, dirs.none);
    expect(e.code).toBe('bad_model');
    expect(e.message).toMatch(LOOKED_IN);
    expect(e.message).toContain(dirs.none);
    expect(await engine.capabilities()).toBeNull();
    await expect(engine.scoreChoice(messages, ['A', 'B'])).rejects.toThrow(/not_loaded/);
  });

  it('fails at load where the template does not render the probe conversation', async () => {
    for (const place of ['broken', 'named-no-default'] as const) {
      const e = await loadError(engine, dirs[place]);
      expect(e.code, place).toBe('bad_model');
      expect(e.message, place).toMatch(/does not render a conversation/);
      expect(e.message, place).toMatch(LOOKED_IN);
    }
  });

  it('a served folder\'s missing file is not the page a static server falls back to', async () => {
    const saved = { fetch: globalThis.fetch, local: env.allowLocalModels };
    const page = () => new Response('<!doctype html><title>app</title>', { headers: { 'content-type': 'text/html' } });
    globalThis.fetch = vi.fn(async () => page()) as typeof fetch;
    env.allowLocalModels = true;
    try {
      expect(await modelFileResponse('/models/x', 'chat_template.jinja', null)).toBeNull();
      globalThis.fetch = vi.fn(async () => new Response('{{ x }}', { headers: { 'content-type': 'application/octet-stream' } })) as typeof fetch;
      expect(await (await modelFileResponse('/models/x', 'chat_template.jinja', null))!.text()).toBe('{{ x }}');
    } finally {
      globalThis.fetch = saved.fetch;
      env.allowLocalModels = saved.local;
    }
  });
});

describe('a folder that is not a model', () => {
  it('fails with model_not_found saying what a transformers.js model folder holds', async () => {
    const e = await loadError(new TransformersEngine({ allowRemoteModels: false }), join(tmpdir(), 'no-such-model-folder'));
    expect(e.code).toBe('model_not_found');
    expect(e.message).toMatch(/config\.json, tokenizer\.json, tokenizer_config\.json and ONNX weights under onnx\//);
  });
});

describe.skipIf(realModelSkip)('the real model\'s folder without its chat_template.jinja', () => {
  let tmp: string;
  let folder: string;
  const engine = new TransformersEngine({ allowRemoteModels: false });
  beforeAll(async () => {
    const m = await realModel();
    tmp = await mkdtemp(join(tmpdir(), 'real-no-template-'));
    folder = await linkFolder(m.onnx, join(tmp, 'smollm2'), ['chat_template.jinja']);
  }, REAL_MODEL_TIMEOUT);
  afterAll(async () => {
    await engine.unload();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('fails at load with the message naming the files looked in', async () => {
    const e = await loadError(engine, folder);
    expect(e.code).toBe('bad_model');
    expect(e.message).toMatch(LOOKED_IN);
    expect(e.message).toContain('has no chat template');
  });
});
