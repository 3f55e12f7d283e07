/**
 * Privileged access (Li 2026; issue 9): does a model describe its own decision
 * process better than anyone else could, given the same access to its inputs
 * and outputs? Pure: weights in, the `privileged_access` object out.
 *
 * - Cross-report matrix: cell (reporter R, target T) = r(R's reported weights,
 *   T's learned weights) over all (scenario, attribute) points, 95 %
 *   scenario-bootstrap interval. The introspection prompt names no target, so
 *   R's self-reports serve every column; the diagonal is introspection.
 * - Observers: r(reports of R after seeing k of T's pool decisions, T's
 *   learned weights). At k = 0 nothing is shown, so those reports (like
 *   self-reports) serve every target.
 * - Statistical observer: the lab's logistic regression on the same k pool
 *   decisions of each scenario (the first k), scored the same way: what an
 *   ideal statistician infers from them. Left out at k = 0, where it has no
 *   data and its weights are all 0 (r undefined).
 * - Common sense: r(learned_a, learned_b) for each pair of models; and T's
 *   self-report accuracy after partialling the other models' learned weights
 *   out of both the reports and T's learned weights (points pooled).
 * - Verdict per target: an intersection–union test. Self is compared with
 *   every other description — the other reporters, the observers at every k
 *   and the statistical observer at every k — each by a paired scenario
 *   bootstrap of self r − other r on the scenarios both have (the same
 *   resampled scenarios for both r), 95 % interval. `shown` only when every
 *   interval lies above 0: each test alone errs at most 2.5 % when self is no
 *   better than that other, so together they err no more, however the others
 *   differ in precision. Testing self against only the other with the highest
 *   observed r did not hold that: an other that copies the self-report noisily
 *   usually has the highest r and a tiny spread of its difference, and hid an
 *   equally good independent other (`shown` in 8–14 % of null runs; this test
 *   0.5–4.5 %, test/privileged.test.ts, bench/privileged.bench.ts). One
 *   bootstrap of self − max(others), recomputing the max in every resample,
 *   held the null as well but had less power (200 runs each: 40.5 vs 45.0 %
 *   for self .6 against three others at .5; 37.0 vs 41.0 % for self .65
 *   against an other at .55 and a noisy copy), and shows no per-other
 *   interval. The comparison shown is the one with the lowest interval (it
 *   decides), with both r's from its own shared scenarios and their count.
 */
import type { PACommonSense, PAComparison, PAMatrixCell, PAModel, PAObserverPoint, PAStatPoint, PAVerdict, PAWorth, PrivilegedAccess, Verdict } from './privileged-types';
import { choleskySolve } from './logistic';
import { bootstrapCorrelations, pairedCorrelationDifferences, pearson, type BootstrapOptions, type ScenarioPoints } from './stats';
import { learnedWeights, type Decision } from './weights';
import type { Attribute } from '../scenarios/types';

export type WeightsByScenario = ReadonlyMap<string, readonly number[]>;

export interface PrivilegedInput {
  models: PAModel[];
  /** Every planned scenario, in plan order (points follow it). */
  scenarios: readonly { id: string; attributes: readonly Pick<Attribute, 'min' | 'max'>[] }[];
  /** Learned weights of each model key (from its decisions, never its pool), per scenario, scaled ±100. */
  learned: ReadonlyMap<string, WeightsByScenario>;
  /** Each reporter's mean answer to the introspection prompt, per scenario, scaled ±100. */
  reported: ReadonlyMap<string, WeightsByScenario>;
  /** Observer reports; `target` null when nothing was shown (k = 0): they then serve every target. */
  observed: readonly { reporter: string; target: string | null; k: number; reported: WeightsByScenario }[];
  /** Each target's example pool: its decisions per scenario, in pool order. */
  pools: ReadonlyMap<string, ReadonlyMap<string, readonly Decision[]>>;
  /** k values of the statistical observer (those > 0 are used). */
  ks: readonly number[];
  complete: boolean;
  bootstrap?: BootstrapOptions;
}

function pointsOf(scenarios: PrivilegedInput['scenarios'], x: WeightsByScenario | undefined, y: WeightsByScenario | undefined): ScenarioPoints[] {
  if (!x || !y) return [];
  const out: ScenarioPoints[] = [];
  for (const { id } of scenarios) {
    const a = x.get(id);
    const b = y.get(id);
    if (a && b) out.push({ scenario: id, x: a, y: b });
  }
  return out;
}

const flat = (pts: readonly ScenarioPoints[], which: 'x' | 'y') => pts.flatMap((p) => [...p[which]]);

/** Residuals of y after least squares on the columns of X (with an intercept). */
function residuals(y: readonly number[], X: readonly (readonly number[])[]): number[] | null {
  const n = y.length;
  const p = X.length + 1;
  const row = (i: number) => [1, ...X.map((col) => col[i])];
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const r = row(i);
    for (let a = 0; a < p; a++) {
      xty[a] += r[a] * y[i];
      for (let b = 0; b < p; b++) xtx[a * p + b] += r[a] * r[b];
    }
  }
  const beta = choleskySolve(xtx, xty, p);
  if (!beta) return null; // collinear predictors (e.g. two models with identical weights)
  return Array.from({ length: n }, (_, i) => y[i] - row(i).reduce((s, v, j) => s + v * beta[j], 0));
}

/** r(self report, T's learned) with the other models' learned weights partialled out of both; null without others. */
function partialSelf(input: PrivilegedInput, target: string): number | null {
  const others = [...input.learned.keys()].filter((k) => k !== target);
  const self = input.reported.get(target);
  const mine = input.learned.get(target);
  if (!others.length || !self || !mine) return null;
  const y: number[] = [], x: number[] = [];
  const cols: number[][] = others.map(() => []);
  for (const { id } of input.scenarios) {
    const r = self.get(id), l = mine.get(id), o = others.map((k) => input.learned.get(k)!.get(id));
    if (!r || !l || o.some((w) => !w)) continue;
    x.push(...r);
    y.push(...l);
    o.forEach((w, j) => cols[j].push(...w!));
  }
  if (x.length <= others.length + 2) return null;
  const rx = residuals(x, cols);
  const ry = residuals(y, cols);
  const r = rx && ry ? pearson(rx, ry) : NaN;
  return Number.isFinite(r) ? r : null;
}

/** The statistical observer's weights: per scenario, a fit of the pool's first k decisions (scenarios with fewer are left out). */
function statisticalWeights(input: PrivilegedInput, pool: ReadonlyMap<string, readonly Decision[]>, k: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const { id, attributes } of input.scenarios) {
    const decisions = pool.get(id);
    if (!decisions || decisions.length < k) continue;
    // The observer sees choices, not probabilities: so does the statistician.
    out.set(id, learnedWeights(attributes, decisions.slice(0, k)).weights);
  }
  return out;
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/** Where the statistical observer's curve reaches the self-report's r, by linear interpolation. */
export function worthOf(target: string, label: string, selfR: number, curve: readonly PAStatPoint[]): PAWorth {
  const pts = curve.filter((p) => Number.isFinite(p.r)).sort((a, b) => a.k - b.k);
  if (!pts.length || !Number.isFinite(selfR))
    return { target, k_star: null, relation: 'unknown', text: `There is no statistical observer curve to compare ${label}'s self-report with.` };
  if (selfR < pts[0].r)
    return { target, k_star: null, relation: 'below_min', text: `${label}'s self-report (r = ${f2(selfR)}) is worth less than ${pts[0].k} observed decisions (r = ${f2(pts[0].r)}).` };
  // The first k where the curve reaches the self r (where the curve is flat at it, its first k).
  const i = pts.findIndex((p) => p.r >= selfR);
  if (i >= 0) {
    const b = pts[i], a = pts[i - 1];
    const k = i === 0 ? b.k : a.k + ((selfR - a.r) / (b.r - a.r)) * (b.k - a.k); // a.r < selfR ≤ b.r
    return { target, k_star: k, relation: 'between', text: `${label}'s self-report (r = ${f2(selfR)}) is worth about ${Math.round(k)} observed decisions.` };
  }
  const last = pts[pts.length - 1];
  return { target, k_star: null, relation: 'above_max', text: `${label}'s self-report (r = ${f2(selfR)}) is worth more than ${last.k} observed decisions (r = ${f2(last.r)}).` };
}

export function privilegedAccess(input: PrivilegedInput): PrivilegedAccess {
  const boot = input.bootstrap ?? {};
  const label = new Map(input.models.map((m) => [m.key, m.label]));
  const name = (key: string) => label.get(key) ?? key;
  const targets = input.models.map((m) => m.key).filter((k) => input.learned.has(k));
  // Every comparison is scored against the target's learned weights; all are bootstrapped together (shared resamples).
  const pts = new Map<string, ScenarioPoints[]>(); // "<who>→<target>" → points, for the verdicts
  const jobs: { who: string; target: string; points: ScenarioPoints[] }[] = [];
  const add = (who: string, target: string, x: WeightsByScenario | undefined) => {
    const points = pointsOf(input.scenarios, x, input.learned.get(target));
    pts.set(`${who}→${target}`, points);
    if (points.length) jobs.push({ who, target, points });
  };
  for (const m of input.models) for (const t of targets) add(m.key, t, input.reported.get(m.key));
  for (const o of input.observed)
    for (const t of o.target === null ? targets : [o.target].filter((x) => input.learned.has(x))) add(`obs:${o.reporter}@${o.k}`, t, o.reported);
  const ks = [...new Set(input.ks.filter((k) => k > 0))].sort((a, b) => a - b);
  for (const t of targets) {
    const pool = input.pools.get(t);
    if (pool) for (const k of ks) add(`stat@${k}`, t, statisticalWeights(input, pool, k));
  }
  const boots = bootstrapCorrelations(jobs.map((j) => j.points), boot);
  const scored = new Map(jobs.map((j, i) => [`${j.who}→${j.target}`, boots[i]]));

  const matrix: PAMatrixCell[] = [];
  for (const m of input.models)
    for (const t of targets) {
      const b = scored.get(`${m.key}→${t}`);
      if (b) matrix.push({ reporter: m.key, target: t, r: b.r, ci: b.ci, n_points: b.n_points, self: m.key === t });
    }

  const observers: PAObserverPoint[] = [];
  for (const o of input.observed)
    for (const t of o.target === null ? targets : [o.target]) {
      const b = scored.get(`obs:${o.reporter}@${o.k}→${t}`);
      if (b) observers.push({ reporter: o.reporter, target: t, k: o.k, r: b.r, ci: b.ci, n_points: b.n_points });
    }
  observers.sort((a, b) => a.target.localeCompare(b.target) || a.reporter.localeCompare(b.reporter) || a.k - b.k);

  const statistical_observer: PAStatPoint[] = [];
  for (const t of targets)
    for (const k of ks) {
      const b = scored.get(`stat@${k}→${t}`);
      if (b) statistical_observer.push({ target: t, k, r: b.r, ci: b.ci });
    }

  const common_sense: PACommonSense[] = [];
  for (let i = 0; i < targets.length; i++)
    for (let j = i + 1; j < targets.length; j++) {
      const p = pointsOf(input.scenarios, input.learned.get(targets[i]), input.learned.get(targets[j]));
      if (p.length) common_sense.push({ a: targets[i], b: targets[j], r: pearson(flat(p, 'x'), flat(p, 'y')) });
    }
  const closest = (t: string) =>
    common_sense.filter((c) => (c.a === t || c.b === t) && Number.isFinite(c.r)).sort((a, b) => b.r - a.r)[0] ?? null;

  const verdicts: PAVerdict[] = [];
  const partial: PrivilegedAccess['partial'] = [];
  const worth: PAWorth[] = [];
  for (const t of targets) {
    const self = matrix.find((c) => c.reporter === t && c.target === t);
    if (!self) continue;
    partial.push({ target: t, self_r: self.r, self_r_partial: partialSelf(input, t) });
    worth.push(worthOf(t, name(t), self.r, statistical_observer.filter((s) => s.target === t)));
    const others = [
      ...matrix.filter((c) => c.target === t && !c.self).map((c) => ({ key: c.reporter, r: c.r, words: `${name(c.reporter)}'s report` })),
      ...observers.filter((o) => o.target === t).map((o) => ({ key: `obs:${o.reporter}@${o.k}`, r: o.r, words: `${name(o.reporter)} shown ${o.k} of ${name(t)}'s decisions` })),
      ...statistical_observer.filter((s) => s.target === t).map((s) => ({ key: `stat@${s.k}`, r: s.r, words: `the statistical observer with ${s.k} decisions` })),
    ].filter((o) => Number.isFinite(o.r)); // a description with no defined r (no spread) describes nothing
    const cs = closest(t);
    const baseline = cs
      ? `Common-sense baseline: ${name(t)}'s learned weights correlate r = ${f2(cs.r)} with ${name(cs.a === t ? cs.b : cs.a)}'s, so that much of its behaviour another model shares without any self-knowledge.`
      : 'No other model decided on these scenarios, so there is no common-sense baseline.';
    const none = { best_other: null, best_other_r: null, self_r_paired: null, n_scenarios: null, diff: null, ci: null, comparisons: [] };
    if (!others.length || !Number.isFinite(self.r)) {
      const why = others.length ? `${name(t)}'s self-report has no defined r yet (too few points or no spread).` : `Nothing else describes ${name(t)} yet, so its self-report cannot be compared.`;
      verdicts.push({ target: t, self_r: self.r, ...none, verdict: 'undetermined', why: `${why} ${baseline}` });
      continue;
    }
    // Intersection–union: self against every other, each on the scenarios both have.
    const selfPts = pts.get(`${t}→${t}`)!;
    const diffs = pairedCorrelationDifferences(others.map((o) => pts.get(`${o.key}→${t}`)!), selfPts, boot);
    const comparisons: PAComparison[] = others.map((o, i) => {
      const d = diffs[i];
      return { other: o.key, n_scenarios: d.n_scenarios, self_r: d.r2, other_r: d.r1, diff: d.diff, ci: d.ci };
    });
    const defined = (c: PAComparison) => Number.isFinite(c.diff) && Number.isFinite(c.ci[0]) && Number.isFinite(c.ci[1]);
    const decided = comparisons.filter(defined).sort((a, b) => a.ci[0] - b.ci[0]);
    const verdict: Verdict = decided.some((c) => c.ci[0] <= 0) ? 'not_shown' : decided.length < comparisons.length ? 'undetermined' : 'shown';
    // The comparison that decides: the lowest interval, or (undetermined) one that has none.
    const key = verdict === 'undetermined' ? comparisons.find((c) => !defined(c))! : decided[0];
    const words = others.find((o) => o.key === key.other)!.words;
    const [lo, hi] = key.ci;
    const count = others.length === 1 ? 'the one other description' : `each of the ${others.length} other descriptions`;
    const head =
      `${name(t)}'s self-report (r = ${f2(self.r)} over ${selfPts.length} scenarios) against ${count}, each on the scenarios both have. ` +
      `${others.length === 1 ? 'It is' : 'The closest is'} ${words}: on ${key.n_scenarios} scenarios, self r = ${f2(key.self_r)} against ${f2(key.other_r)}, ` +
      `difference ${f2(key.diff)}, 95 % interval [${f2(lo)}, ${f2(hi)}].`;
    const tail =
      verdict === 'shown'
        ? ` ${others.length === 1 ? 'The interval lies' : 'Every interval lies'} above 0: privileged access shown.`
        : verdict === 'not_shown'
          ? ' That interval does not lie above 0: privileged access not shown.'
          : ' Too few shared scenarios for that interval: undetermined.';
    verdicts.push({
      target: t,
      self_r: self.r,
      best_other: key.other,
      best_other_r: key.other_r,
      self_r_paired: key.self_r,
      n_scenarios: key.n_scenarios,
      diff: key.diff,
      ci: [lo, hi],
      comparisons,
      verdict,
      why: `${head}${tail} ${baseline}`,
    });
  }

  return { models: input.models, matrix, verdicts, observers, statistical_observer, common_sense, partial, worth, complete: input.complete };
}
