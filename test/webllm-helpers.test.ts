/** The WebLLM engine's pure pieces. Progress texts are copied from web-llm 0.2.86's lib/index.js. */
import { describe, expect, it } from 'vitest';
import {
  constrainedBudget,
  foldSystem,
  parseWebLLMProgress,
  resolveWebLLMModel,
  scoreFromLogits,
  scoreFromTopLogprobs,
  stripThinking,
  topLogprobsAgreement,
  webllmError,
} from '../workers/webllm-helpers';
import { EngineError } from '../src/lib/engine/types';

describe('parseWebLLMProgress', () => {
  const r = (progress: number, text: string) => parseWebLLMProgress({ progress, timeElapsed: 1, text });

  it('reads the phase from the text (progress restarts per phase)', () => {
    expect(r(0, 'Start to fetch params')).toMatchObject({ phase: 'init', progress: 0 });
    const fetching = r(0.5, 'Fetching param cache[12/24]: 300MB fetched. 50% completed, 8 secs elapsed. It can take a while when we first visit this page to populate the cache. Later refreshes will become faster.');
    expect(fetching).toMatchObject({ phase: 'download', progress: 0.5, loadedBytes: 300 * 2 ** 20, totalBytes: 600 * 2 ** 20 });
    expect(r(0.25, 'Loading model from cache[6/24]: 150MB loaded. 25% completed, 2 secs elapsed.')).toMatchObject({ phase: 'cache', progress: 0.25, loadedBytes: 150 * 2 ** 20 });
    expect(r(0.1, 'Loading GPU shader modules[10/100]: 10% completed, 1 secs elapsed.')).toMatchObject({ phase: 'compile', progress: 0.1 });
    expect(r(1, 'Finish loading on WebGPU - apple')).toMatchObject({ phase: 'init', progress: 1 });
    expect(r(0.3, 'something new')).toMatchObject({ phase: 'init', progress: 0.3, text: 'something new' });
  });

  it('keeps the library text and tolerates NaN progress (0/0 bytes)', () => {
    const p = r(NaN, 'Fetching param cache[0/0]: 0MB fetched. NaN% completed, 0 secs elapsed.');
    expect(p.phase).toBe('download');
    expect(p.progress).toBeUndefined();
    expect(p.totalBytes).toBeUndefined();
    expect(p.text).toMatch(/^Fetching/);
  });
});

describe('decisions', () => {
  it('full logits: log-softmax at the label ids, normalised over the labels', () => {
    const logits = Float32Array.from([2, 1, 0, -1]);
    const s = scoreFromLogits(['A', 'B'], [0, 1], logits);
    const lse = Math.log(Math.exp(2) + Math.exp(1) + 1 + Math.exp(-1));
    expect(s.logprobs[0]).toBeCloseTo(2 - lse, 12);
    expect(s.logprobs[1]).toBeCloseTo(1 - lse, 12);
    expect(s.probs[0]).toBeCloseTo(Math.exp(1) / (Math.exp(1) + 1), 12);
    expect(s).toMatchObject({ choice: 'A', basis: 'full' });
  });

  it('top-k: exact for listed labels; the bound min(p_k, rest / missing) for the others', () => {
    const top = [
      { token: 'A', logprob: Math.log(0.5) },
      { token: 'x', logprob: Math.log(0.2) },
      { token: 'y', logprob: Math.log(0.1) },
      { token: 'z', logprob: Math.log(0.05) },
      { token: 'w', logprob: Math.log(0.04) },
    ];
    const s = scoreFromTopLogprobs(['A', 'B'], top);
    expect(s.basis).toBe('top-k');
    expect(s.estimated).toEqual(['B']);
    expect(s.logprobs[0]).toBeCloseTo(Math.log(0.5), 12);
    expect(s.logprobs[1]).toBeCloseTo(Math.log(0.04), 12); // min(0.04, 0.11)
    const two = scoreFromTopLogprobs(['B', 'C'], top.map((t, i) => (i === 0 ? { token: 'A', logprob: Math.log(0.9) } : { ...t, logprob: Math.log(0.02) })));
    expect(two.estimated).toEqual(['B', 'C']);
    expect(Math.exp(two.logprobs[0])).toBeCloseTo(0.01, 12); // (1 − 0.98) / 2 < 0.02
    expect(two.probs).toEqual([0.5, 0.5]);
    expect(two.labelMass).toBeGreaterThan(0);
  });

  it('top-k: matches a label written with a leading space when the exact token is absent; never one entry twice', () => {
    const top = [
      { token: ' A', logprob: Math.log(0.6) },
      { token: 'B', logprob: Math.log(0.3) },
    ];
    const s = scoreFromTopLogprobs(['A', 'B'], top);
    expect(s.estimated).toEqual([]);
    expect(s.choice).toBe('A');
    const dup = scoreFromTopLogprobs(['A', ' A'], [{ token: 'A', logprob: Math.log(0.6) }, { token: 'q', logprob: Math.log(0.3) }]);
    expect(dup.estimated).toEqual([' A']);
  });

  it('top-k: the listed mass can round above 1; missing labels then get a tiny positive bound', () => {
    const s = scoreFromTopLogprobs(['A', 'B'], [{ token: 'A', logprob: 1e-9 }]);
    expect(s.logprobs[0]).toBe(0);
    expect(Number.isFinite(s.logprobs[1])).toBe(true);
    expect(s.labelMass).toBeGreaterThan(0);
    expect(() => scoreFromTopLogprobs(['A'], [])).toThrow(EngineError);
  });

  it('agreement between captured logits and reported top-k log-probabilities', () => {
    const logits = Float32Array.from([0.5, 3, -1, 2, 2, 0]);
    const lse = Math.log(Array.from(logits).reduce((s, x) => s + Math.exp(x), 0));
    const top = [3, 2, 2, 0.5, 0].map((x) => ({ token: '?', logprob: x - lse }));
    expect(topLogprobsAgreement(logits, top)).toBeLessThan(1e-12);
    expect(topLogprobsAgreement(logits, top.map((t) => ({ ...t, logprob: t.logprob - 0.1 })))).toBeCloseTo(0.1, 9);
    expect(topLogprobsAgreement(logits, [])).toBe(0);
  });
});

describe('models, messages, errors', () => {
  it('resolves ids and dtypes to catalog builds', () => {
    expect(resolveWebLLMModel('Llama-3.2-1B-Instruct-q4f32_1-MLC', undefined, false).modelId).toBe('Llama-3.2-1B-Instruct-q4f32_1-MLC');
    expect(resolveWebLLMModel('meta-llama/Llama-3.2-1B-Instruct', 'auto', true).quant).toBe('q4f16_1');
    expect(resolveWebLLMModel('meta-llama/Llama-3.2-1B-Instruct', 'q4', true).quant).toBe('q4f32_1');
    expect(() => resolveWebLLMModel('meta-llama/Llama-3.2-1B-Instruct', 'q4f16', false)).toThrow(/unsupported.*shader-f16/);
    expect(() => resolveWebLLMModel('mistral', undefined, true)).toThrow(/model_not_found/);
    // SmolLM2-135M ships unquantised only: a request names the precision, the family's build of it loads.
    expect(resolveWebLLMModel('HuggingFaceTB/SmolLM2-135M-Instruct', 'auto', true).modelId).toBe('SmolLM2-135M-Instruct-q0f16-MLC');
    expect(resolveWebLLMModel('HuggingFaceTB/SmolLM2-135M-Instruct', 'q4', true).modelId).toBe('SmolLM2-135M-Instruct-q0f32-MLC');
    expect(resolveWebLLMModel('HuggingFaceTB/SmolLM2-135M-Instruct', undefined, false).modelId).toBe('SmolLM2-135M-Instruct-q0f32-MLC');
    expect(() => resolveWebLLMModel('HuggingFaceTB/SmolLM2-135M-Instruct', 'q0f16', false)).toThrow(/unsupported.*shader-f16/);
    expect(() => resolveWebLLMModel('HuggingFaceTB/SmolLM2-135M-Instruct', 'q8', true)).toThrow(/unsupported.*q0f16.*not q8/);
  });

  it('folds system prompts into the first user turn', () => {
    expect(foldSystem([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }])).toEqual([{ role: 'user', content: 'S\n\nU' }]);
    expect(foldSystem([{ role: 'user', content: 'U' }])).toEqual([{ role: 'user', content: 'U' }]);
  });

  it('strips an empty think block, nothing else', () => {
    expect(stripThinking('<think>\n\n</think>\n\n{"a": 1}')).toBe('{"a": 1}');
    expect(stripThinking('{"a": "<think>"}')).toBe('{"a": "<think>"}');
  });

  it('budgets constrained replies by the names', () => {
    expect(constrainedBudget(['a'])).toBeLessThan(constrainedBudget(['a', 'long_attribute_name']));
    expect(constrainedBudget(['a', 'b', 'c', 'd', 'e'])).toBeGreaterThanOrEqual(100);
  });

  it('maps WebLLM errors by name, and fetch failures by text', () => {
    const named = (name: string, message = 'x') => Object.assign(new Error(message), { name });
    expect(webllmError(named('ModelNotFoundError'), 'load').code).toBe('model_not_found');
    expect(webllmError(named('WebGPUNotAvailableError'), 'load').code).toBe('webgpu_unavailable');
    expect(webllmError(named('ShaderF16SupportError'), 'load').code).toBe('unsupported');
    expect(webllmError(named('DeviceLostError'), 'load').code).toBe('out_of_memory');
    expect(webllmError(named('DeviceLostError'), 'run').code).toBe('device_lost');
    expect(webllmError(named('ContextWindowSizeExceededError'), 'run').code).toBe('unsupported');
    expect(webllmError(named('MissingModelError'), 'load').code).toBe('bad_model');
    expect(webllmError(new TypeError("Failed to execute 'add' on 'Cache': Request failed"), 'load').code).toBe('network');
    expect(webllmError(new Error('ArtifactOPFSCache: Unable to fetch https://x/y, received status 404'), 'load').code).toBe('model_not_found');
    expect(webllmError(new Error('[cancelled] Cancelled.'), 'run').code).toBe('cancelled');
    const unknown = webllmError(named('GrammarMatcherInitError', 'bad schema'), 'run');
    expect(unknown.code).toBe('unknown');
    expect(unknown.message).toContain('GrammarMatcherInitError: bad schema');
  });
});
