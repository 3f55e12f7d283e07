/**
 * Simulated models: a teaching and testing tool, never a stand-in for a result.
 * A model id
 *
 *   sim:<label>?weights=target|native&access=A&noise=N&beta=B&bias=C&own=O&seed=S
 *
 * names an agent whose inner workings are known, so the lab can show what its
 * analysis can and cannot detect, with no download.
 *
 * - True weights w (per scenario, scaled ±100): the spec's target weights
 *   (`weights=target`: a model trained on them), or native weights
 *   (`weights=native`, the default): the common-sense prior of the scenario —
 *   seeded by the scenario id alone, so every simulated model anywhere shares it
 *   — plus a deviation of its own of relative size O (`own`, default 0.5),
 *   rescaled ±100.
 * - Decisions: P(A) = σ(B · Σᵢ (wᵢ/100)·dᵢ + C), dᵢ the normalised attribute
 *   differences, B = `beta` (default 10), C = `bias` toward "A" (default 0).
 *   As for every engine the choice is the argmax of P(A) and P(B) (the paper's
 *   temperature 0), so the hard choice is a deterministic function of the
 *   options: with a bias the hard choices collapse toward "A" exactly as a
 *   biased real model's do, while P(A) keeps the graded information (the soft
 *   fit reads it). The label mass is 1.
 * - Self-reports (the paper's introspection prompt): A·w + (1 − A)·prior plus
 *   normal noise of sd N (`noise`, default 20), rounded and clipped to
 *   −100..100. A = `access` (default 1): 1 knows its own weights, 0 only knows
 *   common sense. The question does not name a target, so the answer is the
 *   same whoever's decisions it is scored against.
 * - As an observer (shown k decisions of some decision-maker, then asked about
 *   that decision-maker): it does not know whose decisions they are (the prompt
 *   does not say), so it uses no self-knowledge, even when they are its own. It
 *   blends common sense with what the examples show: λ·fit + (1 − λ)·prior,
 *   λ = k / (k + 10), where fit is the lab's logistic regression on the k shown
 *   decisions (scaled ±100), plus the same noise. k = 0 gives the prior.
 * - Noise is seeded by (seed, trial id), so a resumed run gives the same
 *   reports; `seed` defaults to the label.
 *
 * Interventions (issue 18), the ground truth the causal analysis is checked
 * against; they act on the true weights w of the intervened trials (decisions,
 * and the self-reports about them, which then report the moved weights in
 * proportion to A as above; observers are unaffected):
 * - `adapterScale: s` (weights=target only: the "adapter" is the training on the
 *   targets): w = native + s·(target − native), so 0 is the untrained model and
 *   1 the trained one.
 * - `stated` weights v: w ← w + F·(v − w), F = `follow` (default 0.5): behaviour
 *   moves toward a stated self-description by a known share.
 * - `steer` {attribute i, direction d}: wᵢ ← wᵢ + d·S, S = `steer` (default 60 on
 *   the ±100 scale; 0: steering does nothing). Applied after the others.
 *
 * Self-prediction (issue 18): asked for its P(A) on a decision, it answers
 * A·P + (1 − A)·P₀ plus normal noise of sd `pnoise` (default 5, on 0..100),
 * clipped to 0..100 and rounded; P is its true P(A) (with any intervention), P₀
 * the common-sense P(A), σ(B · Σᵢ (priorᵢ/100)·dᵢ), no bias. Asked which option it
 * would choose, it gives the same prediction as its P("A") (so its choice is
 * "A" when that is ≥ 50). As an observer it predicts λ·P̂ + (1 − λ)·P₀, P̂
 * from the lab's logistic fit of the k shown decisions (0.5 with none), λ as
 * for reports.
 */
import { learnedWeights } from '../analysis/weights';
import type { ObservedDecision } from '../prompts';
import { rngFor, type Rng } from '../rng';
import { normalizedDifferences, sampleTargetWeights, scaleToHundred } from '../sampling';
import type { Attribute, OptionValues } from '../scenarios/types';
import type { TrialIntervention } from './intervention';

export const SIMULATED_PREFIX = 'sim:';

export interface SimulatedParams {
  label: string;
  weights: 'target' | 'native';
  access: number;
  noise: number;
  beta: number;
  bias: number;
  own: number;
  /** How far a steering sentence moves the steered weight (±100 scale). */
  steer: number;
  /** Share of the way a stated self-description moves the weights toward it. */
  follow: number;
  /** Noise of its probability self-predictions (sd, on 0..100). */
  pnoise: number;
  seed: string;
}

export const SIMULATED_DEFAULTS = { weights: 'native', access: 1, noise: 20, beta: 10, bias: 0, own: 0.5, steer: 60, follow: 0.5, pnoise: 5 } as const;

/** What an observer's report leans on the examples: λ = k / (k + OBSERVER_PRIOR_COUNT). */
export const OBSERVER_PRIOR_COUNT = 10;

export class SimulatedIdError extends Error {
  override name = 'SimulatedIdError';
}

export function isSimulatedId(id: string): boolean {
  return id.startsWith(SIMULATED_PREFIX);
}

const NUMERIC: Record<string, (v: number) => boolean> = {
  access: (v) => v >= 0 && v <= 1,
  noise: (v) => v >= 0,
  beta: (v) => v >= 0,
  bias: () => true,
  own: (v) => v >= 0,
  steer: (v) => v >= 0,
  follow: (v) => v >= 0 && v <= 1,
  pnoise: (v) => v >= 0,
};
const RANGE: Record<string, string> = { access: 'between 0 and 1', noise: '≥ 0', beta: '≥ 0', bias: 'a number', own: '≥ 0', steer: '≥ 0', follow: 'between 0 and 1', pnoise: '≥ 0' };

function safeDecode(x: string): string {
  try {
    return decodeURIComponent(x);
  } catch {
    return x; // a stray "%": keep the text as written
  }
}

/** `a=1&b=2` → [['a', '1'], ['b', '2']] (the core has no URLSearchParams). */
function queryPairs(query: string): [string, string][] {
  return query
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      const dec = (x: string) => safeDecode(x.replace(/\+/g, ' '));
      return eq < 0 ? [dec(part), ''] : [dec(part.slice(0, eq)), dec(part.slice(eq + 1))];
    });
}

/** Parse a `sim:` id; throws SimulatedIdError naming every problem. */
export function parseSimulatedId(id: string): SimulatedParams {
  if (!isSimulatedId(id)) throw new SimulatedIdError(`"${id}" is not a simulated model id (it must start with "${SIMULATED_PREFIX}").`);
  const rest = id.slice(SIMULATED_PREFIX.length);
  const q = rest.indexOf('?');
  const label = safeDecode(q < 0 ? rest : rest.slice(0, q));
  const problems: string[] = [];
  if (!label.trim()) problems.push('it needs a label: sim:<label>?…');
  const params = q < 0 ? [] : queryPairs(rest.slice(q + 1));
  const out: SimulatedParams = { label, ...SIMULATED_DEFAULTS, seed: label };
  for (const [key, value] of params) {
    if (key === 'weights') {
      if (value === 'target' || value === 'native') out.weights = value;
      else problems.push(`weights must be "target" or "native" (got "${value}")`);
    } else if (key === 'seed') {
      if (value) out.seed = value;
      else problems.push('seed must not be empty');
    } else if (key in NUMERIC) {
      const v = value.trim() === '' ? NaN : Number(value);
      if (Number.isFinite(v) && NUMERIC[key](v)) (out as unknown as Record<string, number>)[key] = v;
      else problems.push(`${key} must be ${RANGE[key]} (got "${value}")`);
    } else problems.push(`unknown parameter "${key}" (known: weights, access, noise, beta, bias, own, steer, follow, pnoise, seed)`);
  }
  if (problems.length) throw new SimulatedIdError(`Simulated model "${id}": ${problems.join('; ')}.`);
  return out;
}

/** The canonical id of a simulated model (parameters equal to the defaults are left out). */
export function simulatedId(p: Partial<SimulatedParams> & { label: string }): string {
  const params: string[] = [];
  for (const key of ['weights', 'access', 'noise', 'beta', 'bias', 'own', 'steer', 'follow', 'pnoise'] as const) {
    const v = p[key];
    if (v !== undefined && v !== SIMULATED_DEFAULTS[key]) params.push(`${key}=${encodeURIComponent(String(v))}`);
  }
  if (p.seed !== undefined && p.seed !== p.label) params.push(`seed=${encodeURIComponent(p.seed)}`);
  const q = params.join('&');
  return `${SIMULATED_PREFIX}${encodeURIComponent(p.label)}${q ? `?${q}` : ''}`;
}

/** A model's display name that says it is simulated. */
export function simulatedName(id: string): string {
  try {
    return `${parseSimulatedId(id).label} (simulated)`;
  } catch {
    return `${id} (simulated)`;
  }
}

/** A model id as exports write it: a simulated model's says so. */
export function exportedModelId(id: string): string {
  return isSimulatedId(id) ? `${id} (simulated)` : id;
}

/** The common-sense weights of a scenario: seeded by its id alone, shared by every simulated model. */
export function commonSensePrior(scenarioId: string, attributes: number): number[] {
  return sampleTargetWeights(attributes, rngFor('sim-common-sense', scenarioId));
}

/** The weights a simulated model decides by in a scenario, scaled ±100, moved by an intervention (see the module comment). */
export function simulatedWeights(p: SimulatedParams, scenarioId: string, target: readonly number[], iv?: TrialIntervention): number[] {
  const native = () => {
    const prior = commonSensePrior(scenarioId, target.length);
    const own = sampleTargetWeights(target.length, rngFor('sim-own', p.seed, scenarioId));
    return scaleToHundred(prior.map((x, i) => x + p.own * own[i]));
  };
  let w = p.weights === 'target' ? target.slice() : native();
  if (!iv) return w;
  if (iv.adapterScale !== undefined && p.weights === 'target') {
    const s = iv.adapterScale;
    w = native().map((x, i) => x + s * (target[i] - x));
  }
  if (iv.stated) {
    const v = iv.stated;
    w = w.map((x, i) => x + p.follow * (v[i] - x));
  }
  if (iv.steer) w[iv.steer.attribute] += iv.steer.direction * p.steer;
  return w;
}

/** P(A) = σ(B · Σᵢ (wᵢ/100)·dᵢ + C). */
export function simulatedPA(
  p: Pick<SimulatedParams, 'beta' | 'bias'>,
  attributes: readonly Pick<Attribute, 'min' | 'max'>[],
  weights: readonly number[],
  a: OptionValues,
  b: OptionValues,
): number {
  const d = normalizedDifferences(attributes, a, b);
  let u = 0;
  for (let i = 0; i < d.length; i++) u += (weights[i] / 100) * d[i];
  return 1 / (1 + Math.exp(-(p.beta * u + p.bias)));
}

/** Standard normal draw (Box–Muller). */
export function normalDraw(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Add noise of sd `noise`, round, clip to −100..100. */
function noisy(mean: readonly number[], noise: number, rng: Rng): number[] {
  return mean.map((m) => {
    const v = Math.round(m + noise * normalDraw(rng));
    return Object.is(v, -0) ? 0 : Math.max(-100, Math.min(100, v));
  });
}

export interface SimulatedReportInput {
  trialId: string;
  scenarioId: string;
  attributes: readonly Pick<Attribute, 'min' | 'max'>[];
  /** The spec's target weights of the scenario. */
  target: readonly number[];
  /** Decisions shown (observer task); absent for the introspection task. */
  examples?: readonly ObservedDecision[];
  /** The trial's intervention: a self-report describes the intervened model. */
  intervention?: TrialIntervention;
}

/** The weights a simulated model reports (see the module comment). */
export function simulatedReport(p: SimulatedParams, t: SimulatedReportInput): number[] {
  const prior = commonSensePrior(t.scenarioId, t.attributes.length);
  let mean: number[];
  if (t.examples) {
    const k = t.examples.length;
    const fit = k ? learnedWeights(t.attributes, t.examples).weights : prior;
    const lambda = k / (k + OBSERVER_PRIOR_COUNT);
    mean = prior.map((x, i) => lambda * fit[i] + (1 - lambda) * x);
  } else {
    const w = simulatedWeights(p, t.scenarioId, t.target, t.intervention);
    mean = w.map((x, i) => p.access * x + (1 - p.access) * prior[i]);
  }
  return noisy(mean, p.noise, rngFor('sim-report', p.seed, t.trialId));
}

export interface SimulatedPredictionInput extends SimulatedReportInput {
  a: OptionValues;
  b: OptionValues;
}

/** The P(A) a simulated model predicts for a decision, 0..1 (see the module comment). */
export function simulatedPrediction(p: SimulatedParams, t: SimulatedPredictionInput): number {
  const prior = commonSensePrior(t.scenarioId, t.attributes.length);
  const common = simulatedPA({ beta: p.beta, bias: 0 }, t.attributes, prior, t.a, t.b);
  let mean: number;
  if (t.examples) {
    const k = t.examples.length;
    let fitP = 0.5;
    if (k) {
      const fit = learnedWeights(t.attributes, t.examples);
      const d = normalizedDifferences(t.attributes, t.a, t.b);
      fitP = 1 / (1 + Math.exp(-(fit.intercept + fit.coefficients.reduce((u, c, i) => u + c * d[i], 0))));
    }
    const lambda = k / (k + OBSERVER_PRIOR_COUNT);
    mean = lambda * fitP + (1 - lambda) * common;
  } else {
    const trueP = simulatedPA(p, t.attributes, simulatedWeights(p, t.scenarioId, t.target, t.intervention), t.a, t.b);
    mean = p.access * trueP + (1 - p.access) * common;
  }
  const v = Math.round(100 * mean + p.pnoise * normalDraw(rngFor('sim-predict', p.seed, t.trialId)));
  return Math.max(0, Math.min(100, v)) / 100;
}
