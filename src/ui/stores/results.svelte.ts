/** What the Results view is showing: the comparison axis, the drilled-down scenario. */
import { library } from './library.svelte';
import { scatterPoints, scenarioTrials, type ReportConditionAnalysis } from '../../app/run-analysis';
import type { Bar, Series } from '../chart-types';
import { paperMarks } from '../../lib/experiment/paper-figures';
import { shortModelName } from '../../app/format';
import { modelWithAdapterName } from '../../app/adapters';
import { OKABE_ITO } from '../../app/privileged-view';
import { conditionLabel as labelOf, isSeveral, reportGroups } from '../../app/report-groups';

export const COLORS = { self: 'var(--self)', control: 'var(--control)', target: 'var(--target)' };

/** A report condition's label: the paper's flat one, or who reports on whom on runs with several models. */
export function conditionLabel(r: ReportConditionAnalysis): string {
  if (library.analysis && isSeveral(library.analysis)) return labelOf(r, true);
  // Base and base + adapter share an id: name the adapter.
  const model = library.record?.spec.models.find((m) => m.key === r.reporter);
  // In-context conditions share the reporter: say how many self-reports were shown.
  const shown = library.record?.spec.conditions.find((c) => c.key === r.key);
  const k = shown?.kind === 'reports' && shown.examples ? ` (${shown.examples.k} shown)` : '';
  return `${r.isSelf ? 'Self-report' : 'Control'}${k}: ${model ? modelWithAdapterName(model, shortModelName) : shortModelName(r.reporterId)}`;
}

class ResultsStore {
  against = $state<'learned' | 'target'>('learned');
  scenario = $state<string | null>(null);
  trialFilter = $state<string>('');

  /** Observers, reports about several models: the grouped layout (observers summarised; their curve is in the privileged-access section). */
  several = $derived(library.analysis ? isSeveral(library.analysis) : false);

  series = $derived.by<Series[]>(() => {
    const a = library.analysis;
    if (!a) return [];
    const models = library.record?.spec.models.map((m) => m.key) ?? [];
    return a.reports.filter((r) => !r.observer).map((r) => ({
      key: r.key,
      label: conditionLabel(r),
      // Several models: one Okabe–Ito colour per reporter, as in the privileged-access charts.
      color: this.several ? OKABE_ITO[Math.max(0, models.indexOf(r.reporter)) % OKABE_ITO.length] : r.isSelf ? COLORS.self : COLORS.control,
      points: scatterPoints(a, r.key, this.against).map((p) => ({
        x: p.x,
        y: p.y,
        title: `${p.scenario} · ${p.attribute}: ${this.against} ${p.x.toFixed(0)}, reported ${p.y.toFixed(0)}`,
      })),
    }));
  });

  bars = $derived.by<Bar[]>(() => {
    const a = library.analysis;
    if (!a) return [];
    // A run of a "Replicate the paper" step: the paper's figures as marks (self-reports vs learned; learned vs target).
    const step = library.record?.spec.paperStep;
    const phase = library.record?.spec.paperPhase;
    const bar = (r: ReportConditionAnalysis, label: string, group?: string): Bar => {
      const c = this.against === 'learned' ? r.vsLearned : r.vsTarget;
      const marks = step && r.isSelf && !r.observer && this.against === 'learned' ? paperMarks(step, 'self', phase) : undefined;
      return { key: r.key, label, r: c?.r ?? NaN, ci: c?.ci ?? [NaN, NaN], color: r.isSelf ? COLORS.self : COLORS.control, ceiling: c?.ceiling?.ceiling, ...(group ? { group } : {}), ...(marks ? { marks } : {}) };
    };
    // Learned vs target only for a model trained on the target weights: for any other they are random numbers it never saw.
    const targetBar = (d: (typeof a.decisions)[number], group?: string, label = 'Learned vs target'): Bar | null =>
      d.vsTarget && d.instilled
        ? { key: `${d.key}-target`, label, r: d.vsTarget.r, ci: d.vsTarget.ci, color: COLORS.target, ceiling: d.vsTarget.ceiling?.ceiling, ...(group ? { group } : {}), ...(step ? { marks: paperMarks(step, 'learned-vs-target') } : {}) }
        : null;
    if (!this.several) return [...a.reports.map((r) => bar(r, conditionLabel(r))), ...a.decisions.map((d) => targetBar(d)).filter((b) => b !== null)];
    // Several models: one group per target — its self-report, the cross-reports on it, its learned vs target.
    const out: Bar[] = [];
    const shown = new Set<string>();
    for (const g of reportGroups(a)) {
      const group = `About ${shortModelName(g.targetId)}`;
      for (const r of g.reports) out.push(bar(r, r.isSelf ? 'Self-report' : `Cross: ${shortModelName(r.reporterId)}`, group));
      const own = a.decisions.filter((d) => d.model === g.target);
      for (const d of own) {
        // A model with an example pool too: say which decisions each bar's learned weights come from.
        const b = targetBar(d, group, own.length > 1 ? `Learned vs target (${d.key})` : undefined);
        if (b) out.push(b);
        shown.add(d.key);
      }
    }
    for (const d of a.decisions.filter((d) => !shown.has(d.key))) {
      const b = targetBar(d, `About ${shortModelName(d.modelId)}`);
      if (b) out.push(b);
    }
    return out;
  });

  trials = $derived.by(() => {
    const rec = library.record;
    if (!rec || !this.scenario) return [];
    return scenarioTrials(rec, this.scenario, this.trialFilter || undefined);
  });

  open(id: string | null): void {
    this.scenario = id;
    this.trialFilter = '';
  }
}

export const results = new ResultsStore();
