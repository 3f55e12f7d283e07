/**
 * Reports that copy the prompt: a self-report trial shows two options, and a
 * model that cannot answer the question often "reports" the numbers in front
 * of it. A reported weight counts as copied when it equals the value of the
 * same attribute in option A or B as the prompt displayed it (rounded as
 * prompts.ts formats it: 52.0 is shown for 52, 0.35 for 0.347).
 *
 * A genuine report meets a shown value only by chance: reports are integers
 * in −100..100, so each shown value is hit by one report value in two hundred
 * (a few per cent with both options, less where attributes have decimals).
 * A share well above that means the reports repeat the prompt.
 */
import { formatValue } from '../prompts';
import type { Attribute } from '../scenarios/types';

/** At least this share of reported values copied from the options: warn. */
export const COPY_WARN_SHARE = 0.2;

/** A valid report with the options its prompt showed. */
export interface ReportWithOptions {
  report: readonly number[];
  a: readonly number[];
  b: readonly number[];
  attributes: readonly Pick<Attribute, 'min' | 'max'>[];
}

/** A value as the prompt displayed it, read back as a number. */
export function shownValue(value: number, attr: Pick<Attribute, 'min' | 'max'>): number {
  return Number(formatValue(value, attr));
}

/** Per attribute: does the reported weight equal A's or B's displayed value of that attribute? */
export function copiedValues(r: ReportWithOptions): boolean[] {
  return r.report.map((w, i) => w === shownValue(r.a[i], r.attributes[i]) || w === shownValue(r.b[i], r.attributes[i]));
}

export interface CopyTally {
  /** Reported values looked at (valid reports × attributes). */
  values: number;
  copied: number;
  /** copied / values (NaN when there are none). */
  share: number;
}

export function copyTally(reports: readonly ReportWithOptions[]): CopyTally {
  let values = 0;
  let copied = 0;
  for (const r of reports) {
    for (const c of copiedValues(r)) {
      values++;
      if (c) copied++;
    }
  }
  return { values, copied, share: values ? copied / values : NaN };
}
