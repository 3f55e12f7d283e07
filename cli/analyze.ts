/**
 * `npm run cli -- analyze`: analyse decision trials and self-reports in the
 * CSV formats of Plunkett et al. (2025).
 *
 *   analyze --scenarios S.csv --selections SEL.csv [--targets T.csv] [--reports R.csv ...]
 *           [--reference REG.csv] [--soft] [--json] [--per-scenario]
 *
 * Learned weights: per scenario, MAP logistic regression of the choices on
 * d_i = (A_i − B_i)/(max_i − min_i), slopes ~ normal(0, 1) (the paper's prior),
 * intercept ~ normal(0, 2.5) (our choice: the paper states none; see the comparison
 * in src/lib/analysis/logistic.ts), scaled so the
 * largest |weight| is 100. Reported weights: mean of the valid reports per scenario,
 * scaled the same way. Correlations: Pearson r over all (scenario, attribute) points,
 * 95 % scenario-bootstrap interval (2000 resamples, seeded) and Fisher-z interval.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import {
  analysisToJson,
  analyzeExperiment,
  type AnalysisResult,
  type ScenarioDecision,
  type ScenarioReport,
} from '../src/lib/analysis/index';
import {
  parsePaperScenariosCsv,
  parseRegressionResultsCsv,
  parseSelectionsCsv,
  parseTargetWeightsCsv,
  parseWeightReportsCsv,
} from '../src/lib/paper-csv';
import { formatPrivileged, privilegedSection, readRunFolder } from './analyze-run';

export const summary = 'learned vs target and reported vs learned weights from CSV files';

export const usage = `usage: npm run cli -- analyze --scenarios S.csv --selections SEL.csv [options]
       npm run cli -- analyze --run DIR [--json] [--soft] [--seed TEXT] [--resamples N]

  --run DIR            a folder written by cli run: the lab's analyses of its run record
                       (with two or more models: "privileged_access")

  --scenarios FILE     decision contexts (paper's scenarios.csv: scenario, question, attrN, attrN_min, attrN_max)
  --selections FILE    decision trials (model, scenario, selection, A_attribute_*, B_attribute_* [, p_A]);
                       only these scenarios are analysed
  --targets FILE       target weights (scenario, attr1..5) → learned vs target + agreement
  --reports FILE       weight reports (explaining_model, version, scenario, report_attr1..5, ...);
                       repeat to pool several files → reported vs learned
  --reference FILE     learned weights to compare ours with (paper's *_regression_results.csv)
  --soft               fit the model's P(A) (p_A column) instead of its 0/1 choices
  --json               print one JSON object instead of tables
  --per-scenario       include per-scenario weights (table rows, or "per_scenario" in JSON)
  --seed TEXT          bootstrap seed (default "analysis")
  --resamples N        bootstrap resamples (default 2000)
  --slope-prior-sd X   prior sd of the slopes (default 1)
  --intercept-prior-sd X  prior sd of the intercept (default 2.5; "inf" for flat)
  -h, --help           this text

exit codes: 0 ok, 1 bad input file, 2 bad arguments`;

export class UsageError extends Error {}
export class InputError extends Error {}

export interface AnalyzeFileOptions {
  scenarios: string;
  selections: string;
  targets?: string;
  reports?: string[];
  reference?: string;
  soft?: boolean;
  seed?: string;
  resamples?: number;
  slopePriorSd?: number;
  interceptPriorSd?: number;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read ${what} file ${path}${code ? ` (${code})` : ''}`);
  }
}

/** Read the files, parse them and run the analysis (no printing). Throws on bad input. */
export function analyzeFiles(options: AnalyzeFileOptions): AnalysisResult {
  const scenarios = parsePaperScenariosCsv(readText(options.scenarios, 'scenarios'), { source: basename(options.scenarios) });
  const selections: ScenarioDecision[] = parseSelectionsCsv(readText(options.selections, 'selections'), {
    source: basename(options.selections),
  }).map((r) => ({ scenario: r.scenario, a: r.a, b: r.b, choice: r.selection, pA: r.pA }));
  const targets = options.targets
    ? parseTargetWeightsCsv(readText(options.targets, 'targets'), { source: basename(options.targets) })
    : undefined;
  const reference = options.reference
    ? parseRegressionResultsCsv(readText(options.reference, 'reference'), { source: basename(options.reference) })
    : undefined;
  let reports: { rows: ScenarioReport[]; invalid: number } | undefined;
  if (options.reports && options.reports.length > 0) {
    reports = { rows: [], invalid: 0 };
    for (const file of options.reports) {
      const parsed = parseWeightReportsCsv(readText(file, 'reports'), { source: basename(file) });
      for (const r of parsed.reports) reports.rows.push({ scenario: r.scenario, report: r.report });
      reports.invalid += parsed.invalid.length;
    }
  }
  return analyzeExperiment({
    scenarios,
    selections,
    targets,
    reports,
    reference,
    soft: options.soft,
    fit: { slopePriorSd: options.slopePriorSd, interceptPriorSd: options.interceptPriorSd },
    bootstrap: { seed: options.seed, resamples: options.resamples },
  });
}

function positiveNumber(name: string, value: string | undefined, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const v = /^\+?inf(inity)?$/i.test(value.trim()) && !integer ? Infinity : Number(value);
  if (!(v > 0) || (integer && !Number.isInteger(v))) throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  return v;
}

export function parseAnalyzeArgs(argv: string[]): (AnalyzeFileOptions & { json: boolean; perScenario: boolean; run?: string }) | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        scenarios: { type: 'string' },
        selections: { type: 'string' },
        targets: { type: 'string' },
        reports: { type: 'string', multiple: true },
        reference: { type: 'string' },
        soft: { type: 'boolean' },
        json: { type: 'boolean' },
        'per-scenario': { type: 'boolean' },
        seed: { type: 'string' },
        resamples: { type: 'string' },
        'slope-prior-sd': { type: 'string' },
        'intercept-prior-sd': { type: 'string' },
        run: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.run !== undefined)
    return { scenarios: '', selections: '', run: v.run, soft: v.soft ?? false, json: v.json ?? false, perScenario: false, seed: v.seed, resamples: positiveNumber('resamples', v.resamples, true) };
  if (!v.scenarios) throw new UsageError('--scenarios is required');
  if (!v.selections) throw new UsageError('--selections is required');
  return {
    scenarios: v.scenarios,
    selections: v.selections,
    targets: v.targets,
    reports: v.reports,
    reference: v.reference,
    soft: v.soft ?? false,
    json: v.json ?? false,
    perScenario: v['per-scenario'] ?? false,
    seed: v.seed,
    resamples: positiveNumber('resamples', v.resamples, true),
    slopePriorSd: positiveNumber('slope-prior-sd', v['slope-prior-sd']),
    interceptPriorSd: positiveNumber('intercept-prior-sd', v['intercept-prior-sd']),
  };
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const ci = (c: readonly [number, number]): string => `[${f3(c[0])}, ${f3(c[1])}]`;

/** Human-readable report. */
export function formatAnalysis(result: AnalysisResult, options: { perScenario?: boolean } = {}): string {
  const lines: string[] = [];
  const n = result.scenarios.length;
  lines.push(
    `Learned weights: MAP logistic regression on ${result.soft ? 'P(A) (soft choices)' : '0/1 choices'}, ` +
      `slopes ~ N(0, ${result.prior.slope_sd}), intercept ~ N(0, ${result.prior.intercept_sd}); scaled to ±100`,
  );
  lines.push(
    `Scenarios analysed: ${n} (${result.decisions} decisions); ` +
      (result.notConverged.length === 0 ? 'all fits converged' : `NOT converged: ${result.notConverged.join(', ')}`),
  );
  lines.push('');
  const header = ['comparison', 'r', '95% CI (scenario bootstrap)', '95% CI (Fisher z)', 'points', 'scenarios'];
  const rows: string[][] = [];
  const add = (name: string, c: { r: number; ci: [number, number]; fisher_ci: [number, number]; n_points: number; n_scenarios: number }) =>
    rows.push([name, f3(c.r), ci(c.ci), ci(c.fisher_ci), String(c.n_points), String(c.n_scenarios)]);
  if (result.learnedVsTarget) add('learned vs target', result.learnedVsTarget);
  if (result.reportedVsLearned) add('reported vs learned', result.reportedVsLearned);
  if (result.reportedVsTarget) add('reported vs target', result.reportedVsTarget);
  if (result.learnedVsReference) add('learned vs reference', result.learnedVsReference);
  if (rows.length > 0) {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    lines.push(fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt), '');
  } else {
    lines.push('(no comparison: give --targets, --reports or --reference)', '');
  }
  const lt = result.learnedVsTarget;
  if (lt) {
    const a = lt.agreement;
    lines.push(
      `agreement with target utility: ${(100 * a.rate).toFixed(1)}% of ${a.decisions} decisions` +
        (a.ties ? ` (${a.ties} ties not counted)` : '') +
        (lt.missingTargets.length ? `; ${lt.missingTargets.length} scenario(s) without target weights` : ''),
    );
  }
  const rl = result.reportedVsLearned;
  if (rl) {
    lines.push(
      `reports: ${rl.validReports} valid used, ${rl.invalidReports} invalid, ${rl.ignoredReports} ignored (scenarios without selections); ` +
        `${rl.scenariosWithoutReports} scenario(s) without reports`,
    );
    lines.push(`reported vs learned with unscaled mean reports: r = ${f3(rl.rUnscaledMean)}`);
  }
  if (result.learnedVsReference) lines.push(`learned vs reference: max |difference| = ${result.learnedVsReference.maxAbsDiff.toFixed(1)}`);
  if (options.perScenario) {
    lines.push('', 'per scenario (learned | target | reported):');
    const w = (v: readonly number[] | undefined) => (v ? v.map((x) => Math.round(x).toString().padStart(4)).join(' ') : '');
    const width = Math.max(...result.scenarios.map((s) => s.scenario.length));
    for (const s of result.scenarios) {
      lines.push(
        `${s.scenario.padEnd(width)}  ${w(s.learned.weights)} | ${w(s.target)} | ${w(s.reported)}${s.learned.converged ? '' : '  (not converged)'}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

async function analyzeRunMain(dir: string, args: { json: boolean; soft?: boolean; seed?: string; resamples?: number }): Promise<number> {
  let record;
  try {
    record = await readRunFolder(dir);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
  const sections = privilegedSection(record, { soft: args.soft, seed: args.seed, resamples: args.resamples });
  if (args.json) process.stdout.write(JSON.stringify(sections) + '\n');
  else process.stdout.write(sections.privileged_access ? formatPrivileged(sections.privileged_access) : 'The run has one model: nothing to compare its self-report with.\n');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseAnalyzeArgs(argv);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(usage + '\n');
    return 0;
  }
  if (args.run !== undefined) return analyzeRunMain(args.run, args);
  let result: AnalysisResult;
  try {
    result = analyzeFiles(args);
  } catch (err) {
    // Bad files: PaperCsvError, AnalysisInputError, InputError, RangeError from the fits.
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
  if (result.notConverged.length > 0) {
    process.stderr.write(`warning: ${result.notConverged.length} logistic fit(s) did not converge: ${result.notConverged.join(', ')}\n`);
  }
  if (args.json) {
    process.stdout.write(JSON.stringify(analysisToJson(result, { perScenario: args.perScenario })) + '\n');
  } else {
    process.stdout.write(formatAnalysis(result, { perScenario: args.perScenario }));
  }
  return 0;
}
