/**
 * The lab's own decision contexts: choice types and agent roles written for
 * this project (data/choice-types.json, data/roles.json), paired by a seeded
 * shuffle into scenarios such as
 * "Imagine you are Macbeth. Which castle would you prefer?".
 */
import type { ChoiceType, Scenario } from './types';
import { SCENARIO_SET_FORMAT, SCENARIO_SET_VERSION, validateScenarioSet, type ScenarioSet } from './format';
import { rngFor, shuffled } from '../rng';
import choiceTypesData from './data/choice-types.json';
import rolesData from './data/roles.json';

/** The built-in choice types (fresh copies; callers may mutate them). */
export function builtinChoiceTypes(): ChoiceType[] {
  return (choiceTypesData as ChoiceType[]).map((t) => ({
    id: t.id,
    question: t.question,
    attributes: t.attributes.map((a) => ({ name: a.name, units: a.units, min: a.min, max: a.max })),
  }));
}

/** The built-in agent roles (fictional and historical characters). */
export function builtinRoles(): string[] {
  return (rolesData as string[]).slice();
}

/**
 * One scenario per choice type, in the types' order, each given a role from a
 * seeded shuffle of `roles` (the same seed always gives the same pairing).
 * With at least as many roles as types every role is used at most once;
 * otherwise the shuffled roles are reused in turn.
 */
export function buildScenarios(
  types: readonly ChoiceType[],
  roles: readonly string[],
  seed: string | number,
): Scenario[] {
  if (types.length > 0 && roles.length === 0) throw new Error('buildScenarios: no roles to assign');
  const order = shuffled(roles, rngFor(seed, 'scenario-roles'));
  return types.map((t, i) => ({
    id: t.id,
    question: `Imagine you are ${order[i % order.length]}. ${t.question}`,
    attributes: t.attributes.map((a) => ({ ...a })),
  }));
}

/** The built-in scenarios as a validated ScenarioSet; the seed picks the role pairing. */
export function builtinScenarioSet(seed: string | number = 'builtin'): ScenarioSet {
  const types = builtinChoiceTypes();
  const roles = builtinRoles();
  return validateScenarioSet(
    {
      format: SCENARIO_SET_FORMAT,
      version: SCENARIO_SET_VERSION,
      name: `Introspection Lab built-in contexts (seed ${seed})`,
      description: `${types.length} choice types written for Introspection Lab, each paired with one of ${roles.length} agent roles by a shuffle seeded with ${JSON.stringify(String(seed))}.`,
      scenarios: buildScenarios(types, roles, seed),
    },
    { forbidAffixNames: true },
  );
}
