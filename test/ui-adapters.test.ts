/**
 * The lab's glue for models with a LoRA adapter (src/app/adapters.ts, spec-form): base and
 * base + adapter are two models of one experiment, the spec carries the adapter, picked files
 * are checked before they are stored, and a run's adapters are read back with their hashes.
 */
import { describe, expect, it } from 'vitest';
import { adaptedKey, adaptedLabel, adapterName, checkAdapter, modelWithAdapterName, runAdapters, storePickedAdapter } from '../src/app/adapters';
import { checkForm, formFromPreset, formFromSpec, sameModelChoice, specFromForm, type ModelChoice } from '../src/app/spec-form';
import { AdapterError, PICKLE_HELP } from '../src/lib/adapters';
import { buildFixture } from './fixture/build';
import { buildFixtureAdapter } from './fixture/adapter';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base: ModelChoice = { id: '/models/tiny-llama', label: 'tiny-llama', device: 'wasm', dtype: 'auto' };
const adapted: ModelChoice = { ...base, label: 'tiny-llama + instilled', adapter: { id: '/adapters/instilled' } };

describe('models with a LoRA adapter in the experiment form', () => {
  it('base vs base + adapter is a valid comparison; the same adapter twice is not', () => {
    expect(sameModelChoice(base, adapted)).toBe(false);
    expect(sameModelChoice(adapted, { ...adapted, adapter: { id: '/adapters/instilled', scale: 1 } })).toBe(true);
    expect(sameModelChoice(adapted, { ...adapted, adapter: { id: '/adapters/instilled', scale: 0.5 } })).toBe(false);

    const form = formFromPreset('classroom', adapted, base);
    const check = checkForm(form, 100);
    expect(check.problems).toEqual([]);
    expect(check.spec!.models).toEqual([
      expect.objectContaining({ key: 'self', id: '/models/tiny-llama', adapter: { id: '/adapters/instilled' } }),
      expect.objectContaining({ key: 'control', id: '/models/tiny-llama' }),
    ]);
    expect(check.spec!.models[1].adapter).toBeUndefined();
    // A saved spec loads back with its adapter.
    expect(formFromSpec(specFromForm(form)).model.adapter).toEqual({ id: '/adapters/instilled' });

    const twice = checkForm(formFromPreset('classroom', adapted, { ...adapted }), 100);
    expect(twice.problems.join(' ')).toMatch(/control model must be a different model/);
  });

  it('names models with their adapter, and keys them apart from the base', () => {
    expect(adapterName('stored:picked-rslora')).toBe('picked-rslora');
    expect(adapterName('owner/instilled-100')).toBe('instilled-100');
    expect(adaptedLabel('Qwen2.5 0.5B', { id: 'owner/instilled-100' })).toBe('Qwen2.5 0.5B + instilled-100');
    expect(adaptedLabel('Qwen2.5 0.5B', { id: 'owner/instilled-100', scale: 0.5 })).toBe('Qwen2.5 0.5B + instilled-100 ×0.5');
    expect(adaptedKey(base)).toBe(base.id);
    expect(adaptedKey(adapted)).not.toBe(adaptedKey(base));
    expect(adaptedKey({ base: base.id, adapter: adapted.adapter })).toBe(adaptedKey(adapted));
    expect(modelWithAdapterName({ id: 'onnx-community/Qwen2.5-0.5B-Instruct', adapter: { id: 'me/instilled' } }, (id) => id.split('/')[1])).toBe(
      'Qwen2.5-0.5B-Instruct + instilled',
    );
  });

  it("reads a run's adapters with the hash of what was applied (none until loaded)", () => {
    const spec = specFromForm(formFromPreset('classroom', adapted, base));
    const caps = { engine: 'transformers' as const, model: base.id, device: 'wasm' as const, dtype: 'fp32', contextLength: 2048 };
    expect(runAdapters({ spec, engines: {} })).toEqual([{ key: 'self', model: base.id, id: '/adapters/instilled', scale: 1, sha256: null }]);
    const engines = {
      self: { ...caps, adapter: '/adapters/instilled', adapterInfo: { id: '/adapters/instilled', scale: 1, sha256: 'ab'.repeat(32), modules: [], patchMs: 1 } },
      control: { ...caps, adapter: null },
    };
    expect(runAdapters({ spec, engines })[0].sha256).toBe('ab'.repeat(32));
  });
});

describe('adapter files picked from disk or named by id', () => {
  const fixture = buildFixture({ seed: 3 });
  const good = buildFixtureAdapter(fixture.config, { baseModel: 'tiny-llama' }).files;
  const file = (name: string, bytes: Uint8Array | string) => new File([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)], name);

  it('refuses a pickle with how to convert it, a missing file, and corrupt weights, before storing anything', async () => {
    await expect(storePickedAdapter('x', [file('adapter_config.json', good['adapter_config.json']), file('adapter_model.bin', 'pickle')])).rejects.toThrow(PICKLE_HELP);
    await expect(storePickedAdapter('x', [file('adapter_config.json', good['adapter_config.json'])])).rejects.toThrow(/pick both adapter_config\.json and adapter_model\.safetensors/);
    await expect(storePickedAdapter('a/b', [])).rejects.toThrow(/slashes/);
    const truncated = good['adapter_model.safetensors'].slice(0, 100);
    await expect(storePickedAdapter('x', [file('adapter_config.json', good['adapter_config.json']), file('adapter_model.safetensors', truncated)])).rejects.toBeInstanceOf(AdapterError);
    // Valid files reach the browser store, which Node does not have: the error says so.
    await expect(storePickedAdapter('x', [file('adapter_config.json', good['adapter_config.json']), file('adapter_model.safetensors', good['adapter_model.safetensors'])])).rejects.toThrow(
      /Cache Storage/,
    );
  });

  it('checks an adapter against its base model when it is added', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ui-adapters-'));
    try {
      for (const [name, bytes] of Object.entries(good)) writeFileSync(join(dir, name), bytes);
      const m = await checkAdapter('/models/tiny-llama', 'tiny-llama', { id: dir });
      expect(m).toMatchObject({ base: '/models/tiny-llama', label: `tiny-llama + ${adapterName(dir)}`, modules: 14, rank: 8 });
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      await expect(checkAdapter('/models/other-model', 'other', { id: dir })).rejects.toThrow(/trained on "tiny-llama".*"\/models\/other-model"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
