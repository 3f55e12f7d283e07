/**
 * A model resolved once (src/app/model-resolution.ts): source, catalog knowledge, engine plan,
 * WebLLM build and the transformers.js load in one value, and the engine provider loading
 * exactly what it says.
 */
import { describe, expect, it } from 'vitest';
import { resolveModel } from '../src/app/model-resolution';
import { WorkerEngineProvider } from '../src/app/engine-provider';
import { EngineError, type EngineCapabilities, type LoadOptions } from '../src/lib/engine/types';
import type { DeviceReport } from '../workers/device';
import type { WorkerEngine } from '../workers/client';

const QWEN = 'onnx-community/Qwen2.5-0.5B-Instruct';
const SMOL = 'HuggingFaceTB/SmolLM2-135M-Instruct';
const wasm: DeviceReport = { webgpu: false, shaderF16: false, wasmThreads: true, node: false };
const gpu: DeviceReport = { webgpu: true, shaderF16: false, wasmThreads: true, node: false };
const gpuF16: DeviceReport = { ...gpu, shaderF16: true };

describe('resolveModel: one value for a model on its way to an engine', () => {
  it('a catalog model on a GPU with shader-f16: WebLLM with its q4f16 build, transformers.js ready as the fallback', () => {
    const r = resolveModel({ key: 'self', id: QWEN, device: 'auto' }, gpuF16);
    expect(r.source).toEqual({ kind: 'hub', id: QWEN });
    expect(r.info).toMatchObject({ id: QWEN, family: 'qwen2.5-0.5b', local: false });
    expect(r.name).toBe(r.info.label);
    expect(r.plan.engine).toBe('webllm');
    expect(r.plan.webllmModel).toMatch(/^Qwen2\.5-0\.5B-Instruct-q4f16_1-MLC$/);
    expect(r.choice).toMatchObject({ requested: 'auto', planned: 'webllm', webllmModel: r.plan.webllmModel });
    expect(r.transformers).toEqual({ ok: true, model: QWEN, transformers: { allowRemoteModels: true }, device: 'webgpu', dtype: 'q4f16' });
  });

  it('a served folder: transformers.js from this site only, the build among those the folder has', () => {
    const r = resolveModel({ key: 'self', id: 'tiny', device: 'auto', engine: 'webllm' }, wasm, { localModels: '/models/', dtypesOf: () => ['fp32'] });
    expect(r.source).toEqual({ kind: 'local', id: '/models/tiny', localModelPath: '/models/', name: 'tiny' });
    expect(r.info.local).toBe(true);
    expect(r.plan).toMatchObject({ engine: 'transformers', userChoiceHonored: false, webllmModel: null });
    expect(r.plan.reason).toMatch(/model folder on this site/);
    expect(r.transformers).toEqual({ ok: true, model: 'tiny', transformers: { localModelPath: '/models/', allowRemoteModels: false }, device: 'wasm', dtype: 'fp32' });
  });

  it('an adapter: transformers.js, with the adapter in its load', () => {
    const adapter = { id: '/adapters/a', scale: 0.5 };
    const r = resolveModel({ key: 'self', id: SMOL, device: 'auto', adapter }, gpuF16);
    expect(r.plan.engine).toBe('transformers');
    expect(r.transformers).toMatchObject({ ok: true, model: SMOL, device: 'webgpu', dtype: 'q4f16', adapter });
  });

  it('a device this browser lacks: kept as an error for the transformers.js path, not thrown while resolving', () => {
    const r = resolveModel({ key: 'self', id: SMOL, device: 'webgpu' }, wasm);
    expect(r.transformers.ok).toBe(false);
    expect(r.transformers.ok === false && EngineError.from(r.transformers.error).code).toBe('webgpu_unavailable');
  });
});

describe('the engine provider loads what the resolution says', () => {
  function recording(webllm: 'ok' | 'fail') {
    const loads: Array<{ kind: string; options: unknown; load: LoadOptions }> = [];
    const create = (async (kind: 'transformers' | 'webllm', options: unknown) => {
      const engine = {
        async load(o: LoadOptions): Promise<EngineCapabilities> {
          loads.push({ kind, options, load: o });
          if (kind === 'webllm' && webllm === 'fail') throw new EngineError('network', 'Failed to fetch');
          return { engine: kind, model: o.model, device: 'webgpu', dtype: o.dtype ?? 'q4f32_1', contextLength: 4096, adapter: null };
        },
        terminate() {},
      };
      return engine as unknown as WorkerEngine;
    }) as typeof WorkerEngine.create;
    return { loads, create };
  }

  it('after a failed WebLLM load, transformers.js loads the resolved files, device and build', async () => {
    const { loads, create } = recording('fail');
    const opts = { localModels: '/models/', dtypesOf: () => ['q4', 'fp32'] };
    const p = new WorkerEngineProvider({ ...opts, create, probe: async () => gpu });
    const ref = { key: 'self', id: QWEN, device: 'auto' as const };
    const { caps } = await p.acquire(ref);
    const r = resolveModel(ref, gpu, opts);
    expect(loads.map((l) => l.kind)).toEqual(['webllm', 'transformers']);
    expect(loads[0].load).toMatchObject({ model: r.plan.webllmModel, device: 'webgpu' });
    expect(r.transformers.ok).toBe(true);
    if (!r.transformers.ok) return;
    expect(loads[1].options).toEqual({ transformers: r.transformers.transformers });
    expect(loads[1].load).toMatchObject({ model: r.transformers.model, device: r.transformers.device, dtype: r.transformers.dtype });
    expect(caps.choice).toMatchObject({ ...r.choice, fallback: { code: 'network' } });
  });

  it('a device the browser lacks fails only when transformers.js must run the model', async () => {
    const { loads, create } = recording('ok');
    const p = new WorkerEngineProvider({ create, probe: async () => wasm });
    await expect(p.acquire({ key: 'self', id: SMOL, device: 'webgpu' })).rejects.toMatchObject({ code: 'webgpu_unavailable' });
    expect(loads).toEqual([]);
  });
});
