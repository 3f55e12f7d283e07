import { describe, expect, it } from 'vitest';
import { chooseEngine, fallbackAfterLoadFailure, type ChooseEngineInput } from '../src/lib/engine/choose';
import { EngineError } from '../src/lib/engine/types';
import { pickWebLLMModel, webllmAvailableFor } from '../src/lib/models/webllm-catalog';
import { MODEL_CATALOG } from '../src/lib/models/catalog';

const base: ChooseEngineInput = { family: 'Qwen2.5-0.5B-Instruct', webllmAvailableForModel: true, webgpu: true, shaderF16: true };

describe('chooseEngine', () => {
  it('auto: WebLLM when the model has a build and WebGPU is there', () => {
    const d = chooseEngine(base);
    expect(d).toMatchObject({ engine: 'webllm', userChoiceHonored: true });
    expect(d.reason).toContain('Qwen2.5-0.5B-Instruct');
    expect(d.reason).not.toMatch(/q4f32/);
  });

  it('auto without shader-f16: still WebLLM, and says it uses the q4f32 build', () => {
    const d = chooseEngine({ ...base, shaderF16: false });
    expect(d.engine).toBe('webllm');
    expect(d.reason).toMatch(/q4f32/);
  });

  it('auto: transformers.js without WebGPU, or without a WebLLM build', () => {
    const noGpu = chooseEngine({ ...base, webgpu: false });
    expect(noGpu.engine).toBe('transformers');
    expect(noGpu.reason).toMatch(/no WebGPU/);
    const noBuild = chooseEngine({ ...base, model: 'onnx-community/gpt2', family: undefined, webllmAvailableForModel: false });
    expect(noBuild.engine).toBe('transformers');
    expect(noBuild.reason).toContain('gpt2');
    expect(noBuild.reason).toMatch(/no build/);
  });

  it('an explicit choice wins when possible', () => {
    expect(chooseEngine({ ...base, userChoice: 'transformers' })).toMatchObject({ engine: 'transformers', userChoiceHonored: true });
    expect(chooseEngine({ ...base, webgpu: false, userChoice: 'transformers' })).toMatchObject({ engine: 'transformers', userChoiceHonored: true });
    expect(chooseEngine({ ...base, userChoice: 'webllm' })).toMatchObject({ engine: 'webllm', userChoiceHonored: true });
  });

  it('an impossible choice falls back and says why', () => {
    const noGpu = chooseEngine({ ...base, webgpu: false, userChoice: 'webllm' });
    expect(noGpu).toMatchObject({ engine: 'transformers', userChoiceHonored: false });
    expect(noGpu.reason).toMatch(/You chose WebLLM, but this browser has no WebGPU/);
    const noBuild = chooseEngine({ ...base, webllmAvailableForModel: false, userChoice: 'webllm' });
    expect(noBuild).toMatchObject({ engine: 'transformers', userChoiceHonored: false });
    expect(noBuild.reason).toMatch(/WebLLM has no build of Qwen2.5-0.5B-Instruct/);
  });

  it('takes a catalog entry as the model', () => {
    const entry = pickWebLLMModel('smollm2-360m', true)!;
    const d = chooseEngine({ model: entry, webllmAvailableForModel: webllmAvailableFor(entry.modelId), webgpu: true, shaderF16: true });
    expect(d.engine).toBe('webllm');
    expect(d.reason).toContain('smollm2-360m');
    // A transformers.js catalog entry: its label is shown.
    const tjs = MODEL_CATALOG.find((m) => m.family === 'qwen2.5-0.5b')!;
    const t = chooseEngine({ model: tjs, webllmAvailableForModel: webllmAvailableFor(tjs.id), webgpu: true, shaderF16: false });
    expect(t.engine).toBe('webllm');
    expect(t.reason).toContain(tjs.label);
    const g = MODEL_CATALOG.find((m) => m.family === 'gemma-3-1b');
    if (g) expect(chooseEngine({ model: g, webllmAvailableForModel: webllmAvailableFor(g.id), webgpu: true, shaderF16: true }).engine).toBe('transformers');
  });

  it('every combination gives an engine and a non-empty sentence', () => {
    for (const webgpu of [true, false])
      for (const shaderF16 of [true, false])
        for (const webllmAvailableForModel of [true, false])
          for (const userChoice of ['auto', 'transformers', 'webllm', undefined] as const) {
            const d = chooseEngine({ ...base, webgpu, shaderF16, webllmAvailableForModel, userChoice });
            expect(['webllm', 'transformers']).toContain(d.engine);
            if (d.engine === 'webllm') expect(webgpu && webllmAvailableForModel).toBe(true);
            expect(d.reason).toMatch(/^[A-Z].*\.$/);
          }
  });
});

describe('fallbackAfterLoadFailure', () => {
  it('always continues with transformers.js, with the reason in plain words', () => {
    const cases: Array<[unknown, RegExp, string]> = [
      [new EngineError('out_of_memory', 'DeviceLostError'), /does not fit in GPU memory/, 'out_of_memory'],
      [new EngineError('network'), /could not be downloaded/, 'network'],
      [new EngineError('unsupported', 'shader-f16'), /lacks a feature/, 'unsupported'],
      [new Error('[webgpu_unavailable] WebGPU is not available (x)'), /WebGPU is not available/, 'webgpu_unavailable'],
      [new Error('something odd'), /failed unexpectedly/, 'unknown'],
    ];
    for (const [err, words, code] of cases) {
      const f = fallbackAfterLoadFailure(err);
      expect(f.engine).toBe('transformers');
      expect(f.code).toBe(code);
      expect(f.reason).toMatch(words);
      expect(f.reason).toMatch(/^WebLLM could not load the model \(.*\): running on transformers\.js instead\.$/);
    }
    expect(fallbackAfterLoadFailure(new EngineError('network'), 'Qwen2.5 0.5B').reason).toMatch(/^WebLLM could not load Qwen2\.5 0\.5B \(/);
  });
});
