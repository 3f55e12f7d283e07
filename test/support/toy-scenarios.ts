import type { Scenario } from '../../src/lib/scenarios/types';

/** Small synthetic scenarios with a mix of range sizes (so all rounding rules occur). */
export function toyScenarios(n: number): Scenario[] {
  return Array.from({ length: n }, (_, k) => ({
    id: `thing_${k}`,
    question: `Imagine you are Agent ${k}. Which thing ${k} would you prefer?`,
    attributes: Array.from({ length: 5 }, (_, i) => ({ name: `attr_${i}_of_${k}`, units: 'u', min: i, max: i + [100, 3, 0.4, 10, 1][i] })),
  }));
}
