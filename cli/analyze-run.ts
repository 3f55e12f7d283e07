/**
 * The `privileged_access` section of `analyze --run DIR` (runs with two or
 * more models): the lab's privilegedAccessOf on the run record, and its text.
 */
import { privilegedAccessOf, type PrivilegedOptions } from '../src/app/privileged-access';
import type { PrivilegedAccess } from '../src/lib/analysis/privileged-types';
import type { RunRecord } from '../src/lib/experiment/runs';

export function privilegedSection(record: RunRecord, opts: PrivilegedOptions = {}): { privileged_access?: PrivilegedAccess } {
  const pa = privilegedAccessOf(record, opts);
  return pa ? { privileged_access: pa } : {};
}

const f3 = (x: number | null): string => (x !== null && Number.isFinite(x) ? x.toFixed(3) : 'n/a');

/** The privileged-access section as text. */
export function formatPrivileged(pa: PrivilegedAccess): string {
  const name = new Map(pa.models.map((m) => [m.key, m.label]));
  const lines = [`Privileged access${pa.complete ? '' : ' (run unfinished: provisional)'}`, '', 'cross-report matrix: r(reporter\'s reports, target\'s learned weights) [95 % CI]'];
  for (const c of pa.matrix) lines.push(`  ${c.reporter} → ${c.target}${c.self ? ' (self)' : ''}: ${f3(c.r)} [${f3(c.ci[0])}, ${f3(c.ci[1])}], ${c.n_points} points`);
  if (pa.observers.length) {
    lines.push('observers (shown k decisions of the target):');
    for (const o of pa.observers) lines.push(`  ${o.reporter} observing ${o.target}, k = ${o.k}: ${f3(o.r)} [${f3(o.ci[0])}, ${f3(o.ci[1])}]`);
  }
  if (pa.statistical_observer.length) {
    lines.push('statistical observer (logistic regression on the same k decisions):');
    for (const s of pa.statistical_observer) lines.push(`  ${s.target}, k = ${s.k}: ${f3(s.r)} [${f3(s.ci[0])}, ${f3(s.ci[1])}]`);
  }
  if (pa.common_sense.length) lines.push('common sense r(learned a, learned b): ' + pa.common_sense.map((c) => `${c.a}–${c.b} ${f3(c.r)}`).join(', '));
  lines.push('', 'verdicts:');
  for (const v of pa.verdicts) {
    lines.push(`  ${name.get(v.target) ?? v.target}: ${v.verdict.replace('_', ' ')} — ${v.why}`);
    // Self must beat every other (intersection–union); each difference on the scenarios both have.
    for (const c of v.comparisons)
      lines.push(`    self − ${c.other}: ${f3(c.diff)} [${f3(c.ci[0])}, ${f3(c.ci[1])}] on ${c.n_scenarios} scenarios (self r ${f3(c.self_r)}, other r ${f3(c.other_r)})`);
  }
  for (const w of pa.worth) lines.push(`  ${w.text}`);
  return lines.join('\n') + '\n';
}
