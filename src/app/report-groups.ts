/**
 * Report conditions grouped the way the Results page shows them on runs with
 * several models: by target (the model whose decisions are described), then by
 * kind — self-report, cross-report, observer shown k decisions. Observers have
 * their own curve in the privileged-access section, so the older views list
 * self and cross reports one by one and summarise observers (one row per
 * reporter and target). Runs with one self-report and one control keep their
 * flat layout and labels. Pure: tested in Node.
 */
import type { ReportConditionAnalysis, ReportTally, RunAnalysis } from './run-analysis';
import { shortModelName } from './format';

export type ReportKind = 'self' | 'cross' | 'observer';

export function reportKind(r: ReportConditionAnalysis): ReportKind {
  return r.observer ? 'observer' : r.isSelf ? 'self' : 'cross';
}

/** More than the paper's one self-report + one control: observers, or reports about more than one model. */
export function isSeveral(a: Pick<RunAnalysis, 'reports'>): boolean {
  return a.reports.some((r) => r.observer) || new Set(a.reports.map((r) => r.target)).size > 1;
}

/** The flat label of the paper's layout ("Self-report: X", "Control: Y"). */
export function flatLabel(r: ReportConditionAnalysis): string {
  return `${r.isSelf ? 'Self-report' : 'Control'}: ${shortModelName(r.reporterId)}`;
}

/** A label that says who reports on whom, for runs with several models. */
export function groupedLabel(r: ReportConditionAnalysis): string {
  const reporter = shortModelName(r.reporterId);
  if (r.observer) return `Observer ${reporter} shown ${r.k ?? '?'} of ${shortModelName(r.targetId)}'s decisions`;
  return r.isSelf ? `Self-report: ${reporter}` : `Cross-report: ${reporter} on ${shortModelName(r.targetId)}`;
}

export function conditionLabel(r: ReportConditionAnalysis, several: boolean): string {
  return several ? groupedLabel(r) : flatLabel(r);
}

/** Observer conditions of one reporter about one target, every k together. */
export interface ObserverSummary {
  reporter: string;
  reporterId: string;
  target: string;
  targetId: string;
  ks: number[];
  keys: string[];
  mode: string;
  /** The tallies of every k added up. */
  tally: ReportTally;
}

export interface ReportGroup {
  target: string;
  targetId: string;
  /** Self-report first, then cross-reports, in the spec's order. */
  reports: ReportConditionAnalysis[];
  observers: ObserverSummary[];
}

function addTallies(ts: ReportTally[]): ReportTally {
  const total = ts.reduce((s, t) => s + t.total, 0);
  const invalid = ts.reduce((s, t) => s + t.invalid, 0);
  const reasons: ReportTally['reasons'] = {};
  for (const t of ts) for (const [k, n] of Object.entries(t.reasons) as Array<[keyof ReportTally['reasons'], number]>) reasons[k] = (reasons[k] ?? 0) + n;
  return { total, valid: ts.reduce((s, t) => s + t.valid, 0), invalid, invalidRate: total ? invalid / total : NaN, reasons };
}

/** The report conditions by target (in the order targets first appear), each with its observers summarised. */
export function reportGroups(a: Pick<RunAnalysis, 'reports'>): ReportGroup[] {
  const groups = new Map<string, ReportGroup>();
  for (const r of a.reports) {
    let g = groups.get(r.target);
    if (!g) groups.set(r.target, (g = { target: r.target, targetId: r.targetId, reports: [], observers: [] }));
    if (!r.observer) g.reports.push(r);
  }
  const rank = (r: ReportConditionAnalysis) => (r.isSelf ? 0 : 1);
  for (const g of groups.values()) {
    g.reports.sort((x, y) => rank(x) - rank(y));
    const byReporter = new Map<string, ReportConditionAnalysis[]>();
    for (const r of a.reports.filter((r) => r.observer && r.target === g.target)) byReporter.set(r.reporter, [...(byReporter.get(r.reporter) ?? []), r]);
    for (const rs of byReporter.values()) {
      rs.sort((x, y) => (x.k ?? 0) - (y.k ?? 0));
      g.observers.push({
        reporter: rs[0].reporter,
        reporterId: rs[0].reporterId,
        target: g.target,
        targetId: g.targetId,
        ks: rs.map((r) => r.k ?? 0),
        keys: rs.map((r) => r.key),
        mode: [...new Set(rs.map((r) => r.mode))].join(', '),
        tally: addTallies(rs.map((r) => r.tally)),
      });
    }
  }
  return [...groups.values()];
}

/** "k = 0, 2, 5" (or "k = 0 … 20" when long). */
export function kList(ks: number[]): string {
  return ks.length > 4 ? `k = ${ks[0]} … ${ks[ks.length - 1]} (${ks.length} values)` : `k = ${ks.join(', ')}`;
}
