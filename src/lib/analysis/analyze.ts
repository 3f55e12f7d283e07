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
import { decisionsToFit, positionDiagnostics, type PositionDiagnostics, type PositionedDecision } from './position';
import { ceilingFor, oddEven, splitHalfReliability, type Ceiling, type Reliability } from './reliability';
import { agreementRate, mergeAgreement, type Agreement, type BootstrapOptions, type ScenarioPoints } from './stats';
import { dependenceTest, SIGNIFICANCE_LEVEL, summarizeSensitivity, type DependenceTest, type Sensitivity } from './sensitivity';
import { correlate, fitData, learnedWeights, pairByScenario, reportedWeights, type CorrelationResult, type LearnedWeights } from './weights';

export class AnalysisInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalysisInputError';
  }
}

/** A decision trial of one scenario (with its plan index and order when it comes from a run). */
export type ScenarioDecision = PositionedDecision;

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
  /**
   * Fit the model's P(A) (`pA`) instead of its 0/1 choices. Unset: the soft
   * fit when the hard one is degenerate (one label ≥ 95 %) and every decision
   * has P(A), else the hard fit. Soft fits of counterbalanced pairs use the
   * pair's debiased probability (see debiasPairs).
   */
  soft?: boolean;
  fit?: LogisticOptions;
  bootstrap?: BootstrapOptions;
}

export interface ScenarioAnalysis {
  scenario: string;
  learned: LearnedWeights;
  /** Do the choices depend on the attributes at all: the fit against intercept-only (./sensitivity). */
  dependence: DependenceTest;
  target?: readonly number[];
  /** Mean of the valid reports, scaled ±100. */
  reported?: number[];
  /** Mean of the valid reports, unscaled. */
  reportedMean?: number[];
  reports: number;
  agreement?: Agreement;
}

/** A correlation with the ceiling the two measures' reliabilities allow. */
export type CeiledCorrelation = CorrelationResult & { ceiling?: Ceiling };

export interface AnalysisResult {
  scenarios: ScenarioAnalysis[];
  decisions: number;
  soft: boolean;
  /** The soft fit was chosen because the hard one was degenerate (not asked for). */
  switchedToSoft: boolean;
  /** Position bias of the decisions (intercept: mean over scenarios of the P(A)-as-shown fit's intercept). */
  position: PositionDiagnostics;
  /** How much the choices depend on the attributes (likelihood-ratio tests, raw slopes). */
  sensitivity: Sensitivity;
  /** Split-half reliability of the learned weights and (with reports) of the mean reports. */
  reliability: { learned?: Reliability; reported?: Reliability };
  prior: { slope_sd: number; intercept_sd: number };
  notConverged: string[];
  learnedVsTarget?: CeiledCorrelation & { agreement: Agreement; missingTargets: string[] };
  reportedVsLearned?: CeiledCorrelation & {
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
  reportedVsTarget?: CeiledCorrelation;
  learnedVsReference?: CorrelationResult & { maxAbsDiff: number };
}

/**
 * `decided`: this input's analysis without reports, when the caller already has
 * it (a run analyses one decision condition against several report conditions):
 * its learned weights, their reliability and learned-vs-target are reused
 * instead of fitted again. They are exactly what this call would compute.
 */
export function analyzeExperiment(input: AnalysisInput, decided?: AnalysisResult): AnalysisResult {
  const fittedBy = decided && new Map(decided.scenarios.map((s) => [s.scenario, s]));
  const scenarioById = new Map(input.scenarios.map((s) => [s.id, s]));
  const { fit, switched, byScenario: groups } = decisionsToFit(input.selections, input.soft);
  const soft = fit === 'soft';
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
  // A half has half the data: with half the prior precision its estimate is shrunk as much as the full one.
  const halfPrior = {
    ...input.fit,
    slopePriorSd: (input.fit?.slopePriorSd ?? DEFAULT_SLOPE_PRIOR_SD) * Math.SQRT2,
    interceptPriorSd: (input.fit?.interceptPriorSd ?? DEFAULT_INTERCEPT_PRIOR_SD) * Math.SQRT2,
  };
  const intercepts: number[] = [];
  const learnedHalves: ScenarioPoints[] = [];
  const reportHalves: ScenarioPoints[] = [];
  for (const [id, decisions] of groups) {
    const attributes = scenarioById.get(id)!.attributes;
    for (const d of decisions) {
      if (d.a.length !== attributes.length || d.b.length !== attributes.length) {
        throw new AnalysisInputError(`scenario ${id}: selections have ${d.a.length} attribute values, the scenario has ${attributes.length} attributes`);
      }
    }
    const done = fittedBy?.get(id);
    const learned = done?.learned ?? learnedWeights(attributes, decisions, { ...input.fit, soft });
    const dependence = done?.dependence ?? dependenceOf(attributes, decisions, soft, input.fit);
    const s: ScenarioAnalysis = { scenario: id, learned, dependence, reports: 0 };
    intercepts.push(learned.intercept);
    // Split half: odd and even trial indices (both orders of a pair stay in one half).
    const halves = oddEven(decisions, (d, i) => d.index ?? i);
    if (!decided && halves.every((h) => h.length >= 2)) {
      const [x, y] = halves.map((h) => learnedWeights(attributes, h, { ...halfPrior, soft }).weights);
      learnedHalves.push({ scenario: id, x, y });
    }
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
      const [odd, even] = oddEven(reps);
      if (odd.length && even.length) reportHalves.push({ scenario: id, x: reportedWeights(odd), y: reportedWeights(even) });
    }
    perScenario.push(s);
  }

  const learnedMap = new Map(perScenario.map((s) => [s.scenario, s.learned.weights]));
  const reliability: AnalysisResult['reliability'] = {};
  if (decided) {
    if (decided.reliability.learned) reliability.learned = decided.reliability.learned;
  } else if (learnedHalves.length) reliability.learned = splitHalfReliability(learnedHalves, input.bootstrap);
  if (reportHalves.length) reliability.reported = splitHalfReliability(reportHalves, input.bootstrap);
  const relLearned = reliability.learned;
  const relReported = reliability.reported;
  const result: AnalysisResult = {
    scenarios: perScenario,
    decisions: input.selections.length,
    soft,
    switchedToSoft: switched,
    position: positionDiagnostics(input.selections, intercepts.reduce((t, x) => t + x, 0) / intercepts.length),
    sensitivity: decided?.sensitivity ?? summarizeSensitivity(perScenario.map((s) => ({ test: s.dependence, coefficients: s.learned.coefficients }))),
    reliability,
    prior: {
      slope_sd: input.fit?.slopePriorSd ?? DEFAULT_SLOPE_PRIOR_SD,
      intercept_sd: input.fit?.interceptPriorSd ?? DEFAULT_INTERCEPT_PRIOR_SD,
    },
    notConverged: perScenario.filter((s) => !s.learned.converged).map((s) => s.scenario),
  };

  if (decided?.learnedVsTarget) result.learnedVsTarget = decided.learnedVsTarget;
  else if (input.targets) {
    const withTarget = perScenario.filter((s) => s.target);
    const c = correlate(withTarget.map((s) => ({ scenario: s.scenario, x: s.learned.weights, y: s.target! })), input.bootstrap);
    result.learnedVsTarget = {
      ...c,
      ...(relLearned ? { ceiling: ceilingFor(c.r, relLearned) } : {}),
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
      ...(relLearned && relReported ? { ceiling: ceilingFor(c.r, relLearned, relReported) } : {}),
      rUnscaledMean: unscaled.r,
      validReports: input.reports.rows.length - ignoredReports,
      invalidReports: input.reports.invalid,
      ignoredReports,
      scenariosWithoutReports: perScenario.length - withReports.length,
    };
    if (input.targets) {
      const both = withReports.filter((s) => s.target);
      const t = correlate(both.map((s) => ({ scenario: s.scenario, x: s.reported!, y: s.target! })), input.bootstrap);
      result.reportedVsTarget = { ...t, ...(relReported ? { ceiling: ceilingFor(t.r, relReported) } : {}) };
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

function dependenceOf(
  attributes: readonly Pick<Attribute, 'min' | 'max'>[],
  decisions: readonly ScenarioDecision[],
  soft: boolean,
  fit: LogisticOptions | undefined,
): DependenceTest {
  const { X, y } = fitData(attributes, decisions, soft);
  return dependenceTest(X, y, fit);
}

/** A number as the JSON summaries print it: `d` decimals (4 by default), null when not finite. */
export const roundForJson = (x: number, d = 4): number | null => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const roundPair = (p: readonly [number, number]): [number | null, number | null] => [roundForJson(p[0]), roundForJson(p[1])];

export function positionToJson(p: PositionDiagnostics): Record<string, unknown> {
  return {
    a_rate: roundForJson(p.aRate),
    mean_p_a: roundForJson(p.meanPA),
    intercept: roundForJson(p.intercept),
    mean_label_mass: roundForJson(p.meanLabelMass),
    degenerate: p.degenerate,
    pairs: p.pairs,
  };
}

/** The sensitivity summary as `analyze --json` prints it (p-values unrounded: they can be tiny). */
export function sensitivityToJson(s: Sensitivity): Record<string, unknown> {
  return {
    lr_p_median: Number.isFinite(s.lrPMedian) ? s.lrPMedian : null,
    share_significant: roundForJson(s.shareSignificant),
    mean_abs_slope: roundForJson(s.meanAbsSlope, 6),
    significant: s.significant,
    n_scenarios: s.scenarios,
    alpha: SIGNIFICANCE_LEVEL,
    barely_responds: s.barelyResponds,
  };
}

export function reliabilityToJson(r: Reliability): Record<string, unknown> {
  return { split_half_r: roundForJson(r.halfR), reliability: roundForJson(r.reliability), ci: roundPair(r.ci), n_scenarios: r.n_scenarios };
}

export function ceilingToJson(c: Ceiling): Record<string, unknown> {
  return { ceiling: roundForJson(c.ceiling), ci: roundPair(c.ci), disattenuated_r: roundForJson(c.disattenuated), ...(c.none ? { none: c.none } : {}) };
}

/**
 * The JSON summary (snake_case, as printed by `cli analyze --json`). Keys of
 * comparisons whose inputs were not given are omitted.
 */
export function analysisToJson(result: AnalysisResult, options: { perScenario?: boolean } = {}): Record<string, unknown> {
  const corr = (c: CeiledCorrelation) => ({
    r: roundForJson(c.r),
    ci: roundPair(c.ci),
    fisher_ci: roundPair(c.fisher_ci),
    n_points: c.n_points,
    n_scenarios: c.n_scenarios,
    ...(c.ceiling ? { ceiling: ceilingToJson(c.ceiling) } : {}),
  });
  const out: Record<string, unknown> = {
    scenarios: result.scenarios.length,
    decisions: result.decisions,
    fit: {
      method: 'MAP logistic regression, P(A) = σ(b0 + Σ b_i d_i), d_i = (A_i − B_i)/(max_i − min_i)',
      targets: result.soft ? 'soft (p_A)' : 'hard (0/1 choices)',
      switched_to_soft: result.switchedToSoft,
      slope_prior_sd: result.prior.slope_sd,
      intercept_prior_sd: result.prior.intercept_sd,
      converged: result.scenarios.length - result.notConverged.length,
      not_converged: result.notConverged,
    },
    position: positionToJson(result.position),
    sensitivity: sensitivityToJson(result.sensitivity),
    reliability: {
      ...(result.reliability.learned ? { learned: reliabilityToJson(result.reliability.learned) } : {}),
      ...(result.reliability.reported ? { reported: reliabilityToJson(result.reliability.reported) } : {}),
    },
  };
  const lt = result.learnedVsTarget;
  if (lt) {
    out.learned_vs_target = {
      ...corr(lt),
      agreement: roundForJson(lt.agreement.rate),
      agreement_decisions: lt.agreement.decisions,
      agreement_ties: lt.agreement.ties,
      missing_targets: lt.missingTargets.length,
    };
  }
  const rl = result.reportedVsLearned;
  if (rl) {
    out.reported_vs_learned = {
      ...corr(rl),
      r_unscaled_mean: roundForJson(rl.rUnscaledMean),
      valid_reports: rl.validReports,
      invalid_reports: rl.invalidReports,
      ignored_reports: rl.ignoredReports,
      scenarios_without_reports: rl.scenariosWithoutReports,
    };
  }
  if (result.reportedVsTarget) out.reported_vs_target = corr(result.reportedVsTarget);
  if (result.learnedVsReference) {
    out.learned_vs_reference = { ...corr(result.learnedVsReference), max_abs_diff: roundForJson(result.learnedVsReference.maxAbsDiff, 2) };
  }
  if (options.perScenario) {
    out.per_scenario = result.scenarios.map((s) => ({
      scenario: s.scenario,
      decisions: s.learned.n,
      learned: s.learned.weights.map((w) => roundForJson(w, 2)),
      coefficients: s.learned.coefficients.map((w) => roundForJson(w, 4)),
      intercept: roundForJson(s.learned.intercept),
      lr_p: s.dependence.p,
      converged: s.learned.converged,
      ...(s.target ? { target: s.target } : {}),
      ...(s.reported ? { reported: s.reported.map((w) => roundForJson(w, 2)), reports: s.reports } : {}),
      ...(s.agreement ? { agreement: roundForJson(s.agreement.rate) } : {}),
    }));
  }
  return out;
}
