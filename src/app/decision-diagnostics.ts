/**
 * What the Results view says about a decision condition's diagnostics: the
 * position-bias warning in words, which fit a figure comes from, and the
 * reliability ceiling next to an r. Pure, so Node tests check the same words.
 */
import { COPY_WARN_SHARE, SIGNIFICANCE_LEVEL, type Ceiling, type CeiledCorrelation, type PositionDiagnostics } from '../lib/analysis';
import type { DecisionConditionAnalysis, ReportConditionAnalysis, RunAnalysis } from './run-analysis';
import { formatR } from './format';

const pct = (x: number): string => `${Math.round(100 * x)} %`;
const f2 = (x: number): string => (Number.isFinite(x) ? formatR(x) : '–');
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');

/** Which fit learned weights come from, in words. */
export function fitLabel(fit: 'hard' | 'soft' | null): string {
  return fit === 'soft' ? 'soft fit (P(A))' : fit === 'hard' ? 'hard fit (0/1 choices)' : 'no fit yet';
}

/**
 * The warning when one label takes ≥ 95 % of the hard choices, or null. It
 * says what happened, why it matters and what the lab did about it.
 */
export function positionWarning(d: Pick<DecisionConditionAnalysis, 'position' | 'fit' | 'switchedToSoft'>): string | null {
  const p: PositionDiagnostics | null = d.position;
  if (!p?.degenerate) return null;
  const label = p.aRate >= 0.5 ? 'A' : 'B';
  const share = p.aRate >= 0.5 ? p.aRate : 1 - p.aRate;
  const what = `The model answered "${label}" in ${pct(share)} of its decisions, whatever the options: its 0/1 choices say almost nothing about its weights.`;
  const done = d.switchedToSoft
    ? p.pairs > 0
      ? ' Learned weights here come from the soft fit, which reads P(A) instead, with the bias removed by comparing each pair’s two orders.'
      : ' Learned weights here come from the soft fit, which reads P(A) instead.'
    : d.fit === 'soft'
      ? ''
      : ' Its P(A) is not known, so the hard fit is all there is: treat its learned weights with care.';
  const fix = p.pairs > 0 ? '' : ' Counterbalancing (each pair also shown swapped) removes this bias from the soft fit.';
  return what + done + fix;
}

/** Below this many decisions per scenario (both orders counted) a weak dependence can go unseen. */
const FEW_DECISIONS = 40;

/** A p-value in words: ".62", "< .001". */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  if (p < 0.001) return '< .001';
  return p.toFixed(p < 0.01 ? 3 : 2).replace(/^0/, '');
}

/** "3 of 10 scenarios (p < .05), median p .62": the likelihood-ratio tests of a condition in short. */
export function sensitivityText(d: Pick<DecisionConditionAnalysis, 'sensitivity'>): string | null {
  const s = d.sensitivity;
  if (!s || !s.scenarios) return null;
  return `${s.significant} of ${s.scenarios} scenarios (p < ${formatP(SIGNIFICANCE_LEVEL)}), median p ${formatP(s.lrPMedian)}`;
}

/**
 * The warning when a condition's choices are not distinguishable from
 * choices that ignore the attributes in most scenarios, or null. It starts
 * with the plain statement, then the evidence and what it means for the
 * ±100 weights.
 */
export function sensitivityWarning(d: Pick<DecisionConditionAnalysis, 'sensitivity' | 'fit' | 'decisions'>): string | null {
  const s = d.sensitivity;
  if (!s?.barelyResponds) return null;
  const perScenario = s.scenarios ? d.decisions / s.scenarios : NaN;
  const onWhat = d.fit === 'soft' ? '; tested on its P(A), read as one choice drawn per trial' : '';
  const inHowMany = s.significant ? `In only ${s.significant} of ${s.scenarios} scenarios do` : `In none of the ${s.scenarios} scenarios do`;
  return (
    "This model's choices barely depend on the attributes: its learned weights are mostly noise. " +
    `${inHowMany} its choices depend on the attributes more than chance allows ` +
    `(likelihood-ratio test against a model without attributes, p < ${formatP(SIGNIFICANCE_LEVEL)}; median p ${formatP(s.lrPMedian)}${onWhat}). ` +
    `Its raw slopes average ${f3(s.meanAbsSlope)} logits per attribute range: the ±100 scaling makes them look as large as any model's, ` +
    'and any r computed from its learned weights compares with noise.' +
    (perScenario < FEW_DECISIONS ? ` With ${Math.round(perScenario)} decisions per scenario a weak dependence could also go unseen: more decisions per scenario would tell.` : '')
  );
}

/** The warning when a report condition's reports copy the numbers shown in the options, or null. */
export function copyingWarning(r: Pick<ReportConditionAnalysis, 'copying'>): string | null {
  const c = r.copying;
  if (!c.values || !(c.share >= COPY_WARN_SHARE)) return null;
  return (
    `${pct(c.share)} of the reported weights (${c.copied} of ${c.values}) copy a number shown in the options ` +
    "(option A's or B's value of that attribute): the model repeats the prompt instead of describing its weights, so these reports say little about them."
  );
}

/** "ceiling 0.92 [0.88, 0.95], disattenuated r 0.97" for an r shown next to it, or why there is none. */
export function ceilingText(c: Ceiling | undefined): string | null {
  if (c?.none) return c.none;
  if (!c || !Number.isFinite(c.ceiling)) return null;
  // r ÷ √reliability can exceed 1 by sampling noise; a correlation cannot, so show it capped and say so.
  const d = c.disattenuated;
  const shown = Number.isFinite(d) && d > 1 ? `1.00 (capped: r is at its ceiling, ${f2(d)} before capping is noise)` : f2(d);
  return `ceiling ${f2(c.ceiling)} [${f2(c.ci[0])}, ${f2(c.ci[1])}], disattenuated r ${shown}`;
}

/** One r the Results view shows, with the fit its learned weights come from and its ceiling. */
export interface RRow {
  key: string;
  /** "learned vs target", "reported vs learned", "reported vs target". */
  comparison: string;
  /** The condition whose figure it is (decision or report condition key). */
  condition: string;
  r: number;
  ci: [number, number];
  /** The fit behind the learned weights in it; null when none is (reported vs target). */
  fit: 'hard' | 'soft' | null;
  ceiling?: Ceiling;
  /** An observer condition's row (the Results page folds these away: their curve is in the privileged-access section). */
  observer?: boolean;
}

/**
 * Every r of a run, in the order the view lists them. Comparisons with the
 * target weights only for models trained on them (see targetsInstilled).
 */
export function rRows(a: RunAnalysis): RRow[] {
  const rows: RRow[] = [];
  const row = (key: string, comparison: string, condition: string, c: CeiledCorrelation, fit: RRow['fit'], observer = false) =>
    rows.push({ key, comparison, condition, r: c.r, ci: c.ci, fit, ...(c.ceiling ? { ceiling: c.ceiling } : {}), ...(observer ? { observer } : {}) });
  for (const d of a.decisions) if (d.vsTarget && d.instilled) row(`${d.key}/target`, 'learned vs target', d.key, d.vsTarget, d.fit);
  for (const r of a.reports) {
    const about = a.decisions.find((d) => d.key === r.about);
    const fit = about?.fit ?? null;
    if (r.vsLearned) row(`${r.key}/learned`, 'reported vs learned', r.key, r.vsLearned, fit, r.observer);
    if (r.vsTarget && about?.instilled) row(`${r.key}/target`, 'reported vs target', r.key, r.vsTarget, null, r.observer);
  }
  return rows;
}
