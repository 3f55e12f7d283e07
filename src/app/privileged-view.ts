/**
 * PrivilegedAccess (the `privileged_access` section of `cli analyze --run --json`) →
 * the rows the Results page draws: heatmap cells, observer curves, grouped bars,
 * the verdict panel, and the CSV exports. Pure: the same functions run in Node tests.
 *
 * Simulated models are a teaching and testing tool: every label made here says
 * "simulated", so every chart, table and export that shows one says it too.
 */
import Papa from 'papaparse';
import type { PAMatrixCell, PAObserverPoint, PAVerdict, PAWorth, PrivilegedAccess } from '../lib/analysis/privileged-types';
import type { RunAnalysis } from './run-analysis';
import type { DecisionCondition, ExperimentSpec, ReportCondition } from '../lib/experiment/spec';
import { formatR as fmt } from './format';
import { modelLabel } from './privileged-access';

/** Okabe–Ito: distinguishable under the common colour-vision deficiencies. */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442'];
/** The statistical observer's line: the text colour (black, or white in the dark theme), dashed in the chart. */
export const STAT_COLOR = 'var(--text)';
/**
 * The self-report band in an observer chart: a neutral grey, not the target's colour, because the
 * target's own self-observation curve already wears that colour in the same chart.
 */
export const BAND_COLOR = '#7a7a7a';
/** Marker shapes (d3 symbol names), one per curve in a chart, so curves that meet stay told apart. */
export const CURVE_SHAPES = ['circle', 'square', 'triangle', 'diamond', 'star', 'wye', 'cross'] as const;
export type CurveShape = (typeof CURVE_SHAPES)[number];

export { modelLabel };

export interface ModelInfo {
  label: (key: string) => string;
  simulated: (key: string) => boolean;
  /** One Okabe–Ito colour per model, the same in every chart. */
  color: (key: string) => string;
}

export function modelInfo(pa: PrivilegedAccess): ModelInfo {
  const byKey = new Map(pa.models.map((m, i) => [m.key, { m, i }]));
  return {
    label: (key) => {
      const e = byKey.get(key);
      return e ? modelLabel(e.m) : key;
    },
    simulated: (key) => byKey.get(key)?.m.simulated ?? false,
    color: (key) => OKABE_ITO[(byKey.get(key)?.i ?? 0) % OKABE_ITO.length],
  };
}

/** Whether a model makes decisions of its own (absent in older exports: yes). A control that only reports is a reporter only. */
const decides = (m: PrivilegedAccess['models'][number]) => m.decides !== false;

/** The models that are targets: those that make decisions of their own. */
export function targetKeys(pa: PrivilegedAccess): string[] {
  return pa.models.filter(decides).map((m) => m.key);
}

/** The models that only report (Classroom's control): rows of the matrix, never targets. */
export function reportersOnly(pa: PrivilegedAccess): PrivilegedAccess['models'] {
  return pa.models.filter((m) => !decides(m));
}

/** A matrix cell as drawn (r NaN and n 0 where the analysis has none yet). */
export interface HeatCell extends PAMatrixCell {
  /** Either model is simulated. */
  simulated: boolean;
  /** What hover and focus show. */
  title: string;
}

/**
 * The reporter × target matrix, every cell present (NaN where the analysis has none yet), in the
 * spec's model order: a row per model, a column per target (a report-only control has no column).
 */
export function heatmapCells(pa: PrivilegedAccess): { keys: string[]; targets: string[]; cells: HeatCell[] } {
  const info = modelInfo(pa);
  const keys = pa.models.map((m) => m.key);
  const targets = targetKeys(pa);
  const cells: HeatCell[] = [];
  for (const reporter of keys)
    for (const target of targets) {
      const c = pa.matrix.find((x) => x.reporter === reporter && x.target === target);
      const r = c?.r ?? NaN;
      const ci: [number, number] = c?.ci ?? [NaN, NaN];
      const n = c?.n_points ?? 0;
      const self = reporter === target;
      cells.push({
        reporter,
        target,
        r,
        ci,
        n_points: n,
        self,
        simulated: info.simulated(reporter) || info.simulated(target),
        title: `${info.label(reporter)} describing ${self ? 'itself' : info.label(target)}: r = ${fmt(r)}, 95 % interval ${fmt(ci[0])} to ${fmt(ci[1])}, n = ${n}`,
      });
    }
  return { keys, targets, cells };
}

export interface CurvePoint {
  k: number;
  r: number;
  ci: [number, number];
}

export interface CurveSeries {
  key: string;
  label: string;
  kind: 'observer' | 'statistical';
  color: string;
  /** Its markers' shape: no two curves of a chart share one. */
  shape: CurveShape;
  simulated: boolean;
  points: CurvePoint[];
}

/** Where two or more curves of a chart lie on top of each other: drawn side by side and said under the chart. */
export interface CurveOverlap {
  k: number;
  labels: string[];
}

export interface SelfBand {
  key: string;
  label: string;
  r: number;
  ci: [number, number];
  color: string;
}

export interface ObserverChart {
  target: string;
  targetLabel: string;
  ks: number[];
  series: CurveSeries[];
  /** The target's self-report r (the diagonal cell) as a band across k. */
  band: SelfBand | null;
  worth: PAWorth | null;
  overlaps: CurveOverlap[];
}

/** Points closer than this in r are hard to tell apart at the chart's size (about 3 px of 320). */
const OVERLAP_R = 0.02;

/** The overlaps in words: one sentence per set of curves, naming every k where they meet. */
export function overlapSentences(overlaps: CurveOverlap[]): string[] {
  const byCurves = new Map<string, { labels: string[]; ks: number[] }>();
  for (const o of overlaps) {
    const labels = [...o.labels].sort();
    const id = labels.join('\u0000');
    const g = byCurves.get(id) ?? { labels, ks: [] };
    g.ks.push(o.k);
    byCurves.set(id, g);
  }
  const list = (ks: number[]) => (ks.length === 1 ? `${ks[0]}` : `${ks.slice(0, -1).join(', ')} and ${ks[ks.length - 1]}`);
  return [...byCurves.values()].map((g) => `At k = ${list(g.ks)} these curves lie on top of each other (drawn side by side): ${g.labels.join('; ')}.`);
}

/** Per k, the groups of curves whose points lie within OVERLAP_R of each other. */
export function curveOverlaps(series: CurveSeries[]): CurveOverlap[] {
  const ks = [...new Set(series.flatMap((s) => s.points.map((p) => p.k)))].sort((a, b) => a - b);
  const out: CurveOverlap[] = [];
  for (const k of ks) {
    const at = series
      .flatMap((s) => s.points.filter((p) => p.k === k && Number.isFinite(p.r)).map((p) => ({ label: s.label, r: p.r })))
      .sort((a, b) => a.r - b.r);
    let group: typeof at = [];
    const flush = () => {
      if (group.length > 1) out.push({ k, labels: group.map((g) => g.label) });
      group = [];
    };
    for (const p of at) {
      if (group.length && p.r - group[group.length - 1].r > OVERLAP_R) flush();
      group.push(p);
    }
    flush();
  }
  return out;
}

const byK = (a: { k: number }, b: { k: number }) => a.k - b.k;

/** One chart per target: r against k for each observer of it and the statistical observer. */
export function observerCharts(pa: PrivilegedAccess): ObserverChart[] {
  const info = modelInfo(pa);
  return targetKeys(pa).map((target) => {
    const obs = pa.observers.filter((o) => o.target === target);
    const reporters = [...new Set(obs.map((o) => o.reporter))];
    const series: CurveSeries[] = reporters.map((reporter, i) => ({
      key: `obs:${reporter}`,
      label: `${reporter === target ? 'Self-observation' : 'Observer'}: ${info.label(reporter)}`,
      kind: 'observer',
      color: info.color(reporter),
      shape: CURVE_SHAPES[i % CURVE_SHAPES.length],
      simulated: info.simulated(reporter),
      points: obs.filter((o) => o.reporter === reporter).sort(byK).map(({ k, r, ci }) => ({ k, r, ci })),
    }));
    const stat = pa.statistical_observer.filter((s) => s.target === target).sort(byK);
    if (stat.length)
      series.push({
        key: 'stat',
        label: 'Statistical observer (logistic regression)',
        kind: 'statistical',
        color: STAT_COLOR,
        shape: CURVE_SHAPES[reporters.length % CURVE_SHAPES.length],
        simulated: false,
        points: stat.map(({ k, r, ci }) => ({ k, r, ci })),
      });
    const self = pa.matrix.find((c) => c.reporter === target && c.target === target);
    const ks = [...new Set([...obs, ...stat].map((p) => p.k))].sort((a, b) => a - b);
    return {
      target,
      targetLabel: info.label(target),
      ks,
      series,
      band: self ? { key: `self:${target}`, label: `Self-report: ${info.label(target)}`, r: self.r, ci: self.ci, color: BAND_COLOR } : null,
      worth: pa.worth.find((w) => w.target === target) ?? null,
      overlaps: curveOverlaps(series),
    };
  });
}

export interface GroupBar {
  key: string;
  reporter: string;
  label: string;
  r: number;
  ci: [number, number];
  self: boolean;
  color: string;
}

export interface BarGroup {
  target: string;
  label: string;
  bars: GroupBar[];
}

/** Per target: the self-report first, then each other reporter (spec order). */
export function barGroups(pa: PrivilegedAccess): BarGroup[] {
  const info = modelInfo(pa);
  return targetKeys(pa).map((target) => {
    const cells = pa.matrix.filter((c) => c.target === target);
    const ordered = [...cells.filter((c) => c.self), ...cells.filter((c) => !c.self)];
    return {
      target,
      label: info.label(target),
      bars: ordered.map((c) => ({
        key: `${c.reporter}>${target}`,
        reporter: c.reporter,
        label: `${c.self ? 'Self' : 'Other'}: ${info.label(c.reporter)}`,
        r: c.r,
        ci: c.ci,
        self: c.self,
        color: info.color(c.reporter),
      })),
    };
  });
}

export interface VerdictRow {
  target: string;
  label: string;
  verdict: PAVerdict | null;
  /** The closest other (the comparison that decides) in words: a model's label, an observer at k, or the statistical observer at k. */
  bestOther: string | null;
  /** r(learned) between the target and each other model: the common-sense baseline. */
  commonSense: Array<{ other: string; label: string; r: number }>;
  partial: { self_r: number; self_r_partial: number | null } | null;
  worth: PAWorth | null;
}

/** Names the best-other key the analysis gives: a model key, "obs:<reporter>@k" or "stat@k". */
export function describeOther(key: string | null, info: ModelInfo): string | null {
  if (key === null) return null;
  const obs = /^obs:(.+)@(\d+)$/.exec(key);
  if (obs) return `${info.label(obs[1])} observing ${obs[2]} decisions`;
  const stat = /^stat@(\d+)$/.exec(key);
  if (stat) return `the statistical observer with ${stat[1]} decisions`;
  return info.label(key);
}

export function verdictRows(pa: PrivilegedAccess): VerdictRow[] {
  const info = modelInfo(pa);
  return targetKeys(pa).map((target) => {
    const verdict = pa.verdicts.find((v) => v.target === target) ?? null;
    const p = pa.partial.find((x) => x.target === target);
    return {
      target,
      label: info.label(target),
      verdict,
      bestOther: describeOther(verdict?.best_other ?? null, info),
      commonSense: pa.common_sense
        .filter((c) => c.a === target || c.b === target)
        .map((c) => {
          const other = c.a === target ? c.b : c.a;
          return { other, label: info.label(other), r: c.r };
        }),
      partial: p ? { self_r: p.self_r, self_r_partial: p.self_r_partial } : null,
      worth: pa.worth.find((w) => w.target === target) ?? null,
    };
  });
}

/**
 * A verdict card's answer in one or two plain sentences, each number once. Never claims the
 * self-report is worth N observed decisions when another description beats it.
 */
export function verdictSentence(row: VerdictRow): string {
  const v = row.verdict;
  if (!v || v.verdict === 'undetermined' || v.best_other_r === null || v.self_r_paired === null)
    return `${row.label}: not enough data yet to say whether it knows itself best.`;
  const self = fmt(v.self_r_paired);
  const other = `${row.bestOther ?? 'another description'} (r = ${fmt(v.best_other_r)})`;
  if (v.verdict === 'shown') return `${row.label} described its own choices better than anyone else could (r = ${self}; closest: ${other}): privileged access shown.`;
  if (v.best_other_r >= v.self_r_paired)
    return `${row.label}'s self-report (r = ${self}) was matched or beaten by ${other}: privileged access not shown.`;
  return `${row.label}'s self-report (r = ${self}) was ahead of ${other}, but not clearly enough on these scenarios: privileged access not shown.`;
}

/** The "worth N observed decisions" sentence only where no other description beats the self-report. */
export function consistentWorth(row: VerdictRow): PAWorth | null {
  const v = row.verdict;
  if (!row.worth || !v) return null;
  if (v.best_other_r !== null && v.self_r_paired !== null && v.best_other_r >= v.self_r_paired) return null;
  return row.worth;
}

export interface ScatterCell {
  x: number;
  y: number;
  scenario: string;
  attribute: string;
}

/**
 * The points behind one matrix cell: the reporter's reported weights (its
 * self-report prompt, not an observer condition: the introspection prompt does
 * not depend on the target, so it serves every column) against the target's
 * learned weights (its decisions, not an example pool), per (scenario, attribute).
 * A spec with one such report condition per reporter (every preset) gives
 * exactly the cell's points; with several, the first is shown.
 */
export function cellScatter(spec: ExperimentSpec, analysis: RunAnalysis, reporter: string, target: string): ScatterCell[] {
  const decides = spec.conditions.find((c): c is DecisionCondition => c.kind === 'decisions' && c.model === target && c.pool === undefined);
  const reports = spec.conditions.find((c): c is ReportCondition => c.kind === 'reports' && c.reporter === reporter && c.observe === undefined);
  const rep = analysis.reports.find((r) => r.key === reports?.key);
  const dec = analysis.decisions.find((d) => d.key === decides?.key);
  if (!rep || !dec) return [];
  const out: ScatterCell[] = [];
  for (const s of analysis.scenarios) {
    const y = rep.reported.get(s.id);
    const x = dec.learned.get(s.id);
    if (!x || !y) continue;
    s.attributes.forEach((attribute, i) => out.push({ x: x[i], y: y[i], scenario: s.id, attribute }));
  }
  return out;
}

const csv = (fields: string[], data: unknown[][]) => Papa.unparse({ fields, data }, { newline: '\n' }) + '\n';
/** Full precision in files (the lab and the CLI must agree to 1e-9); empty for a missing number. */
const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(v));
const yes = (b: boolean) => (b ? 'yes' : 'no');

/** The reporter × target matrix as CSV, one row per cell. */
export function matrixCsv(pa: PrivilegedAccess): string {
  const info = modelInfo(pa);
  const rows = heatmapCells(pa).cells.map((c) => [
    c.reporter, info.label(c.reporter), yes(info.simulated(c.reporter)),
    c.target, info.label(c.target), yes(info.simulated(c.target)),
    num(c.r), num(c.ci[0]), num(c.ci[1]), c.n_points, yes(c.self),
  ]);
  return csv(['reporter', 'reporter_label', 'reporter_simulated', 'target', 'target_label', 'target_simulated', 'r', 'ci_low', 'ci_high', 'n_points', 'self'], rows);
}

/** Observer curves (each observer and the statistical observer) as CSV. */
export function observersCsv(pa: PrivilegedAccess): string {
  const info = modelInfo(pa);
  const obs = (o: PAObserverPoint) => [
    'observer', o.reporter, info.label(o.reporter), yes(info.simulated(o.reporter)), o.target, info.label(o.target), yes(info.simulated(o.target)),
    o.k, num(o.r), num(o.ci[0]), num(o.ci[1]), o.n_points,
  ];
  const rows = [
    ...pa.observers.map(obs),
    ...pa.statistical_observer.map((s) => [
      'statistical', '', 'Statistical observer', 'no', s.target, info.label(s.target), yes(info.simulated(s.target)),
      s.k, num(s.r), num(s.ci[0]), num(s.ci[1]), '',
    ]),
  ];
  return csv(['kind', 'reporter', 'reporter_label', 'reporter_simulated', 'target', 'target_label', 'target_simulated', 'k', 'r', 'ci_low', 'ci_high', 'n_points'], rows);
}

/** Verdicts with the common-sense baseline, as CSV. */
export function verdictsCsv(pa: PrivilegedAccess): string {
  const info = modelInfo(pa);
  const rows = verdictRows(pa).map((v) => [
    v.target, v.label, yes(info.simulated(v.target)),
    num(v.verdict?.self_r), v.verdict?.best_other ?? '', num(v.verdict?.best_other_r), num(v.verdict?.self_r_paired), v.verdict?.n_scenarios ?? '',
    num(v.verdict?.diff), num(v.verdict?.ci?.[0]), num(v.verdict?.ci?.[1]), v.verdict?.comparisons.length ?? 0, v.verdict?.verdict ?? 'undetermined',
    num(v.partial?.self_r_partial), num(v.worth?.k_star), v.worth?.relation ?? '', v.verdict?.why ?? '',
  ]);
  // best_other_r, self_r_paired and diff come from the same n_scenarios; comparisons: how many others self had to beat.
  return csv(
    [
      'target', 'target_label', 'target_simulated', 'self_r', 'best_other', 'best_other_r', 'self_r_paired', 'n_scenarios',
      'diff', 'ci_low', 'ci_high', 'comparisons', 'verdict', 'self_r_partial', 'k_star', 'worth_relation', 'why',
    ],
    rows,
  );
}
