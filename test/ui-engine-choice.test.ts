/**
 * The engine choice glue (src/app/engine-choice.ts) and the browser engine
 * provider's choose → try WebLLM → fall back to transformers.js path, with
 * engines that are test doubles (no workers).
 */
import { describe, expect, it } from 'vitest';
import {
  applyEngineEvent,
  choiceOf,
  cleanEngineChoices,
  engineModelInfo,
  engineRows,
  fallbackRecord,
  planEngine,
  type ChosenCapabilities,
  type EngineEvent,
  type EngineLive,
} from '../src/app/engine-choice';
import { WorkerEngineProvider, workerOptionsFor } from '../src/app/engine-provider';
import { EngineError, type EngineCapabilities, type LoadOptions } from '../src/lib/engine/types';
import type { DeviceReport } from '../workers/device';
import type { WorkerEngine } from '../workers/client';

const QWEN = 'onnx-community/Qwen2.5-0.5B-Instruct';
const GEMMA3 = 'onnx-community/gemma-3-1b-it-ONNX';
const gpu = { webgpu: true, shaderF16: false };
const gpuF16 = { webgpu: true, shaderF16: true };
const noGpu = { webgpu: false, shaderF16: false };

describe('planEngine: the automatic choice and overrides', () => {
  const qwen = engineModelInfo(QWEN);

  it('knows catalog models by family and label, and served folders as local', () => {
    expect(qwen).toEqual({ id: QWEN, label: 'Qwen2.5 0.5B Instruct', family: 'qwen2.5-0.5b', local: false });
    expect(engineModelInfo('/models/tiny-llama')).toMatchObject({ id: '/models/tiny-llama', local: true, family: undefined });
    expect(engineModelInfo('tiny-llama', '/models/')).toMatchObject({ local: true });
    // A folder probe's model_type is not a WebLLM family.
    expect(engineModelInfo('/models/q', null, { label: 'q', family: 'qwen2', local: true }).family).toBeUndefined();
    expect(engineModelInfo('HuggingFaceTB/SmolLM2-360M-Instruct')).toMatchObject({ family: 'smollm2-360m' });
  });

  it('auto: WebLLM where it has a build and WebGPU is there (q4f32 without shader-f16, q4f16 with)', () => {
    const p = planEngine(qwen, 'auto', gpu);
    expect(p).toMatchObject({ engine: 'webllm', requested: 'auto', userChoiceHonored: true, webllmModel: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC' });
    expect(p.reason).toMatch(/^Qwen2\.5 0\.5B Instruct runs with WebLLM: .*faster.*shader-f16.*q4f32/);
    expect(planEngine(qwen, undefined, gpuF16)).toMatchObject({ engine: 'webllm', webllmModel: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC' });
  });

  it('auto: transformers.js without WebGPU, or when WebLLM has no build', () => {
    const cpu = planEngine(qwen, 'auto', noGpu);
    expect(cpu).toMatchObject({ engine: 'transformers', userChoiceHonored: true, webllmModel: null });
    expect(cpu.reason).toMatch(/no WebGPU.*transformers\.js on the CPU/);
    const gemma = planEngine(engineModelInfo(GEMMA3), 'auto', gpu);
    expect(gemma).toMatchObject({ engine: 'transformers', userChoiceHonored: true });
    expect(gemma.reason).toBe('WebLLM has no build of Gemma 3 1B it, so it runs with transformers.js on the GPU.');
  });

  it('overrides: transformers.js always; WebLLM only where possible, else why not', () => {
    expect(planEngine(qwen, 'transformers', gpu)).toMatchObject({ engine: 'transformers', userChoiceHonored: true, reason: 'You chose transformers.js for Qwen2.5 0.5B Instruct.' });
    expect(planEngine(qwen, 'webllm', gpu)).toMatchObject({ engine: 'webllm', userChoiceHonored: true, webllmModel: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC' });
    const noBuild = planEngine(engineModelInfo(GEMMA3), 'webllm', gpu);
    expect(noBuild).toMatchObject({ engine: 'transformers', userChoiceHonored: false, webllmModel: null });
    expect(noBuild.reason).toMatch(/^You chose WebLLM, but WebLLM has no build of Gemma 3 1B it; .*transformers\.js instead/);
    const noWebGpu = planEngine(qwen, 'webllm', noGpu);
    expect(noWebGpu).toMatchObject({ engine: 'transformers', userChoiceHonored: false });
    expect(noWebGpu.reason).toMatch(/You chose WebLLM, but this browser has no WebGPU/);
  });

  it('served folders and an explicit CPU device rule WebLLM out, and say so', () => {
    // Named like a WebLLM model, but it is this site's folder: only transformers.js loads those files.
    const folder = { id: '/models/Qwen2.5-0.5B-Instruct', label: 'Qwen2.5-0.5B-Instruct', local: true };
    expect(planEngine(folder, 'auto', gpu)).toMatchObject({ engine: 'transformers', userChoiceHonored: true });
    expect(planEngine(folder, 'auto', gpu).reason).toMatch(/model folder on this site.*transformers\.js/);
    expect(planEngine(folder, 'webllm', gpu)).toMatchObject({ engine: 'transformers', userChoiceHonored: false });
    expect(planEngine(folder, 'webllm', gpu).reason).toMatch(/^You chose WebLLM, but .*folder on this site/);
    const onCpu = planEngine(qwen, 'auto', gpu, 'wasm');
    expect(onCpu).toMatchObject({ engine: 'transformers', userChoiceHonored: true, webllmModel: null });
    expect(onCpu.reason).toMatch(/CPU \(WASM\).*WebLLM runs only on the GPU/);
    expect(planEngine(qwen, 'webllm', gpu, 'cpu')).toMatchObject({ engine: 'transformers', userChoiceHonored: false });
    expect(planEngine(engineModelInfo(GEMMA3), 'auto', gpu, 'wasm').reason).toMatch(/no build of Gemma 3 1B it.*on the CPU \(WASM\) as chosen/);
    expect(planEngine(qwen, 'auto', gpu, 'webgpu')).toMatchObject({ engine: 'webllm' });
  });

  it('keeps only valid stored choices', () => {
    expect(cleanEngineChoices({ a: 'webllm', b: 'auto', c: 'gpu', d: 3, e: 'transformers' })).toEqual({ a: 'webllm', e: 'transformers' });
    expect(cleanEngineChoices(null)).toEqual({});
    expect(cleanEngineChoices(['webllm'])).toEqual({});
  });
});

describe('fallback words', () => {
  it('name the model and the cause, and keep the detail', () => {
    const f = fallbackRecord(new EngineError('network', 'Failed to fetch https://huggingface.co/mlc-ai/x/resolve/main/mlc-chat-config.json'), 'Qwen2.5 0.5B Instruct');
    expect(f).toEqual({
      reason: 'WebLLM could not load Qwen2.5 0.5B Instruct (its files could not be downloaded): running on transformers.js instead.',
      code: 'network',
      detail: 'Failed to fetch https://huggingface.co/mlc-ai/x/resolve/main/mlc-chat-config.json',
    });
    expect(fallbackRecord(new Error('[device_lost] gone'), 'M').reason).toMatch(/GPU stopped responding/);
    expect(fallbackRecord(new Error('kaput'), 'M')).toMatchObject({ code: 'unknown', detail: 'kaput' });
  });
});

describe('transformers.js options with a local models folder', () => {
  it('catalog (hub) models look in ?localModels= first, then the hub; served folders never leave the site', () => {
    expect(workerOptionsFor(QWEN, '/models/')).toEqual({ model: QWEN, transformers: { localModelPath: '/models/', allowRemoteModels: true } });
    expect(workerOptionsFor(QWEN, '/models')).toEqual({ model: QWEN, transformers: { localModelPath: '/models/', allowRemoteModels: true } });
    expect(workerOptionsFor(QWEN)).toEqual({ model: QWEN, transformers: { allowRemoteModels: true } });
    expect(workerOptionsFor('tiny', '/models/')).toEqual({ model: 'tiny', transformers: { localModelPath: '/models/', allowRemoteModels: false } });
  });
});

describe('engine rows for the Run view', () => {
  const models = [
    { key: 'self', id: QWEN, label: 'Qwen2.5 0.5B Instruct' },
    { key: 'control', id: GEMMA3 },
  ];
  const plan = planEngine(engineModelInfo(QWEN), 'auto', gpu);
  const caps = (engine: 'webllm' | 'transformers', extra: Partial<ChosenCapabilities> = {}): ChosenCapabilities => ({
    engine, model: QWEN, device: 'webgpu', dtype: engine === 'webllm' ? 'q4f32_1' : 'fp32', contextLength: 4096, adapter: null, ...extra,
  });

  it('follows the provider: planned (loading WebLLM), fallback, loaded on transformers.js', () => {
    const base = { key: 'self', modelId: QWEN, name: 'Qwen2.5 0.5B Instruct' };
    let live: Record<string, EngineLive> = {};
    live = applyEngineEvent(live, { kind: 'planned', ...base, plan });
    expect(engineRows(models, {}, live)).toEqual([
      expect.objectContaining({ key: 'self', state: 'loading', engine: 'webllm', requested: 'auto', webllmModel: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC' }),
    ]);
    const fallback = fallbackRecord(new EngineError('network', 'offline'), 'Qwen2.5 0.5B Instruct');
    live = applyEngineEvent(live, { kind: 'fallback', ...base, fallback });
    expect(engineRows(models, {}, live)[0]).toMatchObject({ state: 'loading', engine: 'transformers', fallback });
    const loaded = caps('transformers', { choice: { ...live.self.choice } });
    live = applyEngineEvent(live, { kind: 'loaded', ...base, caps: loaded });
    const [row] = engineRows(models, {}, live);
    expect(row).toMatchObject({ state: 'loaded', engine: 'transformers', runsOn: 'webgpu · fp32', fallback, reason: plan.reason });
    // Events for a key never planned are ignored.
    expect(applyEngineEvent({}, { kind: 'fallback', ...base, fallback } as EngineEvent)).toEqual({});
  });

  it('reads the choice stored with the run when nothing is live, and shows older runs without one', () => {
    const stored: Record<string, EngineCapabilities> = {
      self: caps('webllm', { choice: { requested: 'auto', planned: 'webllm', reason: plan.reason, userChoiceHonored: true, webllmModel: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC' } }),
      control: { ...caps('transformers'), model: GEMMA3 },
    };
    const rows = engineRows(models, stored, {});
    expect(rows.map((r) => [r.key, r.engine, r.state])).toEqual([
      ['self', 'webllm', 'loaded'],
      ['control', 'transformers', 'loaded'],
    ]);
    expect(rows[0].runsOn).toBe('webgpu · q4f32_1');
    expect(rows[1].reason).toMatch(/before the lab kept the reason/);
    expect(choiceOf(stored.control)).toBeNull();
    // A live state for another model under the same key (a new run) does not hide the stored one.
    expect(engineRows(models, stored, { self: { modelId: 'x/y', name: 'y', choice: rows[0] as never } })[0].engine).toBe('webllm');
  });
});

/** A WorkerEngine double: load resolves or rejects as told; terminate is counted. */
function fakeEngines(behaviour: { webllm?: 'fail' | 'ok' | 'hang'; transformers?: 'ok' | 'fail' }) {
  const log: string[] = [];
  const create = (async (kind: 'transformers' | 'webllm') => {
    log.push(`create ${kind}`);
    const engine = {
      async load(o: LoadOptions): Promise<EngineCapabilities> {
        log.push(`load ${kind} ${o.model} ${o.device ?? ''} ${o.dtype ?? ''}`.trim());
        const b = behaviour[kind] ?? 'ok';
        if (b === 'hang') return new Promise(() => undefined);
        if (b === 'fail') throw kind === 'webllm' ? new EngineError('network', 'Failed to fetch') : new EngineError('model_not_found', 'no such model');
        return { engine: kind, model: o.model, device: 'webgpu', dtype: kind === 'webllm' ? 'q4f32_1' : (o.dtype ?? 'fp32'), contextLength: 4096, adapter: null };
      },
      terminate() {
        log.push(`terminate ${kind}`);
      },
    };
    return engine as unknown as WorkerEngine;
  }) as typeof WorkerEngine.create;
  return { log, create };
}

const report: DeviceReport = { webgpu: true, shaderF16: false, wasmThreads: true, node: false };
const probe = async () => report;

describe('WorkerEngineProvider: WebLLM first, transformers.js after a failed load', () => {
  it('auto on a WebLLM model: loads the WebLLM build', async () => {
    const { log, create } = fakeEngines({ webllm: 'ok' });
    const events: EngineEvent[] = [];
    const p = new WorkerEngineProvider({ create, probe, onEngine: (e) => events.push(e) });
    const { caps } = await p.acquire({ key: 'self', id: QWEN, engine: 'auto', device: 'auto' });
    expect(log).toEqual(['create webllm', 'load webllm Qwen2.5-0.5B-Instruct-q4f32_1-MLC webgpu']);
    expect(caps).toMatchObject({ engine: 'webllm', model: QWEN, dtype: 'q4f32_1', choice: { requested: 'auto', planned: 'webllm', webllmModel: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC' } });
    expect(caps.choice?.fallback).toBeUndefined();
    expect(events.map((e) => e.kind)).toEqual(['planned', 'loaded']);
    // The same model again: the loaded engine, no new worker.
    await p.acquire({ key: 'self', id: QWEN, engine: 'auto', device: 'auto' });
    expect(log).toHaveLength(2);
    // Another engine choice for it: a new worker.
    await p.acquire({ key: 'self', id: QWEN, engine: 'transformers', device: 'auto', dtype: 'fp32' });
    expect(log.slice(2)).toEqual(['terminate webllm', 'create transformers', `load transformers ${QWEN} webgpu fp32`]);
  });

  it('WebLLM fails to load: its worker stops, transformers.js loads the same model, the reason is reported and kept', async () => {
    const { log, create } = fakeEngines({ webllm: 'fail' });
    const events: EngineEvent[] = [];
    const progress: string[] = [];
    const p = new WorkerEngineProvider({ create, probe, localModels: '/models/', dtypesOf: () => ['q4f16', 'fp16', 'q4', 'q8', 'fp32'], onEngine: (e) => events.push(e) });
    const { caps } = await p.acquire({ key: 'self', id: QWEN, engine: 'auto', device: 'auto', dtype: 'fp32' }, (pr) => progress.push(pr.text ?? ''));
    expect(log).toEqual([
      'create webllm',
      'load webllm Qwen2.5-0.5B-Instruct-q4f32_1-MLC webgpu',
      'terminate webllm',
      'create transformers',
      `load transformers ${QWEN} webgpu fp32`,
    ]);
    expect(caps).toMatchObject({ engine: 'transformers', model: QWEN, dtype: 'fp32' });
    expect(caps.choice).toMatchObject({
      requested: 'auto',
      planned: 'webllm',
      webllmModel: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC',
      fallback: { code: 'network', reason: 'WebLLM could not load Qwen2.5 0.5B Instruct (its files could not be downloaded): running on transformers.js instead.', detail: 'Failed to fetch' },
    });
    expect(events.map((e) => e.kind)).toEqual(['planned', 'fallback', 'loaded']);
    expect(progress.join()).toMatch(/loading it with transformers\.js instead/);
  });

  it('a user stop while WebLLM loads is not a failure: no fallback', async () => {
    const { log, create } = fakeEngines({ webllm: 'hang' });
    const p = new WorkerEngineProvider({ create, probe });
    const ctrl = new AbortController();
    p.signal = ctrl.signal;
    const pending = p.acquire({ key: 'self', id: QWEN, device: 'auto' });
    await new Promise((r) => setTimeout(r, 5));
    ctrl.abort('cancel');
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    expect(log).toEqual(['create webllm', 'load webllm Qwen2.5-0.5B-Instruct-q4f32_1-MLC webgpu', 'terminate webllm']);
  });

  it('transformers.js chosen, or no WebLLM build: WebLLM is never started; a failing transformers.js load still fails', async () => {
    const { log, create } = fakeEngines({ transformers: 'fail' });
    const p = new WorkerEngineProvider({ create, probe });
    await expect(p.acquire({ key: 'self', id: GEMMA3, engine: 'auto', device: 'auto', dtype: 'q4' })).rejects.toMatchObject({ code: 'model_not_found' });
    expect(log).toEqual(['create transformers', `load transformers ${GEMMA3} webgpu q4`, 'terminate transformers']);
  });
});
