import { buildPlan } from '../../src/lib/experiment/plan';
import { presetSpec } from '../../src/lib/experiment/presets';
import { builtinScenarioSet } from '../../src/lib/scenarios';
import type { OptionValues, Scenario } from '../../src/lib/scenarios/types';

export interface InputSize {
  scenarios: number;
  trials: number;
}

/**
 * Scenarios and options for the conformance suite: a few built-in scenarios, `size.trials` option
 * pairs each, as sampled. Engines are checked on prompts, not on the design, so the preset's
 * counterbalancing (each pair also shown swapped) is off: options[s] has exactly `size.trials` pairs.
 */
export function conformanceInputs(size: InputSize = { scenarios: 4, trials: 8 }): { scenarios: Scenario[]; options: Array<Array<{ a: OptionValues; b: OptionValues }>> } {
  const spec = {
    ...presetSpec('classroom', { model: { id: 'm' }, seed: 'conformance' }),
    counterbalance: false,
    decisionsPerScenario: size.trials,
    scenarios: { source: 'builtin' as const, count: size.scenarios },
  };
  const plan = buildPlan(spec, builtinScenarioSet('conformance').scenarios);
  const scenarios = plan.scenarios.map((p) => p.scenario);
  const options = scenarios.map((s) => plan.trials.filter((t) => t.kind === 'decision' && t.scenarioId === s.id).map(({ a, b }) => ({ a, b })));
  return { scenarios, options };
}
