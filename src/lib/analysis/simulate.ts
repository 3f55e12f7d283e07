/**
 * Simulated agents with known (target) weights, for checking that learned weights
 * recover them. The agent chooses A with probability
 *
 *   P(A) = σ(β · (U(A) − U(B)) / 100),  U(o) = Σ_i w_i · (o_i − min_i) / (max_i − min_i)
 *
 * (w scaled ±100, so U(A) − U(B) = Σ_i w_i d_i; β is the inverse temperature in
 * utility units of the largest weight), and its choice is a draw from P(A). Options
 * are drawn as in the paper (uniform in range, rounded by `roundingPrecision`).
 */
import { rngFor } from '../rng';
import { normalizedDifferences, sampleOption, sampleTargetWeights } from '../sampling';
import type { Attribute } from '../scenarios/types';
import { sigmoid } from './logistic';
import type { Decision } from './weights';
import type { PrivilegedInput } from './privileged';
import { normalDraw } from '../experiment/simulated';

export interface SimulatedScenario {
  id: string;
  attributes: Attribute[];
  /** The agent's true weights, scaled ±100. */
  target: number[];
  /** Trials with the agent's choice and its true P(A). */
  decisions: Decision[];
}

export interface SimulationOptions {
  scenarios: number;
  trials: number;
  /** β in P(A) = σ(β · Σ_i (w_i/100) d_i). */
  inverseTemperature: number;
  seed?: string | number;
  attributes?: number;
}

/** Random attribute ranges: widths from 1 to 9000, so all rounding regimes occur. */
function randomAttributes(count: number, seed: string | number, scenario: number): Attribute[] {
  const rng = rngFor(seed, 'sim-attributes', scenario);
  return Array.from({ length: count }, (_, i) => {
    const min = Math.round(rng.uniform(0, 10));
    const width = 10 ** rng.int(4) * (1 + rng.int(9));
    return { name: `attr_${i + 1}`, units: '', min, max: min + width };
  });
}

export function simulateAgents(options: SimulationOptions): SimulatedScenario[] {
  const seed = options.seed ?? 'simulation';
  const k = options.attributes ?? 5;
  const out: SimulatedScenario[] = [];
  for (let s = 0; s < options.scenarios; s++) {
    const attributes = randomAttributes(k, seed, s);
    const target = sampleTargetWeights(k, rngFor(seed, 'sim-target', s));
    const rng = rngFor(seed, 'sim-trials', s);
    const decisions: Decision[] = [];
    for (let t = 0; t < options.trials; t++) {
      const a = sampleOption(attributes, rng);
      const b = sampleOption(attributes, rng);
      const d = normalizedDifferences(attributes, a, b);
      let u = 0;
      for (let i = 0; i < k; i++) u += (target[i] / 100) * d[i];
      const pA = sigmoid(options.inverseTemperature * u);
      decisions.push({ a, b, pA, choice: rng.next() < pA ? 'A' : 'B' });
    }
    out.push({ id: `sim_${s}`, attributes, target, decisions });
  }
  return out;
}

export interface PrivilegedSimulationOptions {
  scenarios: number;
  /** Population r(self-report, learned weights). */
  selfR: number;
  /** Population r(report, learned weights) of each other reporter. */
  otherR: readonly number[];
  /**
   * Further reporters that are noisy copies of the self-report: self-report + noise·ε (ε normal,
   * in the reports' unit-variance scale), one per noise level. Their difference from the
   * self-report is measured far more precisely than an independent reporter's.
   */
  selfCopies?: readonly number[];
  seed?: string | number;
  attributes?: number;
}

/**
 * Input of the privileged-access analysis with known truth: one target ("t")
 * with learned weights, its self-report and other reporters ("o1", …), each
 * report r·z + √(1 − r²)·ε (z the standardised learned weights, ε normal
 * noise), so its population correlation with the learned weights is r. With
 * selfR equal to an otherR the self-reporter knows nothing the others do not
 * (the null); selfR − max(otherR) is a true advantage. A copy of the self-report
 * (`selfCopies`) is always a little worse than the self-report itself.
 */
export function simulatePrivilegedInput(o: PrivilegedSimulationOptions): PrivilegedInput {
  const seed = o.seed ?? 'privileged-simulation';
  const k = o.attributes ?? 5;
  const ids = Array.from({ length: o.scenarios }, (_, s) => `sim_${s}`);
  const learned = new Map(ids.map((id) => [id, sampleTargetWeights(k, rngFor(seed, 'pa-learned', id))]));
  const all = [...learned.values()].flat();
  const mean = all.reduce((t, x) => t + x, 0) / all.length;
  const sd = Math.sqrt(all.reduce((t, x) => t + (x - mean) ** 2, 0) / all.length);
  const reporter = (key: string, r: number) => {
    const rng = rngFor(seed, 'pa-report', key);
    return new Map(ids.map((id) => [id, learned.get(id)!.map((w) => r * ((w - mean) / sd) + Math.sqrt(1 - r * r) * normalDraw(rng))]));
  };
  const others = o.otherR.map((r, i) => [`o${i + 1}`, r] as const);
  const self = reporter('t', o.selfR);
  const copies = (o.selfCopies ?? []).map((noise, i) => {
    const key = `o${others.length + i + 1}`;
    const rng = rngFor(seed, 'pa-copy', key);
    return [key, new Map(ids.map((id) => [id, self.get(id)!.map((x) => x + noise * normalDraw(rng))]))] as const;
  });
  const keys = [...others.map(([key]) => key), ...copies.map(([key]) => key)];
  return {
    models: [{ key: 't', label: 'target', simulated: true }, ...keys.map((key) => ({ key, label: key, simulated: true }))],
    scenarios: ids.map((id) => ({ id, attributes: Array.from({ length: k }, () => ({ min: 0, max: 1 })) })),
    learned: new Map([['t', learned]]),
    reported: new Map([['t', self], ...others.map(([key, r]) => [key, reporter(key, r)] as const), ...copies]),
    observed: [],
    pools: new Map(),
    ks: [],
    complete: true,
  };
}
