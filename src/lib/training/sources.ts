/**
 * Where an introspection set's inputs come from: the instilling set it follows
 * (its contexts and target weights), or a finished run of that set's
 * evaluation (the learned weights its decisions reveal: the paper's appendix D).
 */
import { learnedWeights } from '../analysis/weights';
import { resolveScenarios } from '../experiment/plan';
import type { RunRecord } from '../experiment/runs';
import type { ScenarioSource } from '../experiment/spec';
import type { Scenario, Weights } from '../scenarios/types';
import { TrainingSetError } from './set';
import type { ReadSet } from './validate';

export interface IntrospectInputs {
  source: ScenarioSource;
  available: Scenario[];
  seed: string;
  model: string;
  adapter?: string;
  instilled: string[];
  targets: Record<string, Weights>;
  weights: Record<string, Weights>;
  fromRun?: string;
}

function sourceOf(spec: ReadSet['evalSpec']): ScenarioSource {
  const sc = spec.scenarios;
  return sc.source === 'inline' ? { source: 'inline', set: sc.set } : { source: 'builtin', ...(sc.roleSeed ? { roleSeed: sc.roleSeed } : {}) };
}

/** From an instilling set (read and checked): its contexts, targets as the answers' weights. */
export function fromInstillSet(set: ReadSet): IntrospectInputs {
  if (set.manifest.kind !== 'instill') throw new TrainingSetError(['--from-targets needs an instilling set (made by `training-set instill`)']);
  const targets = set.evalSpec.scenarios.targets ?? {};
  const self = set.evalSpec.models[0];
  return {
    source: sourceOf(set.evalSpec),
    available: resolveScenarios(set.evalSpec),
    seed: set.manifest.seed,
    model: self.id,
    adapter: self.adapter?.id,
    instilled: set.manifest.trained,
    targets,
    weights: targets,
  };
}

/**
 * From a run of an instilling set's evaluation: the learned weights of its
 * first decision condition per context (logistic fit, scaled to ±100).
 * Contexts whose fit did not converge are refused by name.
 */
export function fromRun(record: RunRecord): IntrospectInputs {
  const decide = record.spec.conditions.find((c) => c.kind === 'decisions');
  if (!decide) throw new TrainingSetError([`run ${record.id} has no decision condition to learn weights from`]);
  const results = new Map(record.results.map((r) => [r.trialId, r]));
  const problems: string[] = [];
  const weights: Record<string, Weights> = {};
  for (const { scenario } of record.plan.scenarios) {
    const decisions = record.plan.trials.flatMap((t) => {
      const r = results.get(t.id);
      return t.kind === 'decision' && t.condition === decide.key && t.scenarioId === scenario.id && r?.kind === 'decision' ? [{ a: t.a, b: t.b, choice: r.choice }] : [];
    });
    if (decisions.length < 2) {
      problems.push(`context "${scenario.id}": ${decisions.length} decision(s) in the run; finish the run first`);
      continue;
    }
    const fit = learnedWeights(scenario.attributes, decisions);
    if (!fit.converged) problems.push(`context "${scenario.id}": the logistic fit did not converge (${fit.reason ?? 'unknown reason'})`);
    else weights[scenario.id] = fit.weights;
  }
  if (problems.length) throw new TrainingSetError(problems);
  const self = record.spec.models.find((m) => m.key === decide.model) ?? record.spec.models[0];
  return {
    source: sourceOf(record.spec),
    available: resolveScenarios(record.spec),
    seed: record.spec.seed,
    model: self.id,
    adapter: self.adapter?.id,
    instilled: record.plan.scenarios.map((p) => p.scenario.id),
    targets: Object.fromEntries(record.plan.scenarios.map((p) => [p.scenario.id, p.target])),
    weights,
    fromRun: record.id,
  };
}
