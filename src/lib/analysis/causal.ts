/**
 * Causal consistency (Li 2026, §2.2; issue 18): when an intervention changes a
 * model's behaviour, does its self-report change with it? The intervened
 * condition is compared with the same model without the intervention on the
 * same scenarios (and, in a run, the same options):
 *
 * - Δlearned and Δreported per (scenario, attribute): intervened − baseline
 *   weights (both ±100-scaled per scenario, as everywhere in the lab);
 * - r(Δreported, Δlearned) with a scenario-bootstrap interval;
 * - did behaviour move beyond its noise? The split-half reliability
 *   (./reliability) of Δlearned: Δ from the odd trials and Δ from the even
 *   trials (different options) agree only when the intervention moved the
 *   weights systematically; noise (a reworded prompt flipping a few
 *   choices at random) does not replicate across halves. Behaviour moved when
 *   that reliability's scenario-bootstrap interval lies above 0. (The learned
 *   weights' own reliability is not the yardstick: both arms see the same
 *   options, so most of their estimation error is shared and cancels in Δ.)
 * - for a steer, the steered attribute's mean shift (in the steered direction)
 *   in learned and in reported weights, and whether their signs agree;
 * - with target weights (an adapter scale), learned-vs-target and
 *   reported-vs-target r; with stated weights, r(learned, stated).
 *
 * The verdict: `consistent` when behaviour moved and the interval of
 * r(Δreported, Δlearned) lies above 0; `behaviour did not move` when it did
 * not move measurably; otherwise `not shown`.
 */
import { DEFAULT_INTERCEPT_PRIOR_SD, DEFAULT_SLOPE_PRIOR_SD, type LogisticOptions } from './logistic';
import { decisionsToFit, type PositionedDecision } from './position';
import { oddEven, splitHalfReliability } from './reliability';
import { bootstrapCorrelation, type BootstrapOptions, type ScenarioPoints } from './stats';
import { learnedWeights, reportedWeights } from './weights';
import type { Attribute } from '../scenarios/types';

export type CausalVerdict = 'consistent' | 'behaviour did not move' | 'not shown';

export interface CausalScenario {
  id: string;
  attributes: readonly Pick<Attribute, 'min' | 'max'>[];
  /** The steered attribute and direction in this scenario (a steer). */
  steer?: { attribute: number; direction: 1 | -1 };
  /** The stated weights in this scenario (a stated self-description). */
  stated?: readonly number[];
  /** Target weights (given for an adapter-scale series). */
  target?: readonly number[];
}

export interface CausalArm {
  decisions: readonly PositionedDecision[];
  /** Valid self-reports (weights aligned with the attributes). */
  reports: readonly { scenario: string; report: readonly number[] }[];
}

export interface CausalInput {
  scenarios: readonly CausalScenario[];
  baseline: CausalArm;
  intervened: CausalArm;
  soft?: boolean;
  fit?: LogisticOptions;
  bootstrap?: BootstrapOptions;
}

export interface CausalDelta {
  scenario: string;
  attribute: number;
  learned: number;
  /** NaN where a scenario lacks reports in either arm. */
  reported: number;
  steered: boolean;
}

export interface Interval {
  r: number;
  ci: [number, number];
  n_scenarios: number;
}

export interface CausalResult {
  n_scenarios: number;
  /** Δ per (scenario, attribute): the scatter's points. */
  deltas: CausalDelta[];
  /** r(Δreported, Δlearned) with its scenario-bootstrap interval. */
  delta: Interval;
  behaviour_moved: boolean;
  /** The movement test: the split-half reliability of Δlearned (odd vs even trials) and its interval; moved when the interval lies above 0. */
  movement: { half_r: number; reliability: number; ci: [number, number]; n_scenarios: number };
  /** A steer: mean shift of the steered weight in the steered direction, and whether the two shifts share a sign. */
  steered_shift?: { learned: number; reported: number; sign_agreement: boolean };
  /** Target weights given: the intervened condition's learned and reported weights against them. */
  vs_target?: { learned: Interval; reported: Interval };
  /** A stated self-description: r(intervened learned, stated). */
  stated?: Interval;
  verdict: CausalVerdict;
  /** The verdict in a plain sentence. */
  why: string;
}

const interval = (points: readonly ScenarioPoints[], opts: BootstrapOptions): Interval => {
  const b = bootstrapCorrelation(points, opts);
  return { r: b.r, ci: b.ci, n_scenarios: b.n_scenarios };
};
const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Learned weights per scenario (and odd/even half fits) of one arm, with the fit given. */
function learnedOf(arm: CausalArm, soft: boolean, byId: Map<string, CausalScenario>, fit: LogisticOptions | undefined) {
  const { byScenario } = decisionsToFit(arm.decisions, soft);
  const halfPrior = { ...fit, slopePriorSd: (fit?.slopePriorSd ?? DEFAULT_SLOPE_PRIOR_SD) * Math.SQRT2, interceptPriorSd: (fit?.interceptPriorSd ?? DEFAULT_INTERCEPT_PRIOR_SD) * Math.SQRT2 };
  const full = new Map<string, number[]>();
  const halves = new Map<string, [number[], number[]]>();
  for (const [id, ds] of byScenario) {
    const sc = byId.get(id);
    if (!sc) continue;
    full.set(id, learnedWeights(sc.attributes, ds, { ...fit, soft }).weights);
    const [odd, even] = oddEven(ds, (d, i) => d.index ?? i);
    if (odd.length >= 2 && even.length >= 2)
      halves.set(id, [learnedWeights(sc.attributes, odd, { ...halfPrior, soft }).weights, learnedWeights(sc.attributes, even, { ...halfPrior, soft }).weights]);
  }
  return { full, halves };
}

function reportedOf(arm: CausalArm): Map<string, number[]> {
  const by = new Map<string, (readonly number[])[]>();
  for (const r of arm.reports) {
    if (!by.has(r.scenario)) by.set(r.scenario, []);
    by.get(r.scenario)!.push(r.report);
  }
  return new Map([...by].map(([id, rs]) => [id, reportedWeights(rs)]));
}

export function causalConsistency(input: CausalInput): CausalResult {
  const opts = input.bootstrap ?? {};
  const byId = new Map(input.scenarios.map((s) => [s.id, s]));
  // One fit for both arms, so that a switch from hard to soft is not read as a change of behaviour.
  const soft = input.soft ?? (decisionsToFit(input.baseline.decisions).fit === 'soft' || decisionsToFit(input.intervened.decisions).fit === 'soft');
  const base = learnedOf(input.baseline, soft, byId, input.fit);
  const int = learnedOf(input.intervened, soft, byId, input.fit);
  const repBase = reportedOf(input.baseline);
  const repInt = reportedOf(input.intervened);

  const ids = input.scenarios.map((s) => s.id).filter((id) => base.full.has(id) && int.full.has(id));
  const deltas: CausalDelta[] = [];
  const deltaPoints: ScenarioPoints[] = [];
  const learnedShift: number[] = [];
  const reportedShift: number[] = [];
  for (const id of ids) {
    const sc = byId.get(id)!;
    const dl = int.full.get(id)!.map((w, i) => w - base.full.get(id)![i]);
    const rb = repBase.get(id);
    const ri = repInt.get(id);
    const dr = rb && ri ? ri.map((w, i) => w - rb[i]) : dl.map(() => NaN);
    dl.forEach((l, i) => deltas.push({ scenario: id, attribute: i, learned: l, reported: dr[i], steered: sc.steer?.attribute === i }));
    if (rb && ri) deltaPoints.push({ scenario: id, x: dr, y: dl });
    if (sc.steer) {
      learnedShift.push(sc.steer.direction * dl[sc.steer.attribute]);
      if (rb && ri) reportedShift.push(sc.steer.direction * dr[sc.steer.attribute]);
    }
  }
  const delta = interval(deltaPoints, { ...opts, seed: `${opts.seed ?? 'analysis'}/causal-delta` });

  // Movement: the split-half reliability of Δlearned. A change the intervention made shows in both halves
  // of the options (Δ of the odd trials correlates with Δ of the even ones); a change that is only noise does not.
  const moveIds = ids.filter((id) => base.halves.has(id) && int.halves.has(id));
  const halves = moveIds.map((id) => {
    const [bo, be] = base.halves.get(id)!;
    const [io, ie] = int.halves.get(id)!;
    return { scenario: id, x: io.map((w, i) => w - bo[i]), y: ie.map((w, i) => w - be[i]) };
  });
  let movement: CausalResult['movement'] = { half_r: NaN, reliability: NaN, ci: [NaN, NaN], n_scenarios: moveIds.length };
  if (moveIds.length >= 2) {
    const rel = splitHalfReliability(halves, { ...opts, seed: `${opts.seed ?? 'analysis'}/causal-movement` });
    movement = { half_r: rel.halfR, reliability: rel.reliability, ci: rel.ci, n_scenarios: rel.n_scenarios };
  }
  const behaviour_moved = movement.ci[0] > 0;

  const result: CausalResult = { n_scenarios: ids.length, deltas, delta, behaviour_moved, movement, verdict: 'not shown', why: '' };
  if (learnedShift.length) {
    const learned = mean(learnedShift);
    const reported = mean(reportedShift);
    result.steered_shift = { learned, reported, sign_agreement: Math.sign(learned) !== 0 && Math.sign(learned) === Math.sign(reported) };
  }
  const withTarget = ids.filter((id) => byId.get(id)!.target);
  if (withTarget.length) {
    const t = (m: Map<string, number[]>) => withTarget.filter((id) => m.has(id)).map((id) => ({ scenario: id, x: m.get(id)!, y: byId.get(id)!.target! }));
    result.vs_target = { learned: interval(t(int.full), opts), reported: interval(t(repInt), opts) };
  }
  const withStated = ids.filter((id) => byId.get(id)!.stated);
  if (withStated.length) result.stated = interval(withStated.map((id) => ({ scenario: id, x: int.full.get(id)!, y: byId.get(id)!.stated! })), opts);

  if (!behaviour_moved) {
    result.verdict = 'behaviour did not move';
    result.why = `The intervention did not change its decisions measurably (the change seen in one half of the decisions does not recur in the other: reliability ${f2(movement.reliability)} [${f2(movement.ci[0])}, ${f2(movement.ci[1])}]), so there is no change for the self-report to follow.`;
  } else if (delta.ci[0] > 0) {
    result.verdict = 'consistent';
    result.why = `The intervention changed its decisions, and its self-report changed with them: r(Δreported, Δlearned) = ${f2(delta.r)} [${f2(delta.ci[0])}, ${f2(delta.ci[1])}].`;
  } else {
    result.verdict = 'not shown';
    result.why = `The intervention changed its decisions, but the change in its self-report does not follow them: r(Δreported, Δlearned) = ${f2(delta.r)} [${f2(delta.ci[0])}, ${f2(delta.ci[1])}] includes 0.`;
  }
  return result;
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
