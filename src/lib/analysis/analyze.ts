/**
 * One experiment's analysis, as in Plunkett et al. (2025): learn weights per
 * scenario from the decision trials, then correlate them with the target weights
 * (did fine-tuning instil the preferences?) and with the reported weights (can the
 * model report them?). Pure: the CLI and the browser feed it parsed data.
 *
 * Only scenarios present in the selections are analysed; reports on other
 * scenarios are ignored and counted.
 */
import type { Attribute } from '../scenarios/types';
import { DEFAULT_INTERCEPT_PRIOR_SD, DEFAULT_SLOPE_PRIOR_SD, type LogisticOptions } from './logistic';
import { agreementRate, mergeAgreement, type Agreement, type BootstrapOptions } from './stats';
import { correlate, learnedWeights, pairByScenario, reportedWeights, type CorrelationResult, type Decision, type LearnedWeights } from './weights';

export class AnalysisInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalysisInputError';
  }
}

export interface ScenarioDecision extends Decision {
  scenario: string;
}

export interface ScenarioReport {
  scenario: string;
  /** Reported weights, aligned with the scenario's attributes. */
  report: readonly number[];
}

export interface AnalysisInput {
  /** Decision contexts (at least every scenario in `selections`). */
  scenarios: readonly { id: string; attributes: readonly Pick<Attribute, 'min' | 'max'>[] }[];
  /** Decision trials; their scenarios are the ones analysed. */
  selections: readonly ScenarioDecision[];
  /** Target weights per scenario (instilled_weights.csv). */
  targets?: ReadonlyMap<string, readonly number[]>;
  /** Valid self-reports (several files pooled) and how many invalid rows were dropped. */
  reports?: { rows: readonly ScenarioReport[]; invalid: number };
  /** Another set of learned weights to compare ours with (the paper's *_regression_results.csv). */
  reference?: ReadonlyMap<string, readonly number[]>;
  /** Fit the model's P(A) (`pA`) instead of its 0/1 choices. */
  soft?: boolean;
  fit?: LogisticOptions;
  bootstrap?: BootstrapOptions;
}

export interface ScenarioAnalysis {
  scenario: string;
  learned: LearnedWeights;
  target?: readonly number[];
  /** Mean of the valid reports, scaled ±100. */
  reported?: number[];
  /** Mean of the valid reports, unscaled. */
  reportedMean?: number[];
  reports: number;
  agreement?: Agreement;
}

export interface AnalysisResult {
  scenarios: ScenarioAnalysis[];
  decisions: number;
  soft: boolean;
  prior: { slope_sd: number; intercept_sd: number };
  notConverged: string[];
  learnedVsTarget?: CorrelationResult & { agreement: Agreement; missingTargets: string[] };
  reportedVsLearned?: CorrelationResult & {
    /** r with the plain (unscaled) mean reports: the paper's published figures match this one best. */
    rUnscaledMean: number;
    /** Valid reports used (on analysed scenarios). valid + ignored + invalid = all rows. */
    validReports: number;
    invalidReports: number;
    /** Valid reports on scenarios without selections (ignored). */
    ignoredReports: number;
    /** Analysed scenarios with no valid report. */
    scenariosWithoutReports: number;
  };
  reportedVsTarget?: CorrelationResult;
  learnedVsReference?: CorrelationResult & { maxAbsDiff: number };
}

export function analyzeExperiment(input: AnalysisInput): AnalysisResult {
  const scenarioById = new Map(input.scenarios.map((s) => [s.id, s]));
  const soft = input.soft ?? false;

  // Group decisions by scenario, in order of first appearance.
  const groups = new Map<string, ScenarioDecision[]>();
  for (const d of input.selections) {
    let g = groups.get(d.scenario);
    if (!g) groups.set(d.scenario, (g = []));
    g.push(d);
  }
  if (groups.size === 0) throw new AnalysisInputError('no selections to analyse');
  const unknown = [...groups.keys()].filter((id) => !scenarioById.has(id));
  if (unknown.length > 0) {
    throw new AnalysisInputError(
      `${unknown.length} scenario(s) in the selections are not in the scenarios file: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`,
    );
  }
  if (soft) {
    const missing = input.selections.filter((d) => d.pA === undefined).length;
    if (missing > 0) throw new AnalysisInputError(`--soft needs a p_A value on every selection; ${missing} row(s) have none`);
  }

  // Reports by scenario.
  const reportsBy = new Map<string, (readonly number[])[]>();
  let ignoredReports = 0;
  for (const r of input.reports?.rows ?? []) {
    if (!groups.has(r.scenario)) {
      ignoredReports++;
      continue;
    }
    let g = reportsBy.get(r.scenario);
    if (!g) reportsBy.set(r.scenario, (g = []));
    g.push(r.report);
  }

  const perScenario: ScenarioAnalysis[] = [];
  for (const [id, decisions] of groups) {
    const attributes = scenarioById.get(id)!.attributes;
    for (const d of decisions) {
      if (d.a.length !== attributes.length || d.b.length !== attributes.length) {
        throw new AnalysisInputError(`scenario ${id}: selections have ${d.a.length} attribute values, the scenario has ${attributes.length} attributes`);
      }
    }
    const learned = learnedWeights(attributes, decisions, { ...input.fit, soft });
    const s: ScenarioAnalysis = { scenario: id, learned, reports: 0 };
    const target = input.targets?.get(id);
    if (target) {
      if (target.length !== attributes.length) {
        throw new AnalysisInputError(`scenario ${id}: ${target.length} target weights for ${attributes.length} attributes`);
      }
      s.target = target;
      s.agreement = agreementRate(attributes, target, decisions);
    }
    const reps = reportsBy.get(id);
    if (reps) {
      const bad = reps.find((r) => r.length !== attributes.length);
      if (bad) throw new AnalysisInputError(`scenario ${id}: a report has ${bad.length} weights for ${attributes.length} attributes`);
      s.reports = reps.length;
      s.reported = reportedWeights(reps);
      s.reportedMean = reportedWeights(reps, { scale: false });
    }
    perScenario.push(s);
  }

  const learnedMap = new Map(perScenario.map((s) => [s.scenario, s.learned.weights]));
  const result: AnalysisResult = {
    scenarios: perScenario,
    decisions: input.selections.length,
    soft,
    prior: {
      slope_sd: input.fit?.slopePriorSd ?? DEFAULT_SLOPE_PRIOR_SD,
      intercept_sd: input.fit?.interceptPriorSd ?? DEFAULT_INTERCEPT_PRIOR_SD,
    },
    notConverged: perScenario.filter((s) => !s.learned.converged).map((s) => s.scenario),
  };

  if (input.targets) {
    const withTarget = perScenario.filter((s) => s.target);
    result.learnedVsTarget = {
      ...correlate(withTarget.map((s) => ({ scenario: s.scenario, x: s.learned.weights, y: s.target! })), input.bootstrap),
      agreement: mergeAgreement(withTarget.map((s) => s.agreement!)),
      missingTargets: perScenario.filter((s) => !s.target).map((s) => s.scenario),
    };
  }

  if (input.reports) {
    const withReports = perScenario.filter((s) => s.reported);
    const c = correlate(withReports.map((s) => ({ scenario: s.scenario, x: s.reported!, y: s.learned.weights })), input.bootstrap);
    const unscaled = correlate(
      withReports.map((s) => ({ scenario: s.scenario, x: s.reportedMean!, y: s.learned.weights })),
      { ...input.bootstrap, resamples: 0 },
    );
    result.reportedVsLearned = {
      ...c,
      rUnscaledMean: unscaled.r,
      validReports: input.reports.rows.length - ignoredReports,
      invalidReports: input.reports.invalid,
      ignoredReports,
      scenariosWithoutReports: perScenario.length - withReports.length,
    };
    if (input.targets) {
      const both = withReports.filter((s) => s.target);
      result.reportedVsTarget = correlate(both.map((s) => ({ scenario: s.scenario, x: s.reported!, y: s.target! })), input.bootstrap);
    }
  }

  if (input.reference) {
    const pairs = pairByScenario(learnedMap, input.reference);
    let maxAbsDiff = 0;
    for (const p of pairs) {
      if (p.x.length !== p.y.length) throw new AnalysisInputError(`scenario ${p.scenario}: reference has ${p.y.length} weights for ${p.x.length} attributes`);
      p.x.forEach((v, i) => (maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - p.y[i]))));
    }
    result.learnedVsReference = { ...correlate(pairs, input.bootstrap), maxAbsDiff };
  }
  return result;
}

const round = (x: number, d = 4): number | null => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const roundPair = (p: readonly [number, number]): [number | null, number | null] => [round(p[0]), round(p[1])];

/**
 * The JSON summary (snake_case, as printed by `cli analyze --json`). Keys of
 * comparisons whose inputs were not given are omitted.
 */
export function analysisToJson(result: AnalysisResult, options: { perScenario?: boolean } = {}): Record<string, unknown> {
  const corr = (c: CorrelationResult) => ({
    r: round(c.r),
    ci: roundPair(c.ci),
    fisher_ci: roundPair(c.fisher_ci),
    n_points: c.n_points,
    n_scenarios: c.n_scenarios,
  });
  const out: Record<string, unknown> = {
    scenarios: result.scenarios.length,
    decisions: result.decisions,
    fit: {
      method: 'MAP logistic regression, P(A) = σ(b0 + Σ b_i d_i), d_i = (A_i − B_i)/(max_i − min_i)',
      targets: result.soft ? 'soft (p_A)' : 'hard (0/1 choices)',
      slope_prior_sd: result.prior.slope_sd,
      intercept_prior_sd: result.prior.intercept_sd,
      converged: result.scenarios.length - result.notConverged.length,
      not_converged: result.notConverged,
    },
  };
  const lt = result.learnedVsTarget;
  if (lt) {
    out.learned_vs_target = {
      ...corr(lt),
      agreement: round(lt.agreement.rate),
      agreement_decisions: lt.agreement.decisions,
      agreement_ties: lt.agreement.ties,
      missing_targets: lt.missingTargets.length,
    };
  }
  const rl = result.reportedVsLearned;
  if (rl) {
    out.reported_vs_learned = {
      ...corr(rl),
      r_unscaled_mean: round(rl.rUnscaledMean),
      valid_reports: rl.validReports,
      invalid_reports: rl.invalidReports,
      ignored_reports: rl.ignoredReports,
      scenarios_without_reports: rl.scenariosWithoutReports,
    };
  }
  if (result.reportedVsTarget) out.reported_vs_target = corr(result.reportedVsTarget);
  if (result.learnedVsReference) {
    out.learned_vs_reference = { ...corr(result.learnedVsReference), max_abs_diff: round(result.learnedVsReference.maxAbsDiff, 2) };
  }
  if (options.perScenario) {
    out.per_scenario = result.scenarios.map((s) => ({
      scenario: s.scenario,
      decisions: s.learned.n,
      learned: s.learned.weights.map((w) => round(w, 2)),
      coefficients: s.learned.coefficients.map((w) => round(w, 4)),
      intercept: round(s.learned.intercept),
      converged: s.learned.converged,
      ...(s.target ? { target: s.target } : {}),
      ...(s.reported ? { reported: s.reported.map((w) => round(w, 2)), reports: s.reports } : {}),
      ...(s.agreement ? { agreement: round(s.agreement.rate) } : {}),
    }));
  }
  return out;
}
