import { buildPlan } from '../../src/lib/plan';
import { presetSpec } from '../../src/lib/presets';
import { builtinScenarioSet } from '../../src/lib/scenarios';
import type { OptionValues, Scenario } from '../../src/lib/scenarios/types';

/** Scenarios and options for the conformance suite: a few built-in scenarios, 8 trials each. */
export function conformanceInputs(): { scenarios: Scenario[]; options: Array<Array<{ a: OptionValues; b: OptionValues }>> } {
  const spec = { ...presetSpec('classroom', { model: { id: 'm' }, seed: 'conformance' }), decisionsPerScenario: 8, scenarios: { source: 'builtin' as const, count: 4 } };
  const plan = buildPlan(spec, builtinScenarioSet('conformance').scenarios);
  const scenarios = plan.scenarios.map((p) => p.scenario);
  const options = scenarios.map((s) => plan.trials.filter((t) => t.kind === 'decision' && t.scenarioId === s.id).map(({ a, b }) => ({ a, b })));
  return { scenarios, options };
}
