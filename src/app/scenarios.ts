/**
 * The scenarios a spec refers to, resolved: the built-in set (roles paired by
 * `roleSeed`, else the spec's seed, as the browser plan test does) or the
 * spec's inline set. Pure.
 */
import { builtinScenarioSet } from '../lib/scenarios';
import type { Scenario } from '../lib/scenarios/types';
import type { ExperimentSpec } from '../lib/spec';

export function resolveScenarios(spec: ExperimentSpec): Scenario[] {
  const sc = spec.scenarios;
  if (sc.source === 'inline') return sc.set.scenarios;
  return builtinScenarioSet(sc.roleSeed ?? spec.seed).scenarios;
}

let cache: { seed: string; scenarios: Scenario[] } | null = null;

/** The built-in scenarios for a seed, memoised (the form lists them on every keystroke). */
export function builtinScenarios(seed: string): Scenario[] {
  if (cache?.seed !== seed) cache = { seed, scenarios: builtinScenarioSet(seed).scenarios };
  return cache.scenarios;
}
