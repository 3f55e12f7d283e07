/**
 * Run → analysis: groups a RunRecord's trial results into the inputs of the
 * analysis core (src/lib/analysis) and collects what the Results view shows.
 * Pure: no DOM, no storage; the same functions run in Node tests.
 *
 * - Each decision condition gives learned weights per scenario (and learned vs
 *   target when target weights exist).
 * - Each report condition is scored against the learned weights of the
 *   decision condition it is `about`: r(reported, learned) and r(reported, target).
 * - Privileged access: a self-report condition (reporter = decider) compared with
 *   a control condition (another reporter, same decisions) on the same scenarios.
 */
import {
  analyzeExperiment,
  copyTally,
  pairedCorrelationDifference,
  type CopyTally,
  type AnalysisInput,
  type AnalysisResult,
  type CeiledCorrelation,
  type CorrelationResult,
  type PairedDifference,
  type PositionDiagnostics,
  type Reliability,
  type Sensitivity,
  type ScenarioDecision,
  type ScenarioReport,
} from '../lib/analysis';
import type { Trial } from '../lib/experiment/plan';
import type { ChatMessage } from '../lib/prompts';
import type { InvalidReason } from '../lib/reports';
import { resultsInPlanOrder, type DecisionResult, type RunRecord, type TrialResult } from '../lib/experiment/runs';
import { trialMessages } from '../lib/experiment/runner';
import { isSimulatedId, parseSimulatedId } from '../lib/experiment/simulated';
import type { DecisionCondition, ExperimentSpec, ReportCondition, ReportMode } from '../lib/experiment/spec';

export interface AnalysisOptions {
  /** Bootstrap resamples (default: the core's 2000). */
  resamples?: number;
  /** Fit P(A) instead of the 0/1 choices; unset: soft only where the hard fit is degenerate. */
  soft?: boolean;
}

const decisionConditions = (spec: ExperimentSpec) => spec.conditions.filter((c): c is DecisionCondition => c.kind === 'decisions');
const reportConditions = (spec: ExperimentSpec) => spec.conditions.filter((c): c is ReportCondition => c.kind === 'reports');


/** The decision trials of one condition as the analysis reads them (hard choice and P(A)). */
export function decisionsOf(record: RunRecord, conditionKey: string): ScenarioDecision[] {
  return resultsInPlanOrder(record)
    .filter(({ trial, result }) => trial.condition === conditionKey && result.kind === 'decision')
    .map(({ trial, result }) => {
      const r = result as DecisionResult;
      const order = trial.kind === 'decision' && trial.swapped ? { swapped: true } : {};
      return { scenario: trial.scenarioId, a: trial.a, b: trial.b, choice: r.choice, pA: r.pA, labelMass: r.labelMass, index: trial.index, ...order };
    });
}

export interface ReportTally {
  total: number;
  valid: number;
  invalid: number;
  /** invalid / total (NaN when no reports). */
  invalidRate: number;
  reasons: Partial<Record<InvalidReason, number>>;
}

/** Valid reports of one condition (weights aligned with attributes) and a tally of the invalid ones. */
export function reportsOf(record: RunRecord, conditionKey: string): { rows: ScenarioReport[]; tally: ReportTally } {
  const rows: ScenarioReport[] = [];
  const tally: ReportTally = { total: 0, valid: 0, invalid: 0, invalidRate: NaN, reasons: {} };
  for (const { trial, result } of resultsInPlanOrder(record)) {
    if (trial.condition !== conditionKey || result.kind !== 'report') continue;
    tally.total++;
    if (result.weights) {
      tally.valid++;
      rows.push({ scenario: trial.scenarioId, report: result.weights });
    } else {
      tally.invalid++;
      const reason = result.invalid?.reason ?? 'no_json';
      tally.reasons[reason] = (tally.reasons[reason] ?? 0) + 1;
    }
  }
  tally.invalidRate = tally.total ? tally.invalid / tally.total : NaN;
  return { rows, tally };
}

/**
 * How often a report condition's valid reports copy a value shown in the
 * options of their own prompt (A's or B's value of that attribute, as displayed).
 */
export function copyingOf(record: RunRecord, conditionKey: string): CopyTally {
  const attributes = new Map(record.plan.scenarios.map((p) => [p.scenario.id, p.scenario.attributes]));
  const shown = resultsInPlanOrder(record).flatMap(({ trial, result }) =>
    trial.condition === conditionKey && result.kind === 'report' && result.weights
      ? [{ report: result.weights, a: trial.a, b: trial.b, attributes: attributes.get(trial.scenarioId)! }]
      : [],
  );
  return copyTally(shown);
}

/**
 * Was this model trained on the run's target weights, so that learned vs
 * target means something? Yes for a model with an adapter, a simulated model
 * deciding by them, any model of a run whose spec gives its targets (the
 * weights an adapter or a fine-tuned model was trained on), and a "Replicate
 * the paper" step (whose check is whether the preferences took). Target
 * weights are otherwise random numbers drawn from the seed that no model has
 * seen: an untouched model's r with them is noise.
 */
export function targetsInstilled(spec: ExperimentSpec, modelKey: string): boolean {
  const m = spec.models.find((x) => x.key === modelKey);
  if (!m) return false;
  if (m.adapter || spec.scenarios.targets || spec.paperStep) return true;
  if (!isSimulatedId(m.id)) return false;
  try {
    return parseSimulatedId(m.id).weights === 'target';
  } catch {
    return false;
  }
}

/** Target weights per planned scenario. */
export function targetsOf(record: RunRecord): Map<string, number[]> {
  return new Map(record.plan.scenarios.map((p) => [p.scenario.id, p.target]));
}

/**
 * The analysis core's input for one decision condition, optionally with one
 * report condition's reports: exactly what `cli analyze` reads back from the
 * exported CSVs (scenarios.csv, selections.csv, weight_reports.csv).
 */
export function analysisInput(record: RunRecord, decisionKey: string, reportKey?: string, options: AnalysisOptions = {}): AnalysisInput {
  const input: AnalysisInput = {
    scenarios: record.plan.scenarios.map((p) => ({ id: p.scenario.id, attributes: p.scenario.attributes })),
    selections: decisionsOf(record, decisionKey),
    targets: targetsOf(record),
    soft: options.soft,
    bootstrap: options.resamples !== undefined ? { resamples: options.resamples } : undefined,
  };
  if (reportKey) {
    const { rows, tally } = reportsOf(record, reportKey);
    input.reports = { rows, invalid: tally.invalid };
  }
  return input;
}

export interface DecisionConditionAnalysis {
  key: string;
  /** Model key and id of the decider. */
  model: string;
  modelId: string;
  decisions: number;
  /** Per-scenario learned weights (scaled ±100); absent when the scenario has no decisions yet. */
  learned: Map<string, number[]>;
  vsTarget: CeiledCorrelation | null;
  /** The model was trained on the target weights (targetsInstilled): only then is vsTarget shown. */
  instilled: boolean;
  agreement: number | null;
  notConverged: string[];
  /** Do the choices depend on the attributes at all (likelihood-ratio tests against intercept-only). */
  sensitivity: Sensitivity | null;
  /** The fit the learned weights come from; the soft one replaces a degenerate hard fit. */
  fit: 'hard' | 'soft' | null;
  switchedToSoft: boolean;
  position: PositionDiagnostics | null;
  /** Split-half reliability of the learned weights. */
  reliability: Reliability | null;
  result: AnalysisResult | null;
  /** Why there is no analysis (no decisions yet, a fit failed). */
  error?: string;
}

export interface ReportConditionAnalysis {
  key: string;
  reporter: string;
  reporterId: string;
  about: string;
  mode: ReportMode;
  /** Reporter is the model whose decisions are analysed: introspection, not the control. */
  isSelf: boolean;
  /** An observer condition (shown decisions first; see ./privileged-access): neither introspection nor the control. */
  observer: boolean;
  /** Observer conditions: how many of the target's decisions the reporter was shown. */
  k?: number;
  /** Model key of the model whose decisions the reports are about. */
  target: string;
  targetId: string;
  tally: ReportTally;
  /** Valid reports' values that copy a value shown in the options. */
  copying: CopyTally;
  /** Mean valid report per scenario, scaled ±100. */
  reported: Map<string, number[]>;
  vsLearned: CeiledCorrelation | null;
  vsTarget: CeiledCorrelation | null;
  /** Split-half reliability of the mean reports. */
  reliability: Reliability | null;
  result: AnalysisResult | null;
  error?: string;
}

export interface PrivilegedAccess {
  /** The self-report condition and the control condition compared. */
  self: string;
  control: string;
  /** r2 = self, r1 = control; diff = r_self − r_control with its paired scenario-bootstrap interval. */
  diff: PairedDifference;
  verdict: 'self-better' | 'no-difference' | 'control-better' | 'undetermined';
}

export interface ScenarioDetail {
  id: string;
  question: string;
  attributes: string[];
  target: number[];
  /** By decision condition key. */
  learned: Record<string, number[] | undefined>;
  /** Raw slopes (logits per attribute range) behind `learned`, by decision condition key. */
  slopes: Record<string, number[] | undefined>;
  /** The likelihood-ratio test's p-value (choices vs intercept-only), by decision condition key. */
  lrP: Record<string, number | undefined>;
  /** By report condition key. */
  reported: Record<string, number[] | undefined>;
  decisions: number;
  reports: Record<string, number>;
}

export interface Headline {
  condition: string;
  r: number;
  ci: [number, number];
  n_points: number;
  n_scenarios: number;
}

export interface RunAnalysis {
  done: number;
  total: number;
  complete: boolean;
  decisions: DecisionConditionAnalysis[];
  reports: ReportConditionAnalysis[];
  privileged: PrivilegedAccess[];
  headline: Headline | null;
  scenarios: ScenarioDetail[];
}

const fitOf = (d: DecisionConditionAnalysis, scenarioId: string) => d.result?.scenarios.find((s) => s.scenario === scenarioId);

function modelId(spec: ExperimentSpec, key: string): string {
  return spec.models.find((m) => m.key === key)?.id ?? key;
}

function safeAnalyze(input: AnalysisInput, decided?: AnalysisResult): { result: AnalysisResult | null; error?: string } {
  if (input.selections.length === 0) return { result: null, error: 'No decision trials have finished yet.' };
  try {
    return { result: analyzeExperiment(input, decided) };
  } catch (e) {
    return { result: null, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Everything the Results view shows for a run (finished or not). */
export function analyzeRun(record: RunRecord, options: AnalysisOptions = {}): RunAnalysis {
  const spec = record.spec;
  const decisionModel = new Map(decisionConditions(spec).map((c) => [c.key, c.model]));

  // Each decision condition is fitted once; its report conditions add their reports to that fit.
  const fitted = new Map<string, { input: AnalysisInput; result: AnalysisResult | null }>();
  const decisions: DecisionConditionAnalysis[] = decisionConditions(spec).map((c) => {
    const input = analysisInput(record, c.key, undefined, options);
    const { result, error } = safeAnalyze(input);
    fitted.set(c.key, { input, result });
    return {
      key: c.key,
      model: c.model,
      modelId: modelId(spec, c.model),
      decisions: input.selections.length,
      learned: new Map(result?.scenarios.map((s) => [s.scenario, s.learned.weights]) ?? []),
      vsTarget: result?.learnedVsTarget ?? null,
      instilled: targetsInstilled(spec, c.model),
      agreement: result?.learnedVsTarget ? result.learnedVsTarget.agreement.rate : null,
      notConverged: result?.notConverged ?? [],
      fit: result ? (result.soft ? 'soft' : 'hard') : null,
      switchedToSoft: result?.switchedToSoft ?? false,
      position: result?.position ?? null,
      sensitivity: result?.sensitivity ?? null,
      reliability: result?.reliability.learned ?? null,
      result,
      ...(error ? { error } : {}),
    };
  });

  const reports: ReportConditionAnalysis[] = reportConditions(spec).map((c) => {
    const decided = fitted.get(c.about);
    const { rows, tally } = reportsOf(record, c.key);
    const input = { ...(decided?.input ?? analysisInput(record, c.about, undefined, options)), reports: { rows, invalid: tally.invalid } };
    const { result, error } = safeAnalyze(input, decided?.result ?? undefined);
    const rl = result?.reportedVsLearned;
    return {
      key: c.key,
      reporter: c.reporter,
      reporterId: modelId(spec, c.reporter),
      about: c.about,
      mode: c.mode,
      isSelf: decisionModel.get(c.about) === c.reporter && !c.observe,
      observer: !!c.observe,
      ...(c.observe ? { k: c.observe.k } : {}),
      target: decisionModel.get(c.about) ?? c.about,
      targetId: modelId(spec, decisionModel.get(c.about) ?? c.about),
      tally,
      copying: copyingOf(record, c.key),
      reported: new Map(result?.scenarios.filter((s) => s.reported).map((s) => [s.scenario, s.reported!]) ?? []),
      vsLearned: rl && rl.n_points > 0 ? rl : null,
      vsTarget: result?.reportedVsTarget && result.reportedVsTarget.n_points > 0 ? result.reportedVsTarget : null,
      reliability: result?.reliability.reported ?? null,
      result,
      ...(error ? { error } : {}),
    };
  });

  const privileged: PrivilegedAccess[] = [];
  for (const self of reports.filter((r) => r.isSelf)) {
    for (const control of reports.filter((r) => !r.isSelf && !r.observer && r.about === self.about)) {
      const learned = decisions.find((d) => d.key === self.about)?.learned ?? new Map<string, number[]>();
      const points = (rep: Map<string, number[]>) =>
        [...rep].filter(([s]) => learned.has(s)).map(([scenario, x]) => ({ scenario, x, y: learned.get(scenario)! }));
      const diff = pairedCorrelationDifference(points(control.reported), points(self.reported), {
        resamples: options.resamples,
      });
      const [lo, hi] = diff.ci;
      const verdict: PrivilegedAccess['verdict'] = !Number.isFinite(lo) || !Number.isFinite(hi)
        ? 'undetermined'
        : lo > 0 ? 'self-better' : hi < 0 ? 'control-better' : 'no-difference';
      privileged.push({ self: self.key, control: control.key, diff, verdict });
    }
  }

  const lead = reports.find((r) => r.isSelf && r.vsLearned) ?? reports.find((r) => r.vsLearned);
  const headline: Headline | null = lead?.vsLearned
    ? { condition: lead.key, r: lead.vsLearned.r, ci: lead.vsLearned.ci, n_points: lead.vsLearned.n_points, n_scenarios: lead.vsLearned.n_scenarios }
    : null;

  const counts = new Map<string, number>();
  for (const r of record.results) counts.set(r.trialId, 1);
  const scenarios: ScenarioDetail[] = record.plan.scenarios.map(({ scenario, target }) => {
    const trials = record.plan.trials.filter((t) => t.scenarioId === scenario.id && counts.has(t.id));
    return {
      id: scenario.id,
      question: scenario.question,
      attributes: scenario.attributes.map((a) => a.name),
      target,
      learned: Object.fromEntries(decisions.map((d) => [d.key, d.learned.get(scenario.id)])),
      slopes: Object.fromEntries(decisions.map((d) => [d.key, fitOf(d, scenario.id)?.learned.coefficients])),
      lrP: Object.fromEntries(decisions.map((d) => [d.key, fitOf(d, scenario.id)?.dependence.p])),
      reported: Object.fromEntries(reports.map((r) => [r.key, r.reported.get(scenario.id)])),
      decisions: trials.filter((t) => t.kind === 'decision').length,
      reports: Object.fromEntries(reports.map((r) => [r.key, trials.filter((t) => t.condition === r.key).length])),
    };
  });

  const done = new Set(record.results.map((r) => r.trialId)).size;
  return { done, total: record.plan.trials.length, complete: done === record.plan.trials.length, decisions, reports, privileged, headline, scenarios };
}

export interface ScatterPoint {
  scenario: string;
  attribute: string;
  /** Learned (or target) weight. */
  x: number;
  /** Reported weight. */
  y: number;
  condition: string;
}

/** One point per (scenario, attribute): reported (y) against learned or target (x). */
export function scatterPoints(analysis: RunAnalysis, reportKey: string, against: 'learned' | 'target'): ScatterPoint[] {
  const rep = analysis.reports.find((r) => r.key === reportKey);
  if (!rep) return [];
  const out: ScatterPoint[] = [];
  for (const s of analysis.scenarios) {
    const y = s.reported[reportKey];
    const x = against === 'learned' ? s.learned[rep.about] : s.target;
    if (!x || !y) continue;
    s.attributes.forEach((attribute, i) => out.push({ scenario: s.id, attribute, x: x[i], y: y[i], condition: reportKey }));
  }
  return out;
}

export interface TrialView {
  trial: Trial;
  result: TrialResult | null;
  messages: ChatMessage[];
}

/** A scenario's trials, in plan order, with the prompts the model saw. */
export function scenarioTrials(record: RunRecord, scenarioId: string, conditionKey?: string): TrialView[] {
  const planned = record.plan.scenarios.find((p) => p.scenario.id === scenarioId);
  if (!planned) return [];
  const byId = new Map(record.results.map((r) => [r.trialId, r]));
  return record.plan.trials
    .filter((t) => t.scenarioId === scenarioId && (!conditionKey || t.condition === conditionKey))
    .map((trial) => ({ trial, result: byId.get(trial.id) ?? null, messages: trialMessages(trial, planned, record) }));
}
