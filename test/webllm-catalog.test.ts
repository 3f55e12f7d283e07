/**
 * The WebLLM catalog is pure data copied from web-llm 0.2.86: every field is
 * checked against the installed package's prebuiltAppConfig.
 */
import { describe, expect, it } from 'vitest';
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import {
  WEBLLM_FAMILIES,
  WEBLLM_MODELS,
  WEBLLM_MODEL_IDS,
  findWebLLMModel,
  isHalfQuant,
  needsShaderF16,
  pickWebLLMModel,
  transformersPairOf,
  webllmAvailableFor,
  webllmFamilyOf,
} from '../src/lib/models/webllm-catalog';
import { MODEL_CATALOG } from '../src/lib/models/catalog';
import { buildAppConfig } from '../workers/webllm-helpers';

describe('WebLLM catalog vs the installed prebuiltAppConfig', () => {
  const records = new Map(prebuiltAppConfig.model_list.map((r) => [r.model_id, r]));

  for (const m of WEBLLM_MODELS)
    it(`${m.modelId} matches its prebuilt record`, () => {
      const r = records.get(m.modelId);
      expect(r, 'record exists').toBeTruthy();
      expect(m.vramMB).toBe(r!.vram_required_MB);
      expect(m.lowResource).toBe(r!.low_resource_required);
      expect(m.contextWindow).toBe(r!.overrides?.context_window_size);
      expect(m.requiredFeatures).toEqual(r!.required_features ?? []);
      expect(m.modelId).toContain(m.quant);
      const name = WEBLLM_FAMILIES.find((f) => f.family === m.family)!.name;
      expect(r!.model).toMatch(new RegExp(`/mlc-ai/${name.replace(/\./g, '\\.')}-${m.quant}-MLC$`));
    });

  it('every family has a 16-bit and a 32-bit build (q4, or q0 where WebLLM ships no q4), and every build a family', () => {
    for (const f of WEBLLM_FAMILIES) {
      const builds = WEBLLM_MODELS.filter((m) => m.family === f.family);
      expect(builds.some((b) => isHalfQuant(b.quant)), f.family).toBe(true);
      expect(builds.some((b) => !isHalfQuant(b.quant)), f.family).toBe(true);
      const q = builds.some((b) => b.quant.startsWith('q4')) ? ['q4f16_1', 'q4f32_1'] : ['q0f16', 'q0f32'];
      expect(builds.every((b) => q.includes(b.quant)), f.family).toBe(true);
    }
    expect(WEBLLM_MODELS.filter((m) => m.family === 'smollm2-135m').map((m) => m.quant)).toEqual(['q0f16', 'q0f32']);
    for (const m of WEBLLM_MODELS) expect(WEBLLM_FAMILIES.some((f) => f.family === m.family)).toBe(true);
  });

  it('covers every q4 build of these families that the package ships, and the q0 builds of a family with no q4 (nothing left out)', () => {
    const ids = prebuiltAppConfig.model_list.map((r) => r.model_id);
    const shipped = WEBLLM_FAMILIES.flatMap((f) => {
      const q4 = ids.filter((id) => id.startsWith(`${f.name}-q4f16_1-MLC`) || id.startsWith(`${f.name}-q4f32_1-MLC`));
      return q4.length ? q4 : ids.filter((id) => id.startsWith(`${f.name}-q0f16-MLC`) || id.startsWith(`${f.name}-q0f32-MLC`));
    });
    expect([...shipped].sort()).toEqual([...WEBLLM_MODEL_IDS].sort());
  });

  it('our app config is the prebuilt records of the catalog, copied', () => {
    const app = buildAppConfig(prebuiltAppConfig, WEBLLM_MODEL_IDS, 'indexeddb');
    expect(app.model_list.map((r) => r.model_id).sort()).toEqual([...WEBLLM_MODEL_IDS].sort());
    expect(app.cacheBackend).toBe('indexeddb');
    app.model_list[0].vram_required_MB = -1;
    expect(records.get(app.model_list[0].model_id)!.vram_required_MB).not.toBe(-1);
  });
});

describe('picking a build', () => {
  it('the 16-bit build with shader-f16 (q4f16_1, or q0f16), the 32-bit one without', () => {
    for (const f of WEBLLM_FAMILIES) {
      const q4 = f.family !== 'smollm2-135m';
      expect(pickWebLLMModel(f.family, true)!.quant).toBe(q4 ? 'q4f16_1' : 'q0f16');
      expect(pickWebLLMModel(f.family, false)!.quant).toBe(q4 ? 'q4f32_1' : 'q0f32');
      expect(needsShaderF16(pickWebLLMModel(f.family, false)!)).toBe(false);
      expect(needsShaderF16(pickWebLLMModel(f.family, true)!)).toBe(true);
    }
  });

  it('the full-context build by default; a 1k build when memory is short', () => {
    expect(pickWebLLMModel('phi-3.5-mini', true)!.modelId).toBe('Phi-3.5-mini-instruct-q4f16_1-MLC');
    expect(pickWebLLMModel('Phi-3.5-mini-instruct', true, { maxVramMB: 3000 })!.modelId).toBe('Phi-3.5-mini-instruct-q4f16_1-MLC-1k');
    expect(pickWebLLMModel('gemma-2-2b', false, { maxVramMB: 1000 })!.modelId).toBe('gemma-2-2b-it-q4f32_1-MLC-1k');
    expect(pickWebLLMModel('Qwen2.5-0.5B-Instruct', true, { maxVramMB: 100 })!.modelId).toBe('Qwen2.5-0.5B-Instruct-q4f16_1-MLC');
  });

  it('unknown families give null', () => {
    expect(pickWebLLMModel('Mistral-7B', true)).toBeNull();
    expect(findWebLLMModel('Mistral-7B-Instruct-v0.3-q4f16_1-MLC')).toBeNull();
  });
});

describe('pairing ids across engines', () => {
  it('finds the family from a WebLLM id, the upstream repo, a transformers.js repo or the bare name', () => {
    const cases: Array<[string, string]> = [
      ['qwen2.5-0.5b', 'qwen2.5-0.5b'],
      ['Qwen2.5-0.5B-Instruct-q4f32_1-MLC', 'qwen2.5-0.5b'],
      ['gemma-2-2b-it-q4f16_1-MLC-1k', 'gemma-2-2b'],
      ['Qwen/Qwen2.5-1.5B-Instruct', 'qwen2.5-1.5b'],
      ['onnx-community/Qwen3-0.6B-ONNX', 'qwen3-0.6b'],
      ['onnx-community/Llama-3.2-1B-Instruct-q4f16', 'llama-3.2-1b'],
      ['onnx-community/Phi-3.5-mini-instruct-onnx-web', 'phi-3.5-mini'],
      ['HuggingFaceTB/SmolLM2-360M-Instruct', 'smollm2-360m'],
      ['HuggingFaceTB/SmolLM2-135M-Instruct', 'smollm2-135m'],
      ['SmolLM2-135M-Instruct-q0f32-MLC', 'smollm2-135m'],
      ['meta-llama/Llama-3.2-3B-Instruct', 'llama-3.2-3b'],
      ['smollm2-1.7b-instruct', 'smollm2-1.7b'],
      ['google/gemma-2-2b-it', 'gemma-2-2b'],
    ];
    for (const [id, family] of cases) expect(webllmFamilyOf(id)?.family, id).toBe(family);
    for (const id of ['Qwen/Qwen2.5-7B-Instruct', 'gpt2', '', 'Qwen3-0.6B-Base']) expect(webllmAvailableFor(id), id).toBe(false);
  });

  it('every transformers.js pair is named in the catalog and pairs back to its family', () => {
    for (const f of WEBLLM_FAMILIES) {
      if (f.transformersJs) expect(webllmFamilyOf(f.transformersJs)?.family).toBe(f.family);
      expect(webllmFamilyOf(f.upstream)?.family).toBe(f.family);
    }
    expect(transformersPairOf('Qwen2.5-0.5B-Instruct-q4f16_1-MLC')).toBe('onnx-community/Qwen2.5-0.5B-Instruct');
    expect(transformersPairOf('gemma-2-2b-it-q4f16_1-MLC')).toBeNull();
  });

  it('flags: Qwen3 thinks, Gemma 2 has no system turn', () => {
    expect(WEBLLM_FAMILIES.filter((f) => f.thinking).map((f) => f.family)).toEqual(['qwen3-0.6b', 'qwen3-1.7b']);
    expect(WEBLLM_FAMILIES.filter((f) => f.systemRole === false).map((f) => f.family)).toEqual(['gemma-2-2b']);
  });

  it("pairs with the transformers.js catalog: same family keys, each model there that WebLLM ships is found by its id", () => {
    for (const entry of MODEL_CATALOG) {
      const fam = webllmFamilyOf(entry.id);
      if (WEBLLM_FAMILIES.some((f) => f.family === entry.family)) expect(fam?.family, entry.id).toBe(entry.family);
      else expect(fam, entry.id).toBeNull();
    }
    // And the WebLLM families named with a transformers.js pair are the catalog's where it lists them.
    for (const f of WEBLLM_FAMILIES) {
      const there = MODEL_CATALOG.find((e) => e.family === f.family);
      if (there && f.transformersJs) expect(f.transformersJs).toBe(there.id);
    }
  });
});
