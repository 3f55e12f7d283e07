// Models with a LoRA adapter run on transformers.js: WebLLM cannot apply adapters.
import { describe, expect, it } from 'vitest';
import { chooseEngine, type ChooseEngineInput } from '../src/lib/engine/choose';
import { engineModelInfo, planEngine } from '../src/app/engine-choice';

const base: ChooseEngineInput = { family: 'Qwen2.5-0.5B-Instruct', webllmAvailableForModel: true, webgpu: true, shaderF16: true };

describe('engine choice with an adapter', () => {
  it('auto sends a model with an adapter to transformers.js and says why', () => {
    expect(chooseEngine(base).engine).toBe('webllm');
    const d = chooseEngine({ ...base, adapter: 'instilled-100' });
    expect(d).toMatchObject({ engine: 'transformers', userChoiceHonored: true });
    expect(d.reason).toMatch(/Qwen2\.5-0\.5B-Instruct with the adapter instilled-100 runs with transformers\.js: WebLLM cannot apply LoRA adapters/);
  });

  it('refuses an explicit WebLLM choice with an adapter, giving the reason; honours transformers.js', () => {
    const d = chooseEngine({ ...base, adapter: 'instilled-100', userChoice: 'webllm' });
    expect(d).toMatchObject({ engine: 'transformers', userChoiceHonored: false });
    expect(d.reason).toMatch(/^You chose WebLLM, but WebLLM cannot apply LoRA adapters/);
    expect(chooseEngine({ ...base, adapter: 'x', userChoice: 'transformers' })).toMatchObject({ engine: 'transformers', userChoiceHonored: true });
  });

  it('planEngine: no WebLLM build is planned for a catalog model with an adapter', () => {
    const gpu = { webgpu: true, shaderF16: true };
    const info = engineModelInfo('onnx-community/Qwen2.5-0.5B-Instruct');
    expect(planEngine(info, 'auto', gpu).engine).toBe('webllm');
    for (const requested of ['auto', 'webllm'] as const) {
      const p = planEngine({ ...info, adapter: 'stored:instilled-100' }, requested, gpu);
      expect(p).toMatchObject({ engine: 'transformers', webllmModel: null, userChoiceHonored: requested === 'auto' });
      expect(p.reason).toMatch(/LoRA adapters/);
    }
  });
});
