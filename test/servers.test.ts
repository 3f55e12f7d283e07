/**
 * The lab's side of model servers, against the protocol double: connecting
 * (models listed, support said in words), served models in specs and the
 * experiment form, and the engine provider running a served model over HTTP
 * (no worker) with the key the user gave and a recorded reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectServer, parseServerModelValue, serverModelValue } from '../src/app/servers';
import { WorkerEngineProvider } from '../src/app/engine-provider';
import { engineRows } from '../src/app/engine-choice';
import { formFromSpec, specFromForm } from '../src/app/spec-form';
import { presetSpec } from '../src/lib/experiment/presets';
import { validateSpec, SpecError } from '../src/lib/experiment/spec';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readableError } from '../src/lib/engine/types';
import { startFakeServer, type FakeServer } from './support/fake-openai-server';

let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeServer({ flavor: 'vllm', model: 'Qwen/Qwen2.5-72B-Instruct', adapters: ['macbeth'], promptLogprobs: true });
});
afterAll(async () => fake?.close());

describe('model servers in the lab', () => {
  it('connects: lists the served models and says what the server supports', async () => {
    const c = await connectServer(`${fake.baseUrl}/`);
    expect(c.baseUrl).toBe(fake.baseUrl);
    expect(c.models).toEqual(['Qwen/Qwen2.5-72B-Instruct', 'macbeth']);
    expect(c.probe).toMatchObject({ logprobs: true, topLogprobs: 20, exactLabels: true, constrained: 'json_schema' });
    expect(c.probe.notes.join(' ')).toMatch(/Decisions: exact.*response_format json_schema/s);
    await expect(connectServer('ftp://example')).rejects.toThrow(/\[server_unreachable\].*not an http:\/\/ or https:\/\/ address/);
  });

  it('a wrong address that answers with a web page gets words, never the page’s HTML', async () => {
    // What a user meets: the lab's own dev server (200, index.html for any path) or a proxy's 404 page.
    const page = '<!doctype html><html><head><title>Introspection Lab</title></head><body><div id="app"></div><script src="/x.js"></script></body></html>';
    for (const status of [200, 404]) {
      const http: Server = createServer((_q, r) => r.writeHead(status, { 'Content-Type': 'text/html' }).end(page));
      await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const err = await connectServer(url).catch((e) => e);
      http.close();
      const shown = readableError(err);
      expect(shown).toMatch(/web page titled "Introspection Lab", not a model server's JSON: check the address .*\/v1/);
      expect(shown).not.toMatch(/<|\[server_error\]/);
      expect(shown).toContain(url);
    }
  });

  it('names a served model in a select value and reads it back', () => {
    const v = serverModelValue('http://10.0.0.5:8000/v1', 'org/model#x');
    expect(parseServerModelValue(v)).toEqual({ baseUrl: 'http://10.0.0.5:8000/v1', model: 'org/model#x' });
    expect(parseServerModelValue('/models/tiny-llama')).toBeNull();
  });

  it('keeps a served control reporter through the form, and specs refuse a served model without a baseUrl', () => {
    const spec = presetSpec('classroom', { model: { id: '/models/tiny-llama' }, control: { id: 'macbeth', engine: 'openai', baseUrl: fake.baseUrl } });
    const back = specFromForm(formFromSpec(validateSpec(spec)));
    expect(back.models[1]).toEqual({ key: 'control', id: 'macbeth', engine: 'openai', baseUrl: fake.baseUrl });
    expect(back.models[0]).toMatchObject({ key: 'self', id: '/models/tiny-llama' });
    expect(back.models[0]).not.toHaveProperty('baseUrl');
    const bad = { ...spec, models: [spec.models[0], { key: 'control', id: 'macbeth', engine: 'openai' }] };
    expect(() => validateSpec(bad)).toThrow(SpecError);
    expect(() => validateSpec(bad)).toThrow(/models\[1\]: engine "openai" needs a "baseUrl"/);
  });

  it('the provider runs a served model over HTTP with the given key, and records why', async () => {
    const keys: string[] = [];
    const provider = new WorkerEngineProvider({
      serverKey: (url) => (keys.push(url), 'sk-local'),
      create: () => Promise.reject(new Error('no worker should be made for a served model')),
      probe: () => Promise.reject(new Error('no device probe for a served model')),
    });
    const { engine, caps } = await provider.acquire({ key: 'control', id: 'macbeth', engine: 'openai', baseUrl: fake.baseUrl });
    expect(keys).toEqual([fake.baseUrl]);
    expect(caps).toMatchObject({ engine: 'openai', device: 'server', choice: { requested: 'openai', planned: 'openai' } });
    const rows = engineRows([{ key: 'control', id: 'macbeth' }], { control: caps }, {});
    expect(rows[0]).toMatchObject({ engine: 'openai', runsOn: 'server · as served' });
    expect(rows[0].reason).toMatch(new RegExp(`macbeth runs on the server at ${fake.baseUrl.replace(/[./]/g, '\\$&')}`));
    const r = await engine.scoreChoice([{ role: 'user', content: 'A or B?' }], ['A', 'B']);
    expect(r.probs[0] + r.probs[1]).toBeCloseTo(1, 12);
    expect(fake.requests.at(-1)?.body?.model).toBe('macbeth');
    provider.terminate();
    await expect(engine.scoreChoice([{ role: 'user', content: 'A or B?' }], ['A', 'B'])).rejects.toThrow(/not_loaded/);
  });
});
