/** What the Results view is showing: the comparison axis, the drilled-down scenario. */
import { library } from './library.svelte';
import { scatterPoints, scenarioTrials, type ReportConditionAnalysis } from '../../app/run-analysis';
import type { Bar, Series } from '../chart-types';
import { paperMarks } from '../../lib/paper-figures';
import { shortModelName } from '../../app/format';
import { modelWithAdapterName } from '../../app/adapters';

export const COLORS = { self: 'var(--self)', control: 'var(--control)', target: 'var(--target)' };

export function conditionLabel(r: ReportConditionAnalysis): string {
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

  series = $derived.by<Series[]>(() => {
    const a = library.analysis;
    if (!a) return [];
    return a.reports.map((r) => ({
      key: r.key,
      label: conditionLabel(r),
      color: r.isSelf ? COLORS.self : COLORS.control,
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
    const out: Bar[] = a.reports.map((r) => {
      const c = this.against === 'learned' ? r.vsLearned : r.vsTarget;
      const marks = step && r.isSelf && !r.observer && this.against === 'learned' ? paperMarks(step, 'self') : undefined;
      return { key: r.key, label: conditionLabel(r), r: c?.r ?? NaN, ci: c?.ci ?? [NaN, NaN], color: r.isSelf ? COLORS.self : COLORS.control, ceiling: c?.ceiling?.ceiling, ...(marks ? { marks } : {}) };
    });
    for (const d of a.decisions)
      if (d.vsTarget)
        out.push({
          key: `${d.key}-target`,
          label: 'Learned vs target',
          r: d.vsTarget.r,
          ci: d.vsTarget.ci,
          color: COLORS.target,
          ceiling: d.vsTarget.ceiling?.ceiling,
          ...(step ? { marks: paperMarks(step, 'learned-vs-target') } : {}),
        });
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
