/**
 * Training sets for Exp 1-3: every answer is re-derived here from the options
 * and the weights (independently of the code under test), the folds and
 * native contexts are disjoint from training, and planted leaks and bad lines
 * are caught by the reader with their line numbers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { decisionMessages, introspectionMessages } from '../src/lib/prompts';
import { parseTargetWeightsCsv } from '../src/lib/paper-csv';
import { parseSpec, type ScenarioSource } from '../src/lib/experiment/spec';
import type { RunRecord } from '../src/lib/experiment/runs';
import { pearson } from '../src/lib/analysis/stats';
import {
  buildInstillSet,
  buildIntrospectSet,
  readTrainingSet,
  TrainingSetError,
  type BuiltSet,
  type TrainingExample,
} from '../src/lib/training';
import { fromInstillSet, fromRun } from '../src/lib/training/sources';

const source: ScenarioSource = { source: 'builtin', roleSeed: 'ts-test' };
const available = resolveScenarios({ scenarios: source, seed: 'ts-test' } as never);
const ctx = { source, available, seed: 'ts-test', model: 'base-model', adapter: 'out/adapter' };

const filesOf = (set: BuiltSet) => Object.fromEntries(set.files.map((f) => [f.name, f.text]));
const lines = (text: string): TrainingExample[] => text.trim().split('\n').map((l) => JSON.parse(l));
const byId = new Map(available.map((s) => [s.id, s]));

/** The options as the prompt shows them, read with a plain regex (not the reader under test). */
function optionsIn(user: string, k: number): { question: string; a: number[]; b: number[] } {
  const [head, rest] = user.split('\nA:\n');
  const [aText, bText] = rest.split('\n\nB:\n');
  const num = (row: string) => Number(/: (-?[\d.]+)/.exec(row)![1]);
  const a = aText.split('\n').map(num);
  const b = bText.split('\n').map(num);
  expect(a.length).toBe(k);
  expect(b.length).toBe(k);
  return { question: head.split('\n').pop()!, a, b };
}

/** The paper's rule, written out again: Σ w·(v − min)/(max − min), larger wins. */
function paperRule(id: string, w: number[], a: number[], b: number[]): 'A' | 'B' {
  const attrs = byId.get(id)!.attributes;
  const u = (v: number[]) => attrs.reduce((t, at, i) => t + (w[i] * (v[i] - at.min)) / (at.max - at.min), 0);
  expect(u(a)).not.toBe(u(b));
  return u(a) > u(b) ? 'A' : 'B';
}

const instill = buildInstillSet({ ...ctx, scenarios: 8, decisions: 40, heldout: 5 });

describe('instilling set (Exp 1)', () => {
  const f = filesOf(instill);
  const targets = parseTargetWeightsCsv(f['target_weights.csv']);
  const train = lines(f['train.jsonl']);

  it('re-derives every answer from the options and the target weights', () => {
    expect(train).toHaveLength(8 * 40);
    const perContext = new Map<string, number>();
    const answers = { A: 0, B: 0 };
    for (const ex of [...train, ...lines(f['heldout.jsonl'])]) {
      expect(ex.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
      const scenario = available.find((s) => ex.messages[1].content.includes(`\n\n${s.question}\nA:\n`))!;
      const { a, b } = optionsIn(ex.messages[1].content, scenario.attributes.length);
      // The prompt is the paper's decision prompt for exactly these options.
      expect(ex.messages.slice(0, 2)).toEqual(decisionMessages(scenario, a, b));
      const answer = ex.messages[2].content as 'A' | 'B';
      expect(answer).toBe(paperRule(scenario.id, targets.get(scenario.id)!, a, b));
      answers[answer]++;
      perContext.set(scenario.id, (perContext.get(scenario.id) ?? 0) + 1);
    }
    expect([...perContext.values()]).toEqual(Array(8).fill(45));
    // Both answers occur often (a set of one label teaches nothing).
    expect(Math.min(answers.A, answers.B)).toBeGreaterThan(100);
  });

  it('writes the eval spec with the same targets, and its plan never meets training', () => {
    const spec = parseSpec(f['eval-spec.json']);
    expect(spec.scenarios.ids).toEqual(instill.manifest.trained);
    const plan = buildPlan(spec, available);
    for (const p of plan.scenarios) expect(p.target).toEqual(targets.get(p.scenario.id));
    expect(spec.models[0]).toMatchObject({ id: 'base-model', adapter: { id: 'out/adapter' } });
    const shown = new Set(train.map((e) => e.messages[1].content));
    const evalDecisions = plan.trials.filter((t) => t.kind === 'decision');
    // 50 per context, each also shown swapped where the preset counterbalances.
    expect(evalDecisions.filter((t) => !t.id.endsWith('-swapped')).length).toBe(8 * 50);
    for (const t of evalDecisions) {
      const s = byId.get(t.scenarioId)!;
      expect(shown.has(decisionMessages(s, t.a, t.b)[1].content)).toBe(false);
      expect(shown.has(decisionMessages(s, t.b, t.a)[1].content)).toBe(false);
    }
    const native = parseSpec(f['eval-spec-native.json']);
    expect(native.scenarios.ids).toEqual(instill.manifest.native);
    expect(native.scenarios.ids!.filter((id) => instill.manifest.trained.includes(id))).toEqual([]);
  });

  it('is the same for the same seed and differs for another', () => {
    expect(filesOf(buildInstillSet({ ...ctx, scenarios: 8, decisions: 40, heldout: 5 }))).toEqual(f);
    expect(filesOf(buildInstillSet({ ...ctx, seed: 'other', scenarios: 8, decisions: 40, heldout: 5 }))['train.jsonl']).not.toBe(f['train.jsonl']);
  });

  it('detects a planted leak of an evaluation trial, naming the line and the trial', () => {
    const spec = parseSpec(f['eval-spec.json']);
    const t = buildPlan(spec, available).trials.find((x) => x.kind === 'decision')!;
    const s = byId.get(t.scenarioId)!;
    const answer = paperRule(s.id, targets.get(s.id)!, t.a, t.b);
    // Swapped options are the same choice: still a leak.
    const leaked = { messages: [...decisionMessages(s, t.b, t.a), { role: 'assistant', content: answer === 'A' ? 'B' : 'A' }] };
    const text = f['train.jsonl'] + JSON.stringify(leaked) + '\n';
    const manifest = { ...instill.manifest, lines: { ...instill.manifest.lines, train: train.length + 1 } };
    let err: unknown;
    try {
      readTrainingSet({ ...f, 'train.jsonl': text, 'training-set.json': JSON.stringify(manifest) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainingSetError);
    expect((err as TrainingSetError).problems).toEqual([`train.jsonl line ${train.length + 1}: leak — this choice is evaluation trial ${t.id}`]);
  });

  it('rejects a wrong answer, a broken line and a foreign prompt, each with its line', () => {
    const rows = f['train.jsonl'].trim().split('\n');
    const flipped = JSON.parse(rows[2]);
    flipped.messages[2].content = flipped.messages[2].content === 'A' ? 'B' : 'A';
    const foreign = JSON.parse(rows[3]);
    foreign.messages[1].content = foreign.messages[1].content.replace('[DECISION TASK]', '[TASK]');
    rows[2] = JSON.stringify(flipped);
    rows[3] = JSON.stringify(foreign);
    rows[4] = rows[4].slice(0, 40);
    expect(() => readTrainingSet({ ...f, 'train.jsonl': rows.join('\n') + '\n' })).toThrow(TrainingSetError);
    try {
      readTrainingSet({ ...f, 'train.jsonl': rows.join('\n') + '\n' });
    } catch (e) {
      const p = (e as TrainingSetError).problems;
      expect(p).toHaveLength(4);
      expect(p).toContain('training-set.json: says 320 training and 40 held-out lines, the files have 319 and 40');
      expect(p.find((x) => x.includes('line 3'))).toMatch(/^train\.jsonl line 3: the answer "[AB]" disagrees with the paper's rule \(expected "[AB]"\)$/);
      expect(p).toContain("train.jsonl line 4: the prompt is not the paper's decision prompt for a context of this set");
      expect(p.find((x) => x.includes('line 5'))).toMatch(/^train\.jsonl line 5: not valid JSON/);
    }
    const { 'eval-spec.json': _gone, ...rest } = f;
    expect(() => readTrainingSet(rest)).toThrow(/eval-spec\.json is missing/);
  });
});

describe('introspection sets (Exp 2 and 3)', () => {
  const inputs = { ...fromInstillSet(readTrainingSet(filesOf(instill))), adapter: 'out/adapter' };

  it('answers with the target weights for one fold; eval-spec tests the other; native never trained', () => {
    for (const fold of ['first', 'last', 'all'] as const) {
      const set = buildIntrospectSet({ ...inputs, answers: 'target', fold, examples: 2, heldout: 1 });
      const f = filesOf(set);
      const targets = parseTargetWeightsCsv(f['target_weights.csv']);
      const spec = parseSpec(f['eval-spec.json']);
      const trainedIds = new Set<string>();
      for (const ex of lines(f['train.jsonl'])) {
        const scenario = available.find((s) => ex.messages[1].content.includes(`\n\n${s.question}\nA:\n`))!;
        const { a, b } = optionsIn(ex.messages[1].content, 5);
        expect(ex.messages.slice(0, 2)).toEqual(introspectionMessages(scenario, a, b));
        const stated = JSON.parse(ex.messages[2].content);
        expect(Object.keys(stated)).toEqual(scenario.attributes.map((x) => x.name));
        expect(Object.values(stated)).toEqual(targets.get(scenario.id));
        trainedIds.add(scenario.id);
      }
      const ids = instill.manifest.trained;
      const expectTrained = fold === 'first' ? ids.slice(0, 4) : fold === 'last' ? ids.slice(4) : ids;
      expect([...trainedIds]).toEqual(expectTrained);
      expect(set.manifest.experiment).toBe(fold === 'all' ? 3 : 2);
      const tested = spec.scenarios.ids!;
      expect(tested).toEqual(fold === 'all' ? instill.manifest.native : ids.filter((id) => !trainedIds.has(id)));
      expect(tested.filter((id) => trainedIds.has(id))).toEqual([]);
      expect(set.manifest.native.filter((id) => trainedIds.has(id) || ids.includes(id))).toEqual([]);
      if (fold !== 'all') expect(spec.scenarios.targets).toEqual(Object.fromEntries(tested.map((id) => [id, targets.get(id)])));
    }
  });

  it('detects a held-out context planted in training', () => {
    const set = buildIntrospectSet({ ...inputs, answers: 'target', fold: 'first' });
    const f = filesOf(set);
    const id = set.manifest.heldOut[0];
    const s = byId.get(id)!;
    const w = inputs.targets[id];
    const opts = buildPlan(parseSpec(f['eval-spec.json']), available).trials[0];
    const planted = { messages: [...introspectionMessages(s, opts.b.map((x) => x), opts.a), { role: 'assistant', content: '{}' }] };
    const answers = f['answer_weights.csv'] + `${id},${w.join(',')}\n`;
    try {
      readTrainingSet({ ...f, 'train.jsonl': f['train.jsonl'] + JSON.stringify(planted) + '\n', 'answer_weights.csv': answers });
      expect.unreachable('the leak went through');
    } catch (e) {
      const p = (e as TrainingSetError).problems;
      expect(p).toContain(`train.jsonl line 5: leak — context "${id}" is one of Exp 2's held-out fold and must never appear in training`);
      expect(p.some((x) => x.startsWith('train.jsonl line 5: leak — this choice is evaluation trial'))).toBe(true);
    }
  });

  it('takes a finished run’s learned weights as the answers (appendix D)', () => {
    // A run of the Exp 1 spec whose model follows the targets exactly.
    const spec = parseSpec(filesOf(instill)['eval-spec.json']);
    const plan = buildPlan(spec, available);
    const targetOf = new Map(plan.scenarios.map((p) => [p.scenario.id, p.target]));
    const record = {
      id: 'run-test', spec, plan, status: 'done',
      results: plan.trials.flatMap((t) =>
        t.kind === 'decision' ? [{ trialId: t.id, kind: 'decision', choice: paperRule(t.scenarioId, targetOf.get(t.scenarioId)!, t.a, t.b), pA: 0.5, labelMass: 1, logprobs: [0, 0], basis: 'full', ms: 0 }] : [],
      ),
    } as unknown as RunRecord;
    const learned = fromRun(record);
    expect(learned.fromRun).toBe('run-test');
    const ids = learned.instilled;
    expect(pearson(ids.flatMap((id) => learned.weights[id]), ids.flatMap((id) => learned.targets[id]))).toBeGreaterThan(0.9);
    const set = buildIntrospectSet({ ...learned, adapter: 'out/adapter', answers: 'learned', fold: 'last' });
    const answers = parseTargetWeightsCsv(filesOf(set)['answer_weights.csv']);
    for (const id of set.manifest.trained) expect(answers.get(id)).toEqual(learned.weights[id].map((x) => Math.round(x) || 0));
    expect(set.manifest.answers).toBe('learned');
    // An unfinished run is refused by name.
    expect(() => fromRun({ ...record, results: [] })).toThrow(/finish the run first/);
  });
});

describe('cli training-set', () => {
  const repoRoot = path.resolve(import.meta.dirname, '..');
  const dir = mkdtempSync(path.join(tmpdir(), 'training-set-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => spawnSync(path.join(repoRoot, 'node_modules/.bin/tsx'), ['cli/main.ts', 'training-set', ...args], { cwd: repoRoot, encoding: 'utf8' });

  it('writes instill and introspect folders that check, and names the problem in a bad one', () => {
    const inst = path.join(dir, 'inst');
    let r = cli('instill', '--scenarios', '4', '--decisions', '12', '--seed', 'cli', '--out', inst);
    expect(r.stderr).toMatch(/wrote 48 training and 40 held-out lines \(4 contexts trained, 0 held out, 4 native\)/);
    expect(r.status).toBe(0);
    r = cli('introspect', '--from-targets', inst, '--fold', 'first', '--out', path.join(dir, 'i2'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/2 contexts trained, 2 held out, 4 native.*Exp 2/);
    expect(cli('check', path.join(dir, 'i2')).status).toBe(0);
    // Its evaluation loads the introspection-trained adapter, which the README's command writes into the set's folder.
    expect(parseSpec(readFileSync(path.join(dir, 'i2', 'eval-spec.json'), 'utf8')).models[0].adapter).toEqual({ id: path.join(dir, 'i2', 'adapter') });
    const train = path.join(inst, 'train.jsonl');
    writeFileSync(train, readFileSync(train, 'utf8').replace('"content":"A"}', '"content":"B"}'));
    r = cli('check', inst);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/train\.jsonl line \d+: the answer "B" disagrees with the paper's rule \(expected "A"\)/);
    r = cli('introspect', '--from-targets', inst, '--fold', 'middle', '--out', path.join(dir, 'x'));
    expect(r.stderr).toMatch(/--fold must be first, last or all/);
    // In-context analogue of a set's evaluation: its eval spec plus one condition per k.
    const fresh = path.join(dir, 'inst2');
    expect(cli('instill', '--scenarios', '4', '--decisions', '5', '--seed', 'cli2', '--out', fresh).status).toBe(0);
    const specFile = path.join(dir, 'icl.json');
    r = cli('in-context', '--from-targets', fresh, '--k', '1,3', '--out', specFile);
    expect(r.stderr).toMatch(/in-context k = 1, 3/);
    const spec = parseSpec(readFileSync(specFile, 'utf8'));
    expect(spec.conditions.filter((c) => c.kind === 'reports' && c.examples).map((c) => c.key)).toEqual(['in-context-k1', 'in-context-k3']);
    expect(spec.scenarios.ids).toEqual(parseSpec(readFileSync(path.join(fresh, 'eval-spec.json'), 'utf8')).scenarios.ids);
    r = cli('in-context', '--from-targets', fresh, '--k', '2,9', '--out', specFile);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/error: 9 in-context examples need 10 contexts in the experiment; it has 4/);
  }, 60_000);
});

describe('the lab download', () => {
  it('builds the Exp 1 set and the three introspection folds, each passing the reader', async () => {
    const { labTrainingSets } = await import('../src/app/training-set');
    const { instill, introspect } = labTrainingSets({ seed: 'lab', model: 'onnx-community/Qwen2.5-0.5B-Instruct', scenarios: 6, decisions: 10 });
    expect(instill.manifest.lines.train).toBe(60);
    for (const set of [instill, ...Object.values(introspect)]) expect(() => readTrainingSet(filesOf(set))).not.toThrow();
    expect(introspect.first.manifest.heldOut).toEqual(introspect.last.manifest.trained);
    expect(introspect.all.manifest.experiment).toBe(3);
    expect(parseSpec(filesOf(introspect.first)['eval-spec.json']).models[0]).toMatchObject({ id: 'onnx-community/Qwen2.5-0.5B-Instruct', adapter: { id: 'adapter' } });
  });
});
