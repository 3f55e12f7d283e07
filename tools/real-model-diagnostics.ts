/**
 * What the lab shows on the real model, SmolLM2-135M-Instruct: the figures of
 * docs/real-models.md, from the lab's own CLI, rerunnable by anyone.
 *
 *   npm run diagnostics:real -- [--model DIR] [--out DIR] [--dtype fp32]
 *                               [--scenarios 10] [--decisions 30] [--reports 5] [--free-reports 5]
 *
 * Without --model it asks python/real_model.py (the project venv) for the ONNX
 * folder it makes from the pinned GGUF. Then, exactly the documented commands:
 *
 *   npm run cli -- run --preset classroom --model DIR --dtype fp32 --device cpu --out OUT/constrained
 *   npm run cli -- run --preset classroom --mode free --decisions 2 --model DIR --dtype fp32 --device cpu --out OUT/free
 *   npm run cli -- analyze --run OUT/constrained --json        (and OUT/free)
 *
 * The first is the Classroom preset as the page starts it (10 scenarios × 30
 * decisions, each pair also shown swapped, 5 constrained self-reports per
 * scenario); the second asks the same scenarios for free self-reports (the
 * parse rate). An unfinished OUT folder is resumed. It prints a table of the
 * diagnostics and writes OUT/summary.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FolderStore } from '../cli/folder-store';
import { decisionsOf } from '../src/app/run-analysis';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string', default: 'fp32' },
    scenarios: { type: 'string', default: '10' },
    decisions: { type: 'string', default: '30' },
    reports: { type: 'string', default: '5' },
    'free-reports': { type: 'string', default: '5' },
  },
});

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
  return r.stdout;
}
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args]);

function realModelFolder(): string {
  const python = join(root, '.venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error('no project venv (.venv): run `npm run pyenv`, or give --model DIR (an ONNX model folder)');
  const line = run(python, ['python/real_model.py']).trim().split('\n').pop()!;
  return (JSON.parse(line) as { onnx: string }).onnx;
}

const t0 = performance.now();
// A folder is made absolute; anything else (a sim: id, to try the script without the model) is passed as is.
const model = values.model ? (existsSync(values.model) ? resolve(values.model) : values.model) : realModelFolder();
const out = resolve(values.out ?? join(root, 'test-output', 'real-model-diagnostics'));
await mkdir(out, { recursive: true });
const common = ['--model', model, '--dtype', values.dtype!, '--device', 'cpu', '--scenarios', values.scenarios!];
const timings: Record<string, number> = {};
const timed = <T>(name: string, f: () => T): T => {
  const t = performance.now();
  try {
    return f();
  } finally {
    timings[name] = Math.round((performance.now() - t) / 1000);
  }
};
timed('constrained run (s)', () => cli('run', '--preset', 'classroom', ...common, '--decisions', values.decisions!, '--reports', values.reports!, '--out', join(out, 'constrained')));
timed('free run (s)', () => cli('run', '--preset', 'classroom', '--mode', 'free', ...common, '--decisions', '2', '--reports', values['free-reports']!, '--out', join(out, 'free')));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the CLI's JSON, read as printed
type Json = Record<string, any>;
const constrained: Json = JSON.parse(cli('analyze', '--run', join(out, 'constrained'), '--json'));
const free: Json = JSON.parse(cli('analyze', '--run', join(out, 'free'), '--json'));
const text = cli('analyze', '--run', join(out, 'constrained'));

// How far swapping the options moves P(A), per pair: 0 when the model answers the same whichever option is A.
const record = (await new FolderStore(join(out, 'constrained')).readRecord())!;
const byPair = new Map<string, { p?: number; s?: number }>();
for (const d of decisionsOf(record, 'decide')) {
  const k = `${d.scenario}/${d.index}`;
  const e = byPair.get(k) ?? {};
  if (d.swapped) e.s = d.pA;
  else e.p = d.pA;
  byPair.set(k, e);
}
const moves = [...byPair.values()].filter((e) => e.p !== undefined && e.s !== undefined).map((e) => Math.abs(e.p! - e.s!));
const swapMove = moves.reduce((t, x) => t + x, 0) / moves.length;

const d = constrained.decisions.decide;
const rep = constrained.reports['self-report'];
const fr = free.reports['self-report'];
const f = (x: number | null | undefined, n = 3) => (x === null || x === undefined ? 'n/a' : x.toFixed(n));
const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(0)} %`);
const rows: [string, string][] = [
  ['decisions (both orders)', String(d.decisions)],
  ['"A" chosen', pct(d.position.a_rate)],
  ['mean P(A)', f(d.position.mean_p_a)],
  ['bias towards "A" (logits, from the pairs)', f(d.position.intercept, 2)],
  ['label mass P("A") + P("B")', f(d.position.mean_label_mass)],
  ['mean |P(A) − P(A) with the options swapped| over pairs', f(swapMove, 4)],
  ['learned weights from', `${d.fit} fit${d.switched_to_soft ? ' (switched: hard fit degenerate)' : ''}`],
  ['scenarios whose choices depend on the attributes (LR test, p < .05)', `${d.sensitivity.significant} of ${d.sensitivity.n_scenarios}`],
  ['median LR-test p', f(d.sensitivity.lr_p_median)],
  ['mean |raw slope| (logits per attribute range)', f(d.sensitivity.mean_abs_slope, 4)],
  ['split-half reliability of the learned weights', d.reliability ? `${f(d.reliability.reliability)} [${f(d.reliability.ci[0])}, ${f(d.reliability.ci[1])}]` : 'n/a'],
  ['constrained self-reports valid', `${rep.valid} of ${rep.valid + rep.invalid}`],
  ['reported values copied from the options', `${rep.copied} of ${rep.copied_of} (${pct(rep.copied_share)})`],
  ['reported vs learned r [95 % CI]', `${f(rep.r)} [${f(rep.ci?.[0])}, ${f(rep.ci?.[1])}], ${rep.n_points} points`],
  ['its reliability ceiling', rep.ceiling ? `${f(rep.ceiling.ceiling)} [${f(rep.ceiling.ci[0])}, ${f(rep.ceiling.ci[1])}]` : 'n/a'],
  ['free self-reports that parse', `${fr.valid} of ${fr.valid + fr.invalid} (${JSON.stringify(fr.invalid_reasons)})`],
  ['free reports: values copied from the options', fr.copied_of ? `${fr.copied} of ${fr.copied_of}` : 'n/a (none parsed)'],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`\n${model} (${values.dtype}, Node CPU), Classroom preset\n`);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
console.log(`\n${JSON.stringify(timings)}; total ${Math.round((performance.now() - t0) / 1000)} s\n\n${text}`);
await writeFile(join(out, 'summary.json'), JSON.stringify({ model, dtype: values.dtype, swap_move: swapMove, constrained, free, timings }, null, 2));
console.log(`written: ${join(out, 'summary.json')}`);
