/**
 * Training sets from the lab (the download): the same builders as
 * `npm run cli -- training-set`, on the built-in contexts paired by the
 * experiment's seed, for the model the experiment uses. Pure: returns files;
 * the page turns them into downloads.
 */
import { builtinScenarioSet } from '../lib/scenarios';
import { buildInstillSet, buildIntrospectSet, readTrainingSet, type BuiltSet, type Fold } from '../lib/training';
import { fromInstillSet } from '../lib/training/sources';
import type { ExportFile } from './exports';

export interface LabSetOptions {
  seed: string;
  /** Base model the evaluation specs load. */
  model: string;
  scenarios: number;
  decisions: number;
}

/** Where the README's command writes the adapter, relative to the set's folder. */
const ADAPTER = 'adapter';

const MIME: Record<string, string> = { jsonl: 'application/jsonl', json: 'application/json', csv: 'text/csv' };

export function setFiles(set: BuiltSet): ExportFile[] {
  return set.files.map((f) => ({ ...f, mime: MIME[f.name.split('.').pop()!] ?? 'text/plain' }));
}

/** Exp 1's instilling set and, from it, the introspection sets for each fold (Exp 2 and 3). */
export function labTrainingSets(o: LabSetOptions): { instill: BuiltSet; introspect: Record<Fold, BuiltSet> } {
  const source = { source: 'builtin' as const, roleSeed: o.seed };
  const available = builtinScenarioSet(o.seed).scenarios;
  const instill = buildInstillSet({ source, available, seed: o.seed, model: o.model, adapter: ADAPTER, scenarios: o.scenarios, decisions: o.decisions });
  const inputs = fromInstillSet(readTrainingSet(Object.fromEntries(instill.files.map((f) => [f.name, f.text]))));
  const introspect = Object.fromEntries(
    (['first', 'last', 'all'] as const).map((fold) => [fold, buildIntrospectSet({ ...inputs, adapter: ADAPTER, answers: 'target', fold })]),
  ) as Record<Fold, BuiltSet>;
  return { instill, introspect };
}
