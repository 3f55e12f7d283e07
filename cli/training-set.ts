/**
 * `npm run cli -- training-set instill|introspect|check`: write a training set
 * folder (chat JSONL, the paper's CSVs, the evaluation specs), or check one.
 * The logic is in src/lib/training; this file reads and writes files.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPlan, resolveScenarios } from '../src/lib/experiment/plan';
import { withInContext } from '../src/lib/experiment/in-context';
import { ScenarioFormatError } from '../src/lib/scenarios';
import {
  buildInstillSet,
  buildIntrospectSet,
  readTrainingSet,
  TrainingSetError,
  type BuiltSet,
  type Fold,
  type ReadSet,
} from '../src/lib/training';
import { fromInstillSet, fromRun } from '../src/lib/training/sources';
import { importScenarioFile, parseRowRange } from '../src/app/scenario-import';
import type { ScenarioSource } from '../src/lib/experiment/spec';
import { FolderStore } from './folder-store';

export const summary = 'write a training set for Exp 1-3 (chat JSONL + evaluation specs), or check one';

const DEFAULT_MODEL = 'onnx-community/Qwen2.5-0.5B-Instruct';

const HELP = `usage:
  npm run cli -- training-set instill --scenarios N --decisions K --seed S --out DIR [options]
  npm run cli -- training-set introspect (--from-targets DIR | --from-run RUN) --fold first|last|all --out DIR [options]
  npm run cli -- training-set in-context (--from-targets DIR | --from-run RUN) --k 2,5,10 --out SPEC.json
  npm run cli -- training-set check DIR

instill (Exp 1): N contexts with seeded random target weights, K decisions each, answered by the
paper's rule. introspect (Exp 2/3): the introspection prompt answered with the correct weights,
from an instilling set's targets (--from-targets) or a finished run's learned weights (--from-run,
a 'cli run' folder of that set's eval-spec.json), on one fold of the contexts.

  --heldout H           examples per context kept out of training for the trainer's check (default 10 / 2)
  --examples E          introspect: examples per trained context (default 1, the paper's 50 for 50 contexts)
  --native M            Exp 3 contexts never trained (default: as many as instilled, if the set has them)
  --model ID_OR_DIR     base model the evaluation specs load (default ${DEFAULT_MODEL})
  --adapter PATH        where the trained adapter will be (default DIR/adapter)
  --scenario-file FILE  instill: contexts from a scenario-set JSON or the paper's scenarios.csv
  --rows A-B            with a paper CSV: only these data rows
  --seed S              introspect: override the instilling set's seed

in-context: no training. The experiment spec of the set (or of the run) plus one self-report condition
per k whose prompt first shows k correct self-reports for other contexts (targets, or the run's learned
weights): the Exp 2/3 analogues for any model.

Files: train.jsonl, heldout.jsonl, training-set.json, eval-spec.json (the matching evaluation),
eval-spec-native.json (Exp 3), scenarios.csv, target_weights.csv, answer_weights.csv (introspect).
Every file is checked when written; 'check DIR' checks a folder again.`;

async function readFolder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(dir)) if (/\.(jsonl?|csv)$/.test(name)) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

export async function readSetFolder(dir: string): Promise<ReadSet> {
  return readTrainingSet(await readFolder(dir));
}

async function writeSet(dir: string, set: BuiltSet): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const f of set.files) await writeFile(join(dir, f.name), f.text);
  const m = set.manifest;
  process.stderr.write(
    `wrote ${m.lines.train} training and ${m.lines.heldout} held-out lines (${m.trained.length} contexts trained, ` +
      `${m.heldOut.length} held out, ${m.native.length} native) to ${dir}; eval-spec.json runs Exp ${m.experiment}\n`,
  );
}

function count(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TrainingSetError([`--${name} must be a whole number, got ${JSON.stringify(v)}`]);
  return n;
}

async function scenarioSource(file: string | undefined, rows: string | undefined, seed: string): Promise<ScenarioSource> {
  if (!file) return { source: 'builtin', roleSeed: seed };
  const range = parseRowRange(rows);
  const { set } = importScenarioFile(file, await readFile(file, 'utf8'), range ? { rows: range } : {});
  return { source: 'inline', set };
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      scenarios: { type: 'string' }, decisions: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' },
      'from-targets': { type: 'string' }, 'from-run': { type: 'string' }, fold: { type: 'string' }, heldout: { type: 'string' },
      examples: { type: 'string' }, native: { type: 'string' }, model: { type: 'string' }, adapter: { type: 'string' },
      'scenario-file': { type: 'string' }, rows: { type: 'string' }, k: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help || !sub || sub === '--help') {
    process.stdout.write(HELP + '\n');
    return values.help || sub === '--help' ? 0 : 2;
  }
  const fail = (msg: string) => (process.stderr.write(`error: ${msg}\n`), 2);
  try {
    if (sub === 'check') {
      const dir = positionals[0] ?? values.out;
      if (!dir) return fail('give the folder to check');
      const set = await readSetFolder(resolve(dir));
      process.stderr.write(`ok: ${set.train.length} training and ${set.heldout.length} held-out lines; every answer agrees with the rule; no evaluation trial in training\n`);
      return 0;
    }
    if (!values.out) return fail('--out DIR is required');
    if (sub === 'in-context') {
      if (!values['from-targets'] === !values['from-run']) return fail('give exactly one of --from-targets DIR and --from-run RUN');
      const ks = (values.k ?? '').split(',').filter(Boolean).map(Number);
      if (!ks.length || !ks.every((k) => Number.isInteger(k) && k >= 0)) return fail('--k needs a comma list of whole numbers, e.g. 2,5,10');
      let spec;
      if (values['from-targets']) spec = withInContext((await readSetFolder(resolve(values['from-targets']))).evalSpec, ks, 'target');
      else {
        const record = await new FolderStore(resolve(values['from-run']!)).readRecord();
        if (!record) return fail(`${values['from-run']} holds no run (run.json is missing)`);
        spec = withInContext(record.spec, ks, 'learned', fromRun(record).weights);
      }
      buildPlan(spec, resolveScenarios(spec)); // k larger than the contexts allow fails here, before writing
      await writeFile(resolve(values.out), JSON.stringify(spec, null, 2) + '\n');
      process.stderr.write(`wrote ${values.out}: ${spec.conditions.length} conditions (in-context k = ${ks.join(', ')})\n`);
      return 0;
    }
    const out = resolve(values.out);
    const adapter = values.adapter ?? join(values.out, 'adapter');
    if (sub === 'instill') {
      if (values.scenarios === undefined || values.decisions === undefined || !values.seed) return fail('instill needs --scenarios N --decisions K --seed S');
      const source = await scenarioSource(values['scenario-file'], values.rows, values.seed);
      const available = resolveScenarios({ scenarios: source, seed: values.seed } as Parameters<typeof resolveScenarios>[0]);
      await writeSet(
        out,
        buildInstillSet({
          source, available, seed: values.seed, model: values.model ?? DEFAULT_MODEL, adapter,
          scenarios: count(values.scenarios, 'scenarios')!, decisions: count(values.decisions, 'decisions')!,
          heldout: count(values.heldout, 'heldout'), nativeCount: count(values.native, 'native'),
        }),
      );
      return 0;
    }
    if (sub === 'introspect') {
      const fold = values.fold as Fold;
      if (!['first', 'last', 'all'].includes(fold)) return fail('--fold must be first, last or all');
      if (!values['from-targets'] === !values['from-run']) return fail('give exactly one of --from-targets DIR and --from-run RUN');
      let inputs;
      if (values['from-targets']) inputs = fromInstillSet(await readSetFolder(resolve(values['from-targets'])));
      else {
        const record = await new FolderStore(resolve(values['from-run']!)).readRecord();
        if (!record) return fail(`${values['from-run']} holds no run (run.json is missing)`);
        inputs = fromRun(record);
      }
      await writeSet(
        out,
        buildIntrospectSet({
          ...inputs,
          answers: values['from-run'] ? 'learned' : 'target',
          seed: values.seed ?? inputs.seed,
          model: values.model ?? inputs.model,
          // The introspection-trained adapter (training continues the instilled one into this folder).
          adapter,
          fold,
          examples: count(values.examples, 'examples'),
          heldout: count(values.heldout, 'heldout'),
          nativeCount: count(values.native, 'native'),
        }),
      );
      return 0;
    }
    return fail(`unknown subcommand "${sub}"\n\n${HELP}`);
  } catch (e) {
    if (e instanceof TrainingSetError) return fail(`${e.problems.length} problem(s):\n  - ${e.problems.join('\n  - ')}`);
    if (e instanceof ScenarioFormatError) return fail(e.problems.map((p) => `${p.location}: ${p.message}`).join('\n  '));
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof RangeError) return fail((e as Error).message);
    throw e;
  }
}
