/**
 * The browser-side glue in src/app that has no DOM: spec form ↔ spec, model
 * cache grouping, model sources, capability verdicts, speed meters, formatting.
 */
import { describe, expect, it } from 'vitest';
import { presetSpec } from '../src/lib/experiment/presets';
import { PAPER_PROMPTS } from '../src/lib/prompts';
import { validateSpec } from '../src/lib/experiment/spec';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { checkForm, formFromPreset, formFromSpec, isPresetUnchanged, modelsForPreset, specFromForm, trialCount, type ModelChoice } from '../src/app/spec-form';
import { isSimulatedId } from '../src/lib/experiment/simulated';
import { groupCacheEntries, modelOfCacheUrl, storedBadge } from '../src/app/model-cache';
import { checkModelId, modelSource, probeLocalModel } from '../src/app/local-models';
import { modelFit, verdict, type Capability } from '../src/app/capability';
import { RateMeter } from '../src/app/rate';
import { ConditionRates } from '../src/app/progress';
import { formatBytes, formatCi, formatDuration, formatPercent, formatR, formatRate, shortModelName, slug } from '../src/app/format';
import { localModelsFromQuery } from '../src/app/settings';
import { resolveLoad, workerOptionsFor } from '../src/app/engine-provider';
import { bestDtype, catalogModels, memoryFor, sizeFor } from '../src/app/catalog';
import { LoadAggregator } from '../src/app/load-progress';
import { MODEL_CATALOG } from '../src/lib/models/catalog';
import { builtinScenarioSet } from '../src/lib/scenarios';

const model = { id: 'onnx-community/Qwen2.5-0.5B-Instruct', device: 'auto' as const, dtype: 'auto' };

describe('spec form', () => {
  it('a preset form gives exactly the preset spec', () => {
    const form = formFromPreset('classroom', model);
    expect(isPresetUnchanged(form)).toBe(true);
    const spec = specFromForm(form);
    const preset = presetSpec('classroom', { model: { id: model.id, engine: 'auto', device: 'auto' }, seed: 'introspection-lab', mode: 'constrained' });
    expect(spec).toEqual(preset);
    expect(checkForm(form, 146)).toEqual({ spec, problems: [] });
    // Presets counterbalance: every decision pair is shown twice.
    expect(trialCount(spec, 10)).toBe(10 * 30 * 2 + 10 * 5);
    expect(trialCount({ ...spec, counterbalance: false }, 10)).toBe(10 * 30 + 10 * 5);
    expect(isPresetUnchanged({ ...form, counterbalance: false })).toBe(false);
  });

  it('edits sizes, scenarios, prompts, control and dtype, and reads them back from the spec', () => {
    const form = formFromPreset('paper', model, { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', device: 'auto', dtype: 'q4' }, 'seed-1');
    form.decisionsPerScenario = 8;
    form.reportsPerScenario = 2;
    form.scenarioIds = ['a', 'b'];
    form.mode = 'free';
    form.counterbalance = false;
    form.model = { ...model, dtype: 'q4f16', device: 'webgpu' };
    form.prompts = { ...PAPER_PROMPTS, system: 'Be brief.' };
    expect(isPresetUnchanged(form)).toBe(false);
    const spec = validateSpec(specFromForm(form));
    expect(spec.scenarios).toEqual({ source: 'builtin', ids: ['a', 'b'] });
    expect(spec.counterbalance).toBe(false);
    expect(spec.models).toEqual([
      { key: 'self', id: model.id, engine: 'auto', device: 'webgpu', dtype: 'q4f16' },
      { key: 'control', id: 'HuggingFaceTB/SmolLM2-360M-Instruct', engine: 'auto', device: 'auto', dtype: 'q4' },
    ]);
    expect(spec.conditions.map((c) => c.key)).toEqual(['decide', 'self-report', 'control-report']);
    expect(spec.conditions.every((c) => c.kind !== 'reports' || c.mode === 'free')).toBe(true);
    expect(spec.prompts?.system).toBe('Be brief.');
    const back = formFromSpec(JSON.parse(JSON.stringify(spec)));
    expect(specFromForm(back)).toEqual(spec);
  });

  it('lists problems a person can act on', () => {
    const form = formFromPreset('classroom', { ...model, id: '' });
    form.decisionsPerScenario = 1;
    form.scenarioCount = 500;
    form.prompts = { ...PAPER_PROMPTS, decision: 'Choose.' };
    const { spec, problems } = checkForm(form, 146);
    expect(spec).toBeNull();
    expect(problems.join('\n')).toMatch(/Choose a model/);
    expect(problems.join('\n')).toMatch(/between 1 and 146/);
    expect(problems.join('\n')).toMatch(/At least 2 decision trials/);
    expect(problems.join('\n')).toMatch(/must contain \{\{choice\}\}/);
    const same = formFromPreset('classroom', model, model);
    expect(checkForm(same, 146).problems.join()).toMatch(/different model/);
  });

  it('loads specs with an inline scenario set, and refuses an invalid one', () => {
    const spec = presetSpec('classroom', { model: { id: 'x/y' } });
    const set = builtinScenarioSet('s');
    expect(formFromSpec({ ...spec, scenarios: { source: 'inline', set } })).toMatchObject({ scenarioSource: 'file', scenarioSet: set });
    expect(() => formFromSpec({ ...spec, scenarios: { source: 'inline', set: { ...set, version: 2 } as never } })).toThrow(/scenarios\.set: version/);
  });

  it('resolves the built-in scenarios with the spec seed, as the browser plan test does', () => {
    const spec = presetSpec('classroom', { model: { id: 'x/y' }, seed: 's1' });
    expect(resolveScenarios(spec)).toEqual(builtinScenarioSet('s1').scenarios);
    expect(resolveScenarios({ ...spec, scenarios: { source: 'builtin', roleSeed: 'r', count: 2 } })).toEqual(builtinScenarioSet('r').scenarios);
    expect(buildPlan(spec, resolveScenarios(spec)).trials).toHaveLength(10 * 30 * 2 + 10 * 5);
  });
});

describe('model cache listing', () => {
  it('groups cached URLs by model: hub ids, served folders, the runtime', () => {
    expect(modelOfCacheUrl('https://huggingface.co/onnx-community/Qwen2.5-0.5B-Instruct/resolve/main/onnx/model_q4f16.onnx')).toEqual({ id: 'onnx-community/Qwen2.5-0.5B-Instruct', source: 'hub' });
    expect(modelOfCacheUrl('http://127.0.0.1:5173/models/tiny-llama/onnx/model.onnx')).toEqual({ id: '/models/tiny-llama', source: 'local' });
    expect(modelOfCacheUrl('http://127.0.0.1:5173/models/tiny-llama/tokenizer_config.json')).toEqual({ id: '/models/tiny-llama', source: 'local' });
    expect(modelOfCacheUrl('http://127.0.0.1:5173/ort/ort-wasm-simd-threaded.asyncify.wasm').source).toBe('runtime');
    const groups = groupCacheEntries([
      { url: 'https://huggingface.co/a/b/resolve/main/config.json', bytes: 10 },
      { url: 'https://huggingface.co/a/b/resolve/main/onnx/model_q4.onnx', bytes: 1000 },
      { url: 'http://localhost/models/tiny/config.json', bytes: 5 },
      { url: 'http://localhost/models/tiny/onnx/model.onnx', bytes: 2000 },
    ]);
    expect(groups.map((g) => [g.id, g.files.length, g.bytes])).toEqual([
      ['/models/tiny', 2, 2005],
      ['a/b', 2, 1010],
    ]);
  });

  it('says whether the weights are stored: a served folder whose weights are read from the site is not "in browser"', () => {
    const groups = groupCacheEntries([
      { url: 'http://localhost/models/smol/config.json', bytes: 900 },
      { url: 'http://localhost/models/smol/tokenizer.json', bytes: 3_500_000 },
      { url: 'https://huggingface.co/a/b/resolve/main/onnx/model_q4.onnx', bytes: 180_000_000 },
    ]);
    const local = groups.find((g) => g.id === '/models/smol')!;
    const hub = groups.find((g) => g.id === 'a/b')!;
    expect(storedBadge(local)).toMatchObject({ weights: false, text: 'weights read from this site · 3.5 MB in browser' });
    expect(storedBadge(hub)).toMatchObject({ weights: true, text: 'in browser · 180 MB' });
    const [smallOnly] = groupCacheEntries([{ url: 'https://huggingface.co/a/b/resolve/main/config.json', bytes: 900 }]);
    expect(storedBadge(smallOnly)).toMatchObject({ weights: false, text: '900 B in browser, no weights' });
    const [external] = groupCacheEntries([{ url: 'http://localhost/models/big/onnx/model.onnx_data', bytes: 2e9 }]);
    expect(storedBadge(external).weights).toBe(true);
  });
});

describe('model sources', () => {
  it('tells hub ids from served folders', () => {
    expect(modelSource('onnx-community/Qwen3-0.6B-ONNX')).toEqual({ kind: 'hub', id: 'onnx-community/Qwen3-0.6B-ONNX' });
    expect(modelSource('/models/tiny-llama/')).toEqual({ kind: 'local', id: '/models/tiny-llama', localModelPath: '/models/', name: 'tiny-llama' });
    expect(modelSource('tiny-llama', '/models/')).toEqual({ kind: 'local', id: '/models/tiny-llama', localModelPath: '/models/', name: 'tiny-llama' });
    expect(checkModelId('tiny-llama')).toMatch(/owner\/name/);
    expect(checkModelId('tiny-llama', '/models/')).toBeNull();
    expect(checkModelId('https://evil.example/x')).toMatch(/not a full URL/);
    expect(checkModelId('  ')).toMatch(/Type a model id/);
  });

  it('loads a served folder locally, never falling back to the hub', () => {
    expect(workerOptionsFor('/models/tiny-llama')).toEqual({ model: 'tiny-llama', transformers: { localModelPath: '/models/', allowRemoteModels: false } });
    expect(workerOptionsFor('a/b')).toEqual({ model: 'a/b', transformers: { allowRemoteModels: true } });
  });

  it('picks a build that exists for "auto"', () => {
    const report = { webgpu: false, shaderF16: false, wasmThreads: true, node: false };
    expect(resolveLoad({ key: 'self', id: 'x', device: 'auto' }, report, ['fp32'])).toEqual({ device: 'wasm', dtype: 'fp32' });
    expect(resolveLoad({ key: 'self', id: 'x', device: 'auto' }, report)).toEqual({ device: 'wasm', dtype: 'q8' });
    const gpu = { ...report, webgpu: true, shaderF16: true };
    expect(resolveLoad({ key: 'self', id: 'x', device: 'auto' }, gpu, ['fp32', 'q4f16'])).toEqual({ device: 'webgpu', dtype: 'q4f16' });
    expect(resolveLoad({ key: 'self', id: 'x', device: 'wasm', dtype: 'fp32' }, gpu)).toEqual({ device: 'wasm', dtype: 'fp32' });
  });

  it('probes a served folder with same-origin requests only', async () => {
    const seen: string[] = [];
    const files: Record<string, string> = { '/models/m/config.json': '{"model_type":"llama"}', '/models/m/onnx/model.onnx': 'x', '/models/m/onnx/model_q4.onnx': 'x' };
    const fetcher = (async (url: string) => {
      seen.push(url);
      const body = files[url];
      return body !== undefined
        ? new Response(body, { headers: { 'content-type': 'application/octet-stream', 'content-length': url.endsWith('model.onnx') ? String(3 * 2 ** 20) : String(body.length) } })
        : new Response('<html>', { status: 200, headers: { 'content-type': 'text/html' } });
    }) as unknown as typeof fetch;
    const src = modelSource('/models/m') as Extract<ReturnType<typeof modelSource>, { kind: 'local' }>;
    expect(await probeLocalModel(src, fetcher)).toEqual({ ok: true, dtypes: ['fp32', 'q4'], modelType: 'llama', sizeMB: { fp32: 3, q4: 1 / 2 ** 20 } });
    expect(seen.every((u) => u.startsWith('/models/m/'))).toBe(true);
    const missing = await probeLocalModel(modelSource('/models/none') as typeof src, fetcher);
    expect(missing.ok).toBe(false);
    expect(missing.error).toMatch(/No config.json/);
  });

  it('reads ?localModels= as a same-origin folder only', () => {
    expect(localModelsFromQuery('?localModels=/models/')).toBe('/models/');
    expect(localModelsFromQuery('?localModels=/models')).toBe('/models/');
    expect(localModelsFromQuery('?localModels=https://x.example/')).toBeNull();
    expect(localModelsFromQuery('?localModels=//x.example/')).toBeNull();
    expect(localModelsFromQuery('')).toBeNull();
  });
});

describe('catalog', () => {
  it('lists every catalog model with estimated sizes per build', () => {
    const list = catalogModels();
    expect(list.map((m) => m.id)).toEqual(MODEL_CATALOG.map((m) => m.id));
    for (const m of list) {
      expect(m.dtypes.length).toBeGreaterThan(0);
      for (const d of m.dtypes) expect(m.sizeMB[d]).toBeGreaterThan(0);
      expect(m.custom).toBe(false);
    }
    const m = list[0];
    // The quickest first: SmolLM2 135M, with its files' measured sizes (MB = 2^20 bytes).
    expect(m.id).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
    for (const d of ['q4f16', 'q4', 'fp32']) expect(sizeFor(m, d)).toBe(Math.min(...list.filter((x) => x.sizeMB[d]).map((x) => x.sizeMB[d])));
    expect(m.sizeMB).toEqual({ q4f16: 113, fp16: 258, q4: 173, q8: 130, fp32: 514 });
    expect(bestDtype(m, ['q4f16', 'q4'])).toBe('q4f16');
    expect(bestDtype(m, ['nope'])).toBe(m.dtypes[0]);
    expect(sizeFor(m, 'fp32')).toBeGreaterThan(sizeFor(m, 'q4')!);
    expect(sizeFor(m, 'auto')).toBe(Math.min(...Object.values(m.sizeMB)));
    expect(memoryFor(m, 'q4')).toBeGreaterThan(sizeFor(m, 'q4')!);
    expect(sizeFor({ ...m, sizeMB: {} }, 'q4')).toBeUndefined();
  });
});

describe('load progress', () => {
  it('sums per-file progress into one bar with speed and time left', () => {
    const agg = new LoadAggregator();
    agg.push({ phase: 'download', file: 'config.json', loadedBytes: 100, totalBytes: 100 }, 0);
    agg.push({ phase: 'download', file: 'onnx/model.onnx', loadedBytes: 0, totalBytes: 1000 }, 0);
    const s = agg.push({ phase: 'download', file: 'onnx/model.onnx', loadedBytes: 500, totalBytes: 1000 }, 1000);
    expect(s).toMatchObject({ loaded: 600, total: 1100, file: 'onnx/model.onnx', text: 'Downloading', bytesPerSec: 500 });
    expect(s.etaSec).toBe(1);
    // The library's running total wins when it covers more.
    expect(agg.push({ phase: 'download', loadedBytes: 700, totalBytes: 5000 }, 1500)).toMatchObject({ loaded: 700, total: 5000 });
    expect(agg.push({ phase: 'ready' }, 2000)).toMatchObject({ phase: 'ready', text: 'Ready', etaSec: 0 });
  });
});

describe('capability verdict', () => {
  const base: Capability = { webgpu: false, shaderF16: false, wasmThreads: true, node: false, crossOriginIsolated: true, storage: { quota: 10e9, usage: 1e9, persisted: false } };
  it('says what runs where, in words', () => {
    const cpu = verdict(base);
    expect(cpu).toMatchObject({ device: 'wasm', level: 'slow' });
    expect(cpu.headline).toMatch(/No WebGPU/);
    expect(cpu.details.join(' ')).toMatch(/WASM threads: on/);
    expect(cpu.details.join(' ')).toMatch(/9.0 GB free/);
    expect(verdict({ ...base, webgpu: true, shaderF16: true })).toMatchObject({ device: 'webgpu', level: 'good', dtypes: ['q4f16', 'fp16', 'q4', 'fp32'] });
    expect(verdict({ ...base, webgpu: true })).toMatchObject({ level: 'ok', dtypes: ['q4', 'fp32'] });
    expect(verdict({ ...base, webgpu: true, isFallbackAdapter: true }).headline).toMatch(/software fallback/);
    expect(verdict({ ...base, wasmThreads: false, storage: null }).details.join(' ')).toMatch(/one core.*does not say/s);
  });
  it('flags models that do not fit', () => {
    expect(modelFit(500, 800, base).ok).toBe(true);
    expect(modelFit(20_000, 800, base)).toMatchObject({ ok: false });
    expect(modelFit(500, 8000, { ...base, deviceMemoryGB: 4 }).note).toMatch(/memory/);
  });
});

describe('speed and time left', () => {
  it('measures a rate over a sliding window and estimates time left', () => {
    const m = new RateMeter(4000);
    expect(m.perSecond).toBe(0);
    expect(m.etaSec(100)).toBeNull();
    m.push(0, 0);
    m.push(50, 1000);
    expect(m.perSecond).toBe(50);
    expect(m.etaSec(150)).toBe(2);
    m.push(60, 10_000);
    expect(m.perSecond).toBeCloseTo(10 / 9, 9);
    m.push(5, 11_000); // a counter that restarts (a new file) resets the window
    expect(m.perSecond).toBe(0);
  });

  it('gives each condition its own speed and estimates the ones not started', () => {
    const r = new ConditionRates();
    // The first two trials of each kind are warm-up: out of the pace.
    for (const ms of [900, 700, 100, 300]) r.record('decide', 'decision', ms);
    for (const ms of [9000, 4000, 2000]) r.record('self-report', 'report', ms);
    const rows = r.rows({
      runId: 'x', state: 'running', done: 7, total: 34, trialsPerSec: 1, etaSec: 10,
      byCondition: { decide: { kind: 'decisions', done: 4, total: 12 }, 'self-report': { kind: 'reports', done: 3, total: 7 }, 'control-report': { kind: 'reports', done: 0, total: 5 } },
    });
    expect(rows.map((x) => [x.key, x.perSec, x.etaSec])).toEqual([
      ['decide', 5, 1.6],
      ['self-report', 0.5, 8],
      ['control-report', 0, 10],
    ]);
    expect(r.rows(null)).toEqual([]);
  });
});

describe('formatting', () => {
  it('formats numbers people read', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(2.5e9)).toBe('2.5 GB');
    expect(formatBytes(undefined)).toBe('—');
    expect(formatDuration(0.2)).toBe('< 1 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(3 * 3600 + 120)).toBe('3 h 02 min');
    expect(formatDuration(null)).toBe('—');
    expect(formatRate(0.5)).toBe('30.0 trials/min');
    expect(formatRate(2.25)).toBe('2.3 trials/s');
    expect(formatR(-0.054)).toBe('−0.05');
    expect(formatPercent(0.9, 1)).toBe('90.0 %');
    expect(formatPercent(4.6e-6, 1)).toBe('< 0.1 %');
    expect(formatPercent(0, 1)).toBe('0.0 %');
    expect(formatR(NaN)).toBe('n/a');
    expect(formatCi([0.1, 0.62])).toBe('0.10 to 0.62');
    expect(formatCi([NaN, 1])).toBe('interval n/a');
    expect(shortModelName('onnx-community/Qwen2.5-0.5B-Instruct')).toBe('Qwen2.5-0.5B-Instruct');
    expect(shortModelName('/models/tiny-llama/')).toBe('tiny-llama');
    expect(slug('Classroom demo (custom)')).toBe('classroom-demo-custom');
  });
});

describe('switching presets (issue 19, item 2)', () => {
  it('leaving the simulated preset drops its simulated models; other presets keep the chosen real ones', () => {
    const real: ModelChoice = { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', device: 'auto', dtype: 'auto' };
    const sim = formFromPreset('simulated', real);
    expect(isSimulatedId(sim.model.id) && isSimulatedId(sim.control!.id)).toBe(true);
    const fallback: ModelChoice = { id: 'onnx-community/Qwen2.5-0.5B-Instruct', device: 'auto', dtype: 'auto' };
    const m = modelsForPreset('classroom', { model: sim.model, control: sim.control, others: sim.others ?? [] }, fallback);
    expect(m).toEqual({ model: fallback, control: null, others: [] });
    const form = formFromPreset('classroom', m.model, m.control, 'seed', undefined, m.others);
    expect(specFromForm(form).models.some((x) => isSimulatedId(x.id))).toBe(false);
    // A real control and real others survive a preset switch.
    const keep = modelsForPreset('who-knows', { model: real, control: fallback, others: [sim.model, real] }, fallback);
    expect(keep).toEqual({ model: real, control: fallback, others: [real] });
    expect(modelsForPreset('simulated', { model: real, control: null, others: [] }, fallback).model).toBe(real);
  });
});
