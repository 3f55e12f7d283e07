/**
 * The trials the browser and real-model benchmarks time: a shrunk Classroom plan
 * (same seed, same trial ids everywhere), in the runner's order, with each trial's
 * prompt as the runner builds it. Plain data, so a Node process can hand them to a page.
 */
import { buildPlan, type TrialPlan } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { trialMessages } from '../src/lib/experiment/runner';
import { builtinScenarioSet } from '../src/lib/scenarios';
import type { ChatMessage } from '../src/lib/prompts';
import type { ReportMode } from '../src/lib/experiment/spec';

export interface BenchTrial {
  id: string;
  kind: 'decision' | 'report';
  messages: ChatMessage[];
  /** Reports: the scenario's attribute names and the report mode. */
  attributes?: string[];
  mode?: ReportMode;
}

export interface BenchTrialSize {
  scenarios: number;
  /** Decisions per scenario, each shown in both orders (counterbalanced, as the preset). */
  decisions: number;
  reports: number;
  mode?: ReportMode;
  seed?: string;
}

export function benchTrials(size: BenchTrialSize): BenchTrial[] {
  const seed = size.seed ?? 'bench';
  const spec = {
    ...presetSpec('classroom', { model: { id: 'bench-model' }, seed, mode: size.mode ?? 'constrained' }),
    scenarios: { source: 'builtin' as const, count: size.scenarios },
    decisionsPerScenario: size.decisions,
    reportsPerScenario: size.reports,
  };
  const plan: TrialPlan = buildPlan(spec, builtinScenarioSet(seed).scenarios);
  return plan.trials.map((t) => {
    const planned = plan.scenarios.find((p) => p.scenario.id === t.scenarioId)!;
    const messages = trialMessages(t, planned, { spec, plan });
    return t.kind === 'decision'
      ? { id: t.id, kind: 'decision', messages }
      : { id: t.id, kind: 'report', messages, attributes: planned.scenario.attributes.map((a) => a.name), mode: t.mode };
  });
}
