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
