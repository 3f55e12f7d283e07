/**
 * `npm run cli -- analyze`: analyse decision trials and self-reports in the
 * CSV formats of Plunkett et al. (2025).
 *
 *   analyze --scenarios S.csv --selections SEL.csv [--targets T.csv] [--reports R.csv ...]
 *           [--reference REG.csv] [--soft] [--json] [--per-scenario]
 *   analyze --run DIR [--json]      a run folder of `cli run`, analysed as the lab does
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
import { analyzeRun, type DecisionConditionAnalysis, type ReportConditionAnalysis, type RunAnalysis } from '../src/app/run-analysis';
import { copyingWarning, sensitivityText, sensitivityWarning } from '../src/app/decision-diagnostics';
import type { RunRecord } from '../src/lib/experiment/runs';
import type { PrivilegedAccess } from '../src/lib/analysis/privileged-types';
import { formatPrivileged, privilegedSection } from './analyze-run';
import { causalOf, causalToJson } from '../src/app/causal';
import { selfPredictionOf, selfPredictionToJson } from '../src/app/self-prediction';
import { isSimulatedId } from '../src/lib/experiment/simulated';
import { FolderStore } from './folder-store';
import {
  analysisToJson,
  analyzeExperiment,
  ceilingToJson,
  positionToJson,
  reliabilityToJson,
  roundForJson,
  sensitivityToJson,
  type AnalysisResult,
  type CeiledCorrelation,
  type ScenarioDecision,
  type ScenarioReport,
} from '../src/lib/analysis/index';
import {
  parseRegressionResultsCsv,
  parseSelectionsCsv,
  parseTargetWeightsCsv,
  parseWeightReportsCsv,
} from '../src/lib/paper-csv';
import { importPaperScenariosCsv, paperCsvAttributeCount } from '../src/lib/scenarios/paper-csv';

export const summary = 'learned vs target and reported vs learned weights from CSV files';

export const usage = `usage: npm run cli -- analyze --scenarios S.csv --selections SEL.csv [options]
       npm run cli -- analyze --run DIR [--json] [--resamples N]

  --run DIR            a run folder written by \`cli run\` (run.json, results.jsonl), analysed
                       as the lab's Results view does: per decision condition the position
                       diagnostics, the fit used, how much the choices depend on the attributes
                       (likelihood-ratio tests) and learned vs target with its ceiling; per report
                       condition r with the learned weights, valid/invalid counts and the share of
                       values copied from the options; with two or more models also
                       "privileged_access" (cross-reports, observers, verdicts)

  --scenarios FILE     decision contexts (paper's scenarios.csv: scenario, question, attrN, attrN_min, attrN_max)
  --selections FILE    decision trials (model, scenario, selection, A_attribute_*, B_attribute_*
                       [, p_A, label_mass, index, swapped]);
                       only these scenarios are analysed
  --targets FILE       target weights (scenario, attr1..5) → learned vs target + agreement
  --reports FILE       weight reports (explaining_model, version, scenario, report_attr1..5, ...);
                       repeat to pool several files → reported vs learned
  --reference FILE     learned weights to compare ours with (paper's *_regression_results.csv)
  --soft               fit the model's P(A) (p_A column) instead of its 0/1 choices (without it: the
                       soft fit only when one label takes ≥ 95 % of the choices and p_A is given)
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
  const scenarioText = readText(options.scenarios, 'scenarios');
  const { scenarios } = importPaperScenariosCsv(scenarioText, {
    source: basename(options.scenarios),
    attributeCount: paperCsvAttributeCount(scenarioText),
  });
  const selections: ScenarioDecision[] = parseSelectionsCsv(readText(options.selections, 'selections'), {
    source: basename(options.selections),
  }).map(({ model: _model, selection, ...r }) => ({ ...r, choice: selection }));
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

export interface AnalyzeRunArgs {
  run: string;
  json: boolean;
  resamples?: number;
}

export function parseAnalyzeArgs(argv: string[]): (AnalyzeFileOptions & { json: boolean; perScenario: boolean }) | AnalyzeRunArgs | 'help' {
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
  if (v.run !== undefined) {
    if (v.scenarios || v.selections) throw new UsageError('--run reads a run folder: give it without --scenarios and --selections');
    return { run: v.run, json: v.json ?? false, resamples: positiveNumber('resamples', v.resamples, true) };
  }
  if (!v.scenarios) throw new UsageError('--scenarios is required');
  if (!v.selections) throw new UsageError('--selections is required');
  return {
    scenarios: v.scenarios,
    selections: v.selections,
    targets: v.targets,
    reports: v.reports,
    reference: v.reference,
    soft: v.soft ? true : undefined,
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
  const p = result.position;
  lines.push(
    `Position: "A" chosen in ${(100 * p.aRate).toFixed(1)}% of decisions, mean P(A) ${f3(p.meanPA)}, bias ${f3(p.intercept)} logits` +
      (p.pairs ? ` (from ${p.pairs} counterbalanced pairs)` : ' (fitted intercept)') +
      (p.degenerate ? `; the hard fit is degenerate (one label ≥ 95%)${result.switchedToSoft ? ', so the soft fit is used' : ''}` : ''),
  );
  lines.push(
    `Scenarios analysed: ${n} (${result.decisions} decisions); ` +
      (result.notConverged.length === 0 ? 'all fits converged' : `NOT converged: ${result.notConverged.join(', ')}`),
  );
  const decided = { sensitivity: result.sensitivity, fit: result.soft ? ('soft' as const) : ('hard' as const), decisions: result.decisions };
  lines.push(`Depends on the attributes (likelihood-ratio test): ${sensitivityText(decided)}; mean |slope| ${f3(result.sensitivity.meanAbsSlope)} logits per attribute range`);
  const barely = sensitivityWarning(decided);
  if (barely) lines.push(`WARNING: ${barely}`);
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
  const ceilings: [string, CeiledCorrelation | undefined][] = [
    ['learned vs target', result.learnedVsTarget],
    ['reported vs learned', result.reportedVsLearned],
    ['reported vs target', result.reportedVsTarget],
  ];
  for (const [name, c] of ceilings)
    if (c?.ceiling?.none) lines.push(`${name}: ${c.ceiling.none}`);
    else if (c?.ceiling) lines.push(`${name}: reliability ceiling ${f3(c.ceiling.ceiling)} ${ci(c.ceiling.ci)}, disattenuated r = ${f3(c.ceiling.disattenuated)}`);
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

// ─── --run DIR ─────────────────────────────────────────────────────────────

/** One section of `analyze --run DIR --json`, from the lab's analysis of the run (undefined: left out). */
export type RunSection = (analysis: RunAnalysis, record: RunRecord, options: { resamples?: number }) => unknown;

/** Per decision condition: position bias, the fit the learned weights come from, learned vs target with its ceiling. */
export function decisionsSection(analysis: RunAnalysis): Record<string, unknown> {
  const one = (d: DecisionConditionAnalysis) => {
    const vs = d.vsTarget;
    const position = d.position ? positionToJson(d.position) : null;
    return {
      model: d.modelId,
      decisions: d.decisions,
      position,
      fit: d.fit,
      switched_to_soft: d.switchedToSoft,
      sensitivity: d.sensitivity ? sensitivityToJson(d.sensitivity) : null,
      // Learned vs target means something only for a model trained on the targets (the page shows it only then).
      targets_instilled: d.instilled,
      learned_vs_target: vs
        ? { r: roundForJson(vs.r), ci: vs.ci.map((x) => roundForJson(x)), n_points: vs.n_points, n_scenarios: vs.n_scenarios, ...(vs.ceiling ? { ceiling: ceilingToJson(vs.ceiling) } : {}) }
        : null,
      reliability: d.reliability ? reliabilityToJson(d.reliability) : null,
      ...(d.error ? { error: d.error } : {}),
    };
  };
  return Object.fromEntries(analysis.decisions.map((d) => [d.key, one(d)]));
}

/** Per report condition: r with the learned weights it is about, valid/invalid counts, the share copied from the options. */
export function reportsSection(analysis: RunAnalysis): Record<string, unknown> {
  const one = (r: ReportConditionAnalysis) => {
    const vs = r.vsLearned;
    return {
      about: r.about,
      reporter: r.reporterId,
      mode: r.mode,
      self: r.isSelf,
      ...(r.observer ? { observer_k: r.k ?? 0 } : {}),
      r: vs ? roundForJson(vs.r) : null,
      ci: vs ? vs.ci.map((x) => roundForJson(x)) : null,
      n_points: vs?.n_points ?? 0,
      ...(vs?.ceiling ? { ceiling: ceilingToJson(vs.ceiling) } : {}),
      valid: r.tally.valid,
      invalid: r.tally.invalid,
      invalid_reasons: r.tally.reasons,
      copied_share: roundForJson(r.copying.share),
      copied: r.copying.copied,
      copied_of: r.copying.values,
      ...(r.error ? { error: r.error } : {}),
    };
  };
  return Object.fromEntries(analysis.reports.map((r) => [r.key, one(r)]));
}

/** The sections of `analyze --run`; each is computed by its own function. */
export const RUN_SECTIONS: Record<string, RunSection> = {
  decisions: decisionsSection,
  reports: reportsSection,
  // Runs with two or more models (./analyze-run.ts).
  privileged_access: (_analysis, record, options) => privilegedSection(record, options).privileged_access,
  // Runs with interventions (issue 18; src/app/causal.ts): one entry per intervened decision condition.
  causal: (_analysis, record, options) => {
    const entries = causalOf(record, options);
    return entries.length ? causalToJson(entries) : undefined;
  },
  // Runs with predictions conditions (issue 18; src/app/self-prediction.ts).
  self_prediction: (_analysis, record, options) => {
    const a = selfPredictionOf(record, options);
    return a ? selfPredictionToJson(a).self_prediction : undefined;
  },
  self_prediction_verdicts: (_analysis, record, options) => {
    const a = selfPredictionOf(record, options);
    return a ? selfPredictionToJson(a).self_prediction_verdicts : undefined;
  },
};

export async function analyzeRunFolder(dir: string, options: { resamples?: number } = {}): Promise<{ record: RunRecord; analysis: RunAnalysis; json: Record<string, unknown> }> {
  let record: RunRecord | null;
  try {
    record = await new FolderStore(dir).readRecord();
  } catch (err) {
    throw new InputError(`cannot read the run in ${dir}: ${(err as Error).message}`);
  }
  if (!record) throw new InputError(`${dir} holds no run (no run.json)`);
  const analysis = analyzeRun(record, { resamples: options.resamples });
  const json: Record<string, unknown> = {
    run: record.id,
    done: analysis.done,
    total: analysis.total,
    ...(record.spec.models.some((m) => isSimulatedId(m.id)) ? { simulated: true } : {}),
  };
  for (const [name, section] of Object.entries(RUN_SECTIONS)) json[name] = section(analysis, record, options);
  return { record, analysis, json };
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : 'n/a');

/** Human-readable summary of a run's decision conditions. */
export function formatRunDecisions(analysis: RunAnalysis, simulated: boolean): string {
  const lines = [`${analysis.done}/${analysis.total} trials${simulated ? ' (simulated models)' : ''}`];
  for (const d of analysis.decisions) {
    const p = d.position;
    lines.push(`${d.key} (${d.modelId}): ${d.decisions} decisions` + (d.error ? ` — ${d.error}` : ''));
    if (!p) continue;
    lines.push(`  "A" chosen ${pct(p.aRate)}, mean P(A) ${f3(p.meanPA)}, intercept ${f3(p.intercept)} logits, label mass ${f3(p.meanLabelMass)}`);
    if (p.degenerate) lines.push(`  the hard fit is degenerate (one label ≥ 95 % of choices)${d.switchedToSoft ? ': learned weights from the soft fit (P(A))' : ''}`);
    const s = d.sensitivity;
    if (s) lines.push(`  depends on the attributes (likelihood-ratio test): ${sensitivityText(d)}; mean |slope| ${f3(s.meanAbsSlope)} logits per attribute range`);
    const barely = sensitivityWarning(d);
    if (barely) lines.push(`  WARNING: ${barely}`);
    const vs = d.vsTarget;
    if (vs && !d.instilled) lines.push('  learned vs target: not shown (the model was not trained on the target weights: they are random numbers it never saw)');
    else if (vs)
      lines.push(
        `  learned vs target (${d.fit} fit): r = ${f3(vs.r)} ${ci(vs.ci)}` +
          (vs.ceiling ? `, ceiling ${f3(vs.ceiling.ceiling)} ${ci(vs.ceiling.ci)}, disattenuated r = ${f3(vs.ceiling.disattenuated)}` : ''),
      );
  }
  return lines.join('\n') + '\n';
}

/** Human-readable summary of a run's report conditions (observer conditions summed up in one line). */
export function formatRunReports(analysis: RunAnalysis): string {
  const lines: string[] = [];
  const observers = analysis.reports.filter((r) => r.observer);
  for (const r of analysis.reports.filter((x) => !x.observer)) {
    const vs = r.vsLearned;
    lines.push(
      `${r.key} (${r.reporterId} about ${r.about}, ${r.mode}): ${r.tally.valid} valid, ${r.tally.invalid} invalid reports` +
        (vs ? `; reported vs learned r = ${f3(vs.r)} ${ci(vs.ci)}, ${vs.n_points} points` + (vs.ceiling ? `, ceiling ${f3(vs.ceiling.ceiling)}` : '') : '; no r yet') +
        (r.copying.values ? `; ${pct(r.copying.share)} of reported values copy an option's value` : ''),
    );
    const w = copyingWarning(r);
    if (w) lines.push(`  WARNING: ${w}`);
  }
  if (observers.length) {
    const copying = observers.filter((r) => copyingWarning(r)).length;
    lines.push(`${observers.length} observer conditions${copying ? `; ${copying} of them copy the options' values` : ''}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
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
  if ('run' in args) {
    try {
      const { analysis, json } = await analyzeRunFolder(args.run, { resamples: args.resamples });
      const pa = json.privileged_access as PrivilegedAccess | undefined;
      const reports = args.json ? '' : formatRunReports(analysis);
      process.stdout.write(
        args.json ? JSON.stringify(json) + '\n' : formatRunDecisions(analysis, json.simulated === true) + (reports ? '\n' + reports : '') + (pa ? '\n' + formatPrivileged(pa) : ''),
      );
      return 0;
    } catch (err) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      return 1;
    }
  }
  let result: AnalysisResult;
  try {
    result = analyzeFiles(args);
  } catch (err) {
    // Bad files: ScenarioFormatError, PaperCsvError, AnalysisInputError, InputError, RangeError from the fits.
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
