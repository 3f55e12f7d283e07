import { builtinScenarioSet } from '../lib/scenarios';
import type { Scenario } from '../lib/scenarios/types';

let cache: { seed: string; scenarios: Scenario[] } | null = null;

/** The built-in scenarios for a seed, memoised (the form lists them on every keystroke). */
export function builtinScenarios(seed: string): Scenario[] {
  if (cache?.seed !== seed) cache = { seed, scenarios: builtinScenarioSet(seed).scenarios };
  return cache.scenarios;
}
