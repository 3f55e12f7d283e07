/**
 * Reading a training set back, checking everything a trainer would otherwise
 * take on trust: every line parses; its prompt is exactly the paper's prompt
 * for a known context and two options (re-rendered and compared); its answer
 * is the paper's rule under the target weights (decisions) or the stated
 * weights as JSON (self-reports); and no evaluation trial, held-out context or
 * native context appears in training. Every problem is listed with its file
 * and line.
 */
import { parseTargetWeightsCsv, PaperCsvError } from '../paper-csv';
import { buildPlan, resolveScenarios } from '../experiment/plan';
import { decisionMessages, introspectionMessages, PAPER_PROMPTS, type ChatMessage, type PromptTemplates } from '../prompts';
import { parseSpec, SpecError, type ExperimentSpec } from '../experiment/spec';
import type { OptionValues, Scenario, Weights } from '../scenarios/types';
import {
  choiceKey,
  FILES,
  reportAnswer,
  ruleAnswer,
  TrainingSetError,
  TRAINING_SET_FORMAT,
  TRAINING_SET_VERSION,
  type TrainingExample,
  type TrainingSetManifest,
} from './set';

export interface ReadSet {
  manifest: TrainingSetManifest;
  train: TrainingExample[];
  heldout: TrainingExample[];
  evalSpec: ExperimentSpec;
  nativeSpec?: ExperimentSpec;
}

/** Every evaluation choice of these specs, keyed by choiceKey, with the trial id that shows it. */
export function evaluationChoices(specs: readonly ExperimentSpec[], available: readonly Scenario[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const spec of specs)
    for (const t of buildPlan(spec, available).trials) {
      const key = choiceKey(t.scenarioId, t.a, t.b);
      if (!keys.has(key)) keys.set(key, t.id);
    }
  return keys;
}

export interface ParsedPrompt {
  task: 'decision' | 'introspection';
  scenario: Scenario;
  a: OptionValues;
  b: OptionValues;
}

const VALUE_LINE = /^(.+?): (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?: .*)?$/;

function sameMessages(x: readonly ChatMessage[], y: readonly ChatMessage[]): boolean {
  return x.length === y.length && x.every((m, i) => m.role === y[i].role && m.content === y[i].content);
}

/**
 * The context and options behind a prompt, or null when it is not exactly one
 * of the paper's prompts for a context of the set (the options are read from
 * the text, then the prompt is rendered again and must match character for character).
 */
export function parsePrompt(prompt: readonly ChatMessage[], byQuestion: Map<string, Scenario[]>, templates: PromptTemplates = PAPER_PROMPTS): ParsedPrompt | null {
  const user = prompt.find((m) => m.role === 'user')?.content ?? '';
  const at = user.indexOf('\nA:\n');
  if (at < 0) return null;
  const question = user.slice(user.lastIndexOf('\n', at - 1) + 1, at);
  for (const scenario of byQuestion.get(question) ?? []) {
    const k = scenario.attributes.length;
    const lines = user.slice(at + 4).split('\n');
    // A's k lines, a blank line, "B:", B's k lines.
    if (lines.length < 2 * k + 2 || lines[k] !== '' || lines[k + 1] !== 'B:') continue;
    const read = (rows: string[]) =>
      rows.map((row, i) => {
        const m = VALUE_LINE.exec(row);
        return m && m[1] === scenario.attributes[i].name ? Number(m[2]) : NaN;
      });
    const a = read(lines.slice(0, k));
    const b = read(lines.slice(k + 2, 2 * k + 2));
    if (![...a, ...b].every(Number.isFinite)) continue;
    if (sameMessages(prompt, decisionMessages(scenario, a, b, templates))) return { task: 'decision', scenario, a, b };
    if (sameMessages(prompt, introspectionMessages(scenario, a, b, templates))) return { task: 'introspection', scenario, a, b };
  }
  return null;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseLines(text: string, file: string, problems: string[]): Array<{ line: number; example: TrainingExample }> {
  const out: Array<{ line: number; example: TrainingExample }> = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      problems.push(`${file} line ${line}: not valid JSON (${(e as Error).message})`);
      return;
    }
    const msgs = isObj(v) ? v.messages : undefined;
    const ok =
      Array.isArray(msgs) &&
      msgs.length >= 2 &&
      msgs.every((m) => isObj(m) && typeof m.content === 'string' && (m.role === 'system' || m.role === 'user' || m.role === 'assistant')) &&
      (msgs[msgs.length - 1] as ChatMessage).role === 'assistant';
    if (!ok) {
      problems.push(`${file} line ${line}: expected {"messages": [{"role": "system"|"user"|"assistant", "content": "…"}, …]} ending with the assistant's answer`);
      return;
    }
    out.push({ line, example: { messages: msgs as ChatMessage[] } });
  });
  return out;
}

function checkManifest(v: unknown, problems: string[]): TrainingSetManifest | null {
  if (!isObj(v)) {
    problems.push(`${FILES.manifest}: must be a JSON object`);
    return null;
  }
  const before = problems.length;
  if (v.format !== TRAINING_SET_FORMAT) problems.push(`${FILES.manifest}: format must be "${TRAINING_SET_FORMAT}"`);
  if (v.version !== TRAINING_SET_VERSION) problems.push(`${FILES.manifest}: version ${JSON.stringify(v.version)} is not supported (this lab reads ${TRAINING_SET_VERSION})`);
  if (v.kind !== 'instill' && v.kind !== 'introspect') problems.push(`${FILES.manifest}: kind must be "instill" or "introspect"`);
  for (const f of ['trained', 'heldOut', 'native'])
    if (!Array.isArray(v[f]) || !(v[f] as unknown[]).every((x) => typeof x === 'string')) problems.push(`${FILES.manifest}: ${f} must be a list of context ids`);
  return problems.length === before ? (v as unknown as TrainingSetManifest) : null;
}

/** Parse and check a training set's files (name → text). Throws TrainingSetError listing every problem. */
export function readTrainingSet(files: Record<string, string | undefined>): ReadSet {
  const problems: string[] = [];
  const need = (name: string): string | undefined => {
    const t = files[name];
    if (t === undefined) problems.push(`${name} is missing`);
    return t;
  };
  const manifestText = need(FILES.manifest);
  const trainText = need(FILES.train);
  const heldoutText = need(FILES.heldout);
  const specText = need(FILES.evalSpec);
  const targetText = need(FILES.targets);
  if (problems.length) throw new TrainingSetError(problems);

  let manifest: TrainingSetManifest | null = null;
  try {
    manifest = checkManifest(JSON.parse(manifestText!), problems);
  } catch (e) {
    problems.push(`${FILES.manifest}: not valid JSON (${(e as Error).message})`);
  }
  const spec = (name: string, text: string): ExperimentSpec | undefined => {
    try {
      return parseSpec(text);
    } catch (e) {
      problems.push(`${name}: ${e instanceof SpecError ? e.problems.join('; ') : (e as Error).message}`);
      return undefined;
    }
  };
  const evalSpec = spec(FILES.evalSpec, specText!);
  const nativeSpec = files[FILES.nativeSpec] !== undefined ? spec(FILES.nativeSpec, files[FILES.nativeSpec]!) : undefined;
  const weights = (name: string, text: string): Map<string, Weights> | undefined => {
    try {
      return parseTargetWeightsCsv(text, { source: name });
    } catch (e) {
      problems.push(e instanceof PaperCsvError ? e.message : `${name}: ${(e as Error).message}`);
      return undefined;
    }
  };
  const targets = weights(FILES.targets, targetText!);
  const answers = manifest?.kind === 'introspect' ? (files[FILES.answers] === undefined ? (problems.push(`${FILES.answers} is missing`), undefined) : weights(FILES.answers, files[FILES.answers]!)) : targets;
  if (!manifest || !evalSpec || !targets || !answers) throw new TrainingSetError(problems);

  let available: Scenario[];
  try {
    available = resolveScenarios(evalSpec);
  } catch (e) {
    throw new TrainingSetError([...problems, `${FILES.evalSpec}: its scenarios cannot be resolved (${(e as Error).message})`]);
  }
  for (const [id, w] of Object.entries(evalSpec.scenarios.targets ?? {})) {
    const t = targets.get(id);
    if (!t || t.some((x, i) => x !== w[i])) problems.push(`${FILES.evalSpec}: the target weights of "${id}" differ from ${FILES.targets}`);
  }
  const specs = [evalSpec, ...(nativeSpec ? [nativeSpec] : [])];
  let evalChoices = new Map<string, string>();
  try {
    evalChoices = evaluationChoices(specs, available);
  } catch (e) {
    problems.push(`the evaluation specs cannot be planned: ${(e as Error).message}`);
  }

  // Contexts that training must never show: Exp 2's held-out fold, Exp 3's native contexts,
  // and for introspection sets every context the evaluation asks about.
  const forbidden = new Map<string, string>();
  for (const id of manifest.heldOut) forbidden.set(id, "Exp 2's held-out fold");
  for (const id of manifest.native) forbidden.set(id, "Exp 3's native contexts");
  if (nativeSpec) for (const id of nativeSpec.scenarios.ids ?? []) forbidden.set(id, "Exp 3's native contexts");
  if (manifest.kind === 'introspect') for (const id of evalSpec.scenarios.ids ?? []) if (!forbidden.has(id)) forbidden.set(id, 'the contexts eval-spec.json tests');
  for (const id of manifest.trained) if (forbidden.has(id)) problems.push(`${FILES.manifest}: "${id}" is listed as trained but belongs to ${forbidden.get(id)}`);

  const byQuestion = new Map<string, Scenario[]>();
  for (const s of available) byQuestion.set(s.question, [...(byQuestion.get(s.question) ?? []), s]);
  const templates = evalSpec.prompts ?? PAPER_PROMPTS;
  const wantTask = manifest.kind === 'instill' ? 'decision' : 'introspection';
  const seen = new Map<string, string>();

  const check = (file: string, text: string): TrainingExample[] => {
    const rows = parseLines(text, file, problems);
    for (const { line, example } of rows) {
      const at = `${file} line ${line}`;
      const answer = example.messages[example.messages.length - 1].content;
      const p = parsePrompt(example.messages.slice(0, -1), byQuestion, templates);
      if (!p) {
        problems.push(`${at}: the prompt is not the paper's ${wantTask} prompt for a context of this set`);
        continue;
      }
      if (p.task !== wantTask) problems.push(`${at}: a ${p.task} prompt in a${manifest!.kind === 'instill' ? 'n instilling' : 'n introspection'} set`);
      const id = p.scenario.id;
      if (forbidden.has(id)) problems.push(`${at}: leak — context "${id}" is one of ${forbidden.get(id)} and must never appear in training`);
      else if (!manifest!.trained.includes(id)) problems.push(`${at}: context "${id}" is not listed as trained in ${FILES.manifest}`);
      const key = choiceKey(id, p.a, p.b);
      const trial = evalChoices.get(key);
      if (trial) problems.push(`${at}: leak — this choice is evaluation trial ${trial}`);
      const twice = seen.get(key);
      if (twice) problems.push(`${at}: the same choice as ${twice} (held-out examples must be unseen)`);
      else seen.set(key, at);
      const w = (p.task === 'decision' ? targets : answers).get(id);
      if (!w) {
        problems.push(`${at}: no ${p.task === 'decision' ? 'target' : 'answer'} weights for "${id}"`);
        continue;
      }
      const expected = p.task === 'decision' ? ruleAnswer(p.scenario, w, p.a, p.b) : reportAnswer(p.scenario, w);
      if (expected === null) problems.push(`${at}: the options tie under the target weights; such a choice has no right answer`);
      else if (answer !== expected) problems.push(`${at}: the answer ${JSON.stringify(answer)} disagrees with the ${p.task === 'decision' ? "paper's rule" : 'weights'} (expected ${JSON.stringify(expected)})`);
    }
    return rows.map((r) => r.example);
  };
  const train = check(FILES.train, trainText!);
  const heldout = check(FILES.heldout, heldoutText!);
  if (manifest.lines && (manifest.lines.train !== train.length || manifest.lines.heldout !== heldout.length))
    problems.push(`${FILES.manifest}: says ${manifest.lines.train} training and ${manifest.lines.heldout} held-out lines, the files have ${train.length} and ${heldout.length}`);
  if (problems.length) throw new TrainingSetError(problems);
  return { manifest, train, heldout, evalSpec, ...(nativeSpec ? { nativeSpec } : {}) };
}
