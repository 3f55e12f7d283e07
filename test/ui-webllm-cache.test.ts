/**
 * WebLLM's browser cache in the lab's "Stored in this browser" list: files of
 * WebLLM's three Cache Storage caches grouped by WebLLM model id through our
 * app config's records (model URL prefix, model library), sizes, unknown
 * files, and the delete path (WebLLM's helper first, then the leftovers).
 * The records are the installed web-llm's, built with our buildAppConfig.
 */
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  deleteCachedWebLLM,
  groupCacheEntries,
  groupWebLLMEntries,
  isCached,
  webllmBuildsCached,
  webllmDeleteIsLocal,
  webllmModelBase,
  type CachedFile,
  type WebLLMCacheRecord,
} from '../src/app/model-cache';
import { WEBLLM_MODEL_IDS } from '../src/lib/models/webllm-catalog';
import { buildAppConfig } from '../workers/webllm-helpers';

const records: WebLLMCacheRecord[] = buildAppConfig(prebuiltAppConfig, WEBLLM_MODEL_IDS).model_list.map((r) => ({ model_id: r.model_id, model: r.model, model_lib: r.model_lib }));
const rec = (id: string) => records.find((r) => r.model_id === id)!;

function modelFiles(id: string, shards: number[], extra: string[] = ['tokenizer.json']): CachedFile[] {
  const base = webllmModelBase(rec(id).model);
  return [
    { url: `${base}tensor-cache.json`, bytes: 2_000, cache: 'webllm/model' },
    ...shards.map((b, i) => ({ url: `${base}params_shard_${i}.bin`, bytes: b, cache: 'webllm/model' })),
    ...extra.map((f) => ({ url: `${base}${f}`, bytes: 500, cache: 'webllm/model' })),
    { url: `${base}mlc-chat-config.json`, bytes: 1_000, cache: 'webllm/config' },
    { url: rec(id).model_lib, bytes: 4_000_000, cache: 'webllm/wasm' },
  ];
}

describe('WebLLM cache layout (web-llm 0.2.86)', () => {
  it('cleans model URLs as WebLLM does', () => {
    expect(webllmModelBase('https://huggingface.co/mlc-ai/Qwen3-0.6B-q4f32_1-MLC')).toBe('https://huggingface.co/mlc-ai/Qwen3-0.6B-q4f32_1-MLC/resolve/main/');
    expect(webllmModelBase('https://huggingface.co/mlc-ai/Qwen3-0.6B-q4f32_1-MLC/')).toBe('https://huggingface.co/mlc-ai/Qwen3-0.6B-q4f32_1-MLC/resolve/main/');
    expect(webllmModelBase('https://huggingface.co/x/y/resolve/abc123/')).toBe('https://huggingface.co/x/y/resolve/abc123/');
  });

  it('the catalog records all have a model URL and a library', () => {
    expect(records).toHaveLength(WEBLLM_MODEL_IDS.length);
    for (const r of records) {
      expect(r.model).toMatch(/^https:\/\//);
      expect(r.model_lib).toMatch(/\.wasm$/);
    }
  });
});

describe('grouping WebLLM cache entries by model id', () => {
  it('groups weights, tokenizer, config and library under the model id with sizes', () => {
    const id = 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC';
    const files = modelFiles(id, [30_000_000, 25_000_000]);
    const groups = groupWebLLMEntries(files, records);
    expect(groups).toHaveLength(1);
    const g = groups[0];
    expect(g).toMatchObject({ id, source: 'webllm', bytes: 2_000 + 55_000_000 + 500 + 1_000 + 4_000_000 });
    expect(g.files).toHaveLength(files.length);
    expect(g.unknown).toBeUndefined();
    expect(g.also).toBeUndefined();
  });

  it('keeps two quantisations of one model apart, largest first', () => {
    const groups = groupWebLLMEntries(
      [...modelFiles('Qwen3-0.6B-q4f16_1-MLC', [10]), ...modelFiles('Qwen3-0.6B-q4f32_1-MLC', [90_000_000])],
      records,
    );
    expect(groups.map((g) => g.id)).toEqual(['Qwen3-0.6B-q4f32_1-MLC', 'Qwen3-0.6B-q4f16_1-MLC']);
    expect(groups.map((g) => g.files.length)).toEqual([5, 5]); // tensor-cache.json, 1 shard, tokenizer.json, config, library
  });

  it('the -1k builds share the files of the full-context build: one group, the others in `also`', () => {
    const groups = groupWebLLMEntries(modelFiles('gemma-2-2b-it-q4f32_1-MLC-1k', [1_000]), records);
    expect(groups).toHaveLength(1);
    expect(groups[0].id).toBe('gemma-2-2b-it-q4f32_1-MLC');
    expect(groups[0].also).toEqual(['gemma-2-2b-it-q4f32_1-MLC-1k']);
    expect(webllmBuildsCached(groups, ['gemma-2-2b-it-q4f32_1-MLC-1k']).map((g) => g.id)).toEqual(['gemma-2-2b-it-q4f32_1-MLC']);
  });

  it('a library alone (a load that stopped before the weights) still belongs to its model', () => {
    const lib = rec('SmolLM2-360M-Instruct-q4f32_1-MLC').model_lib;
    const groups = groupWebLLMEntries([{ url: lib, bytes: 123, cache: 'webllm/wasm' }], records);
    expect(groups).toEqual([{ id: 'SmolLM2-360M-Instruct-q4f32_1-MLC', source: 'webllm', files: [{ url: lib, bytes: 123, cache: 'webllm/wasm' }], bytes: 123 }]);
    expect(webllmDeleteIsLocal(groups[0])).toBe(false);
  });

  it('a library shared by records of different weights goes to the group whose weights are stored', () => {
    const shared = 'https://example.org/libs/shared-webgpu.wasm';
    const rs: WebLLMCacheRecord[] = [
      { model_id: 'A-MLC', model: 'https://huggingface.co/mlc-ai/A-MLC', model_lib: shared },
      { model_id: 'B-MLC', model: 'https://huggingface.co/mlc-ai/B-MLC', model_lib: shared },
    ];
    const groups = groupWebLLMEntries(
      [
        { url: shared, bytes: 7, cache: 'webllm/wasm' },
        { url: 'https://huggingface.co/mlc-ai/B-MLC/resolve/main/params_shard_0.bin', bytes: 5, cache: 'webllm/model' },
      ],
      rs,
    );
    expect(groups.map((g) => [g.id, g.files.length, g.bytes])).toEqual([['B-MLC', 2, 12]]);
  });

  it('files no record names are grouped by repository, else together, and marked unknown', () => {
    const groups = groupWebLLMEntries(
      [
        { url: 'https://huggingface.co/someone/Other-q4f16_1-MLC/resolve/main/params_shard_0.bin', bytes: 10, cache: 'webllm/model' },
        { url: 'https://huggingface.co/someone/Other-q4f16_1-MLC/resolve/main/tensor-cache.json', bytes: 1, cache: 'webllm/model' },
        { url: 'https://example.org/lib/Other-webgpu.wasm', bytes: 3, cache: 'webllm/wasm' },
        ...modelFiles('Llama-3.2-1B-Instruct-q4f32_1-MLC', [5]),
      ],
      records,
    );
    const byId = Object.fromEntries(groups.map((g) => [g.id, g]));
    expect(byId['someone/Other-q4f16_1-MLC']).toMatchObject({ source: 'webllm', unknown: true, bytes: 11 });
    expect(byId['other WebLLM files']).toMatchObject({ source: 'webllm', unknown: true, bytes: 3 });
    expect(byId['Llama-3.2-1B-Instruct-q4f32_1-MLC'].unknown).toBeUndefined();
    // Unknown groups never count as a catalog build.
    expect(webllmBuildsCached(groups, ['someone/Other-q4f16_1-MLC'])).toEqual([]);
  });

  it('does not mistake a model for another whose id it starts with', () => {
    // ".../Qwen3-0.6B-q4f32_1-MLC/" must not take files of ".../Qwen3-0.6B-q4f32_1-MLC-x/".
    const rs: WebLLMCacheRecord[] = [
      { model_id: 'M', model: 'https://huggingface.co/mlc-ai/M', model_lib: 'https://x/m.wasm' },
      { model_id: 'M-x', model: 'https://huggingface.co/mlc-ai/M-x', model_lib: 'https://x/mx.wasm' },
    ];
    const groups = groupWebLLMEntries([{ url: 'https://huggingface.co/mlc-ai/M-x/resolve/main/params_shard_0.bin', bytes: 1 }], rs);
    expect(groups.map((g) => g.id)).toEqual(['M-x']);
  });

  it('transformers.js listings and isCached ignore WebLLM groups', () => {
    const webllm = groupWebLLMEntries(modelFiles('Qwen2.5-0.5B-Instruct-q4f16_1-MLC', [1]), records);
    const tjs = groupCacheEntries([{ url: 'https://huggingface.co/onnx-community/Qwen2.5-0.5B-Instruct/resolve/main/onnx/model_q4f16.onnx', bytes: 9 }]);
    const all = [...tjs, ...webllm];
    expect(isCached(all, 'onnx-community/Qwen2.5-0.5B-Instruct')?.source).toBe('hub');
    expect(isCached(all, 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC')).toBeUndefined();
    expect(webllmBuildsCached(all, ['Qwen2.5-0.5B-Instruct-q4f16_1-MLC', 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC']).map((g) => g.id)).toEqual(['Qwen2.5-0.5B-Instruct-q4f16_1-MLC']);
  });
});

describe('deleting a WebLLM model', () => {
  const deleted: string[] = [];
  afterEach(() => {
    vi.unstubAllGlobals();
    deleted.length = 0;
  });
  function fakeCaches() {
    const open = async (name: string) => ({ delete: async (url: string) => (deleted.push(`${name} ${url}`), true) });
    vi.stubGlobal('caches', { has: async () => true, open });
  }

  it('goes through WebLLM first, then removes what WebLLM leaves', async () => {
    fakeCaches();
    const [g] = groupWebLLMEntries(modelFiles('Qwen3-1.7B-q4f32_1-MLC', [1, 2]), records);
    const via = vi.fn(async () => undefined);
    const r = await deleteCachedWebLLM(g, via);
    expect(via).toHaveBeenCalledWith('Qwen3-1.7B-q4f32_1-MLC');
    expect(r).toEqual({ viaWebLLM: true, swept: g.files.length });
    expect(deleted).toContain(`webllm/model ${webllmModelBase(rec('Qwen3-1.7B-q4f32_1-MLC').model)}tensor-cache.json`);
    expect(deleted).toContain(`webllm/wasm ${rec('Qwen3-1.7B-q4f32_1-MLC').model_lib}`);
  });

  it('skips WebLLM (which would download tensor-cache.json) when no tensor-cache.json is stored, and for unknown files', async () => {
    fakeCaches();
    const via = vi.fn(async () => undefined);
    const [libOnly] = groupWebLLMEntries([{ url: rec('Qwen3-1.7B-q4f32_1-MLC').model_lib, bytes: 1, cache: 'webllm/wasm' }], records);
    expect(await deleteCachedWebLLM(libOnly, via)).toEqual({ viaWebLLM: false, swept: 1 });
    const [unknown] = groupWebLLMEntries([{ url: 'https://huggingface.co/a/b/resolve/main/tensor-cache.json', bytes: 1, cache: 'webllm/model' }], records);
    expect(await deleteCachedWebLLM(unknown, via)).toEqual({ viaWebLLM: false, swept: 1 });
    expect(via).not.toHaveBeenCalled();
  });

  it('a failure inside WebLLM is reported, nothing swept', async () => {
    fakeCaches();
    const [g] = groupWebLLMEntries(modelFiles('Qwen3-1.7B-q4f32_1-MLC', [1]), records);
    await expect(deleteCachedWebLLM(g, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(deleted).toEqual([]);
  });
});
