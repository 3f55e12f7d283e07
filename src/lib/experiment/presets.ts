/**
 * Ready-made experiments. "classroom" gives a readable result in minutes on a
 * laptop GPU; "paper" has the paper's sizes (100 contexts × 50 decisions and
 * 10 self-reports each). "who-knows" asks who describes each of several models
 * best (itself, the others, observers shown its decisions); "simulated" is that
 * experiment with three simulated models, no download.
 */
import type { Condition, ExperimentSpec, Intervention, ModelRef, ReportMode } from './spec';
import { SPEC_FORMAT, SPEC_VERSION } from './spec';
import { simulatedId } from './simulated';

export type PresetName = 'classroom' | 'paper' | 'who-knows' | 'simulated' | 'causal' | 'self-prediction';

export interface PresetOptions {
  /** The model under study. */
  model: Omit<ModelRef, 'key'>;
  /** Optional second model asked the same questions: the off-the-shelf control. */
  control?: Omit<ModelRef, 'key'>;
  seed?: string;
  mode?: ReportMode;
  /** who-knows: models after the first two (model, control). */
  others?: Omit<ModelRef, 'key'>[];
  /** who-knows / simulated: how many decisions observers are shown (default 0, 5, 10, 20). */
  observe?: number[];
}

const SIZES: Record<PresetName, { scenarios: number; decisions: number; reports: number; label: string }> = {
  classroom: { scenarios: 10, decisions: 30, reports: 5, label: 'Classroom demo' },
  paper: { scenarios: 100, decisions: 50, reports: 10, label: 'Paper replication' },
  'who-knows': { scenarios: 10, decisions: 30, reports: 5, label: 'Who knows it best?' },
  simulated: { scenarios: 30, decisions: 50, reports: 5, label: 'Simulated models (no download)' },
  causal: { scenarios: 20, decisions: 20, reports: 4, label: 'Does the self-report follow the behaviour?' },
  'self-prediction': { scenarios: 10, decisions: 10, reports: 0, label: 'Can it predict itself?' },
};

/** The self-prediction preset's observer k's. */
export const SELF_PREDICTION_K: readonly number[] = [0, 5, 20];

/**
 * The models of a several-model spec keyed m1, m2, …, each with its decisions and, when an
 * observer is shown k > 0 of them, a pool of max k example decisions (then `more(m)` after
 * them): the part the several-models and self-prediction presets share.
 */
function decidersWithPools(models: readonly Omit<ModelRef, 'key'>[], observe: readonly number[], more: (m: ModelRef) => Condition[] = () => []) {
  const ks = [...new Set(observe)].sort((a, b) => a - b);
  const poolSize = Math.max(0, ...ks);
  const keyed: ModelRef[] = models.map((m, i) => ({ key: `m${i + 1}`, ...m }));
  const conditions: Condition[] = [];
  for (const m of keyed) {
    conditions.push({ kind: 'decisions', key: `decide-${m.key}`, model: m.key });
    if (poolSize > 0) conditions.push({ kind: 'decisions', key: `pool-${m.key}`, model: m.key, pool: poolSize });
    conditions.push(...more(m));
  }
  return { ks, keyed, conditions };
}

/**
 * "Can it predict itself?" (issue 18): per model, its decisions, an example pool,
 * and predictions of each of its decisions (its P(A) and its choice) by itself
 * and by every model as an observer shown k = 0, 5, 20 of its pool decisions.
 */
export function selfPredictionSpec(
  name: string,
  size: { scenarios: number; decisions: number },
  models: readonly Omit<ModelRef, 'key'>[],
  opts: { seed?: string; mode?: ReportMode; observe?: readonly number[] } = {},
): ExperimentSpec {
  const mode = opts.mode ?? 'constrained';
  const { ks, keyed, conditions } = decidersWithPools(models, opts.observe ?? SELF_PREDICTION_K);
  for (const predict of ['probability', 'choice'] as const)
    for (const t of keyed) {
      conditions.push({ kind: 'predictions', key: `predict-${predict}-${t.key}`, reporter: t.key, about: `decide-${t.key}`, predict, mode });
      for (const r of keyed)
        for (const k of ks)
          conditions.push({ kind: 'predictions', key: `predict-${predict}-${r.key}-observes-${t.key}-k${k}`, reporter: r.key, about: `decide-${t.key}`, predict, mode, observe: k ? { pool: `pool-${t.key}`, k } : { k } });
    }
  return {
    format: SPEC_FORMAT,
    version: SPEC_VERSION,
    name,
    seed: opts.seed ?? 'introspection-lab',
    scenarios: { source: 'builtin', count: size.scenarios },
    decisionsPerScenario: size.decisions,
    reportsPerScenario: 0,
    models: keyed,
    conditions,
  };
}

/** The causal preset's adapter scales (a dose–response), for a model with an adapter. */
export const CAUSAL_SCALES: readonly number[] = [0, 0.25, 0.5, 1];

/**
 * "Does the self-report follow the behaviour?" (issue 18): per model, its
 * decisions and self-reports as it is (the baseline) and steered toward one
 * attribute per scenario (seeded), and, with an adapter, at each of
 * CAUSAL_SCALES. Each intervened condition is compared with the baseline
 * (src/lib/analysis/causal.ts).
 */
export function causalSpec(
  name: string,
  size: { scenarios: number; decisions: number; reports: number },
  models: readonly Omit<ModelRef, 'key'>[],
  opts: { seed?: string; mode?: ReportMode } = {},
): ExperimentSpec {
  const mode = opts.mode ?? 'constrained';
  const keyed: ModelRef[] = models.map((m, i) => ({ key: `m${i + 1}`, ...m }));
  const conditions: Condition[] = [];
  const add = (m: ModelRef, key: string, intervention?: Intervention) => {
    conditions.push({ kind: 'decisions', key: `decide-${m.key}${key}`, model: m.key, ...(intervention ? { intervention } : {}) });
    conditions.push({ kind: 'reports', key: `report-${m.key}${key}`, reporter: m.key, about: `decide-${m.key}${key}`, mode });
  };
  for (const m of keyed) {
    add(m, '');
    add(m, '-steer', { steer: { attribute: 'random', direction: 1 } });
    const scalable = m.adapter || /[?&]weights=target(&|$)/.test(m.id);
    if (scalable) for (const s of CAUSAL_SCALES) add(m, `-scale-${String(s).replace('.', '_')}`, { adapterScale: s });
  }
  return {
    format: SPEC_FORMAT,
    version: SPEC_VERSION,
    name,
    seed: opts.seed ?? 'introspection-lab',
    scenarios: { source: 'builtin', count: size.scenarios },
    decisionsPerScenario: size.decisions,
    reportsPerScenario: size.reports,
    counterbalance: true,
    models: keyed,
    conditions,
  };
}

export const DEFAULT_OBSERVE_K: readonly number[] = [0, 5, 10, 20];

/** The simulated preset's models: one trained on the target weights that knows them, two native ones that know only common sense. */
export const SIMULATED_PRESET_MODELS: readonly Omit<ModelRef, 'key'>[] = [
  { id: simulatedId({ label: 'trained', weights: 'target', access: 0.9 }), label: 'trained (simulated)' },
  { id: simulatedId({ label: 'native-1', weights: 'native', access: 0 }), label: 'native 1 (simulated)' },
  { id: simulatedId({ label: 'native-2', weights: 'native', access: 0 }), label: 'native 2 (simulated)' },
];

/**
 * Several models, each a target: its decisions (learned weights), its
 * self-report, an example pool of its decisions (the largest k per scenario)
 * and observers. Every model observes every model (itself included) at each
 * k > 0; at k = 0 nothing is shown, so the prompt names no target and one
 * condition per reporter serves every target (as a self-report serves every
 * column of the cross-report matrix).
 */
export function severalModelsSpec(
  name: string,
  size: { scenarios: number; decisions: number; reports: number },
  models: readonly Omit<ModelRef, 'key'>[],
  opts: { seed?: string; mode?: ReportMode; observe?: readonly number[] } = {},
): ExperimentSpec {
  const mode = opts.mode ?? 'constrained';
  const { ks, keyed, conditions } = decidersWithPools(models, opts.observe ?? DEFAULT_OBSERVE_K, (m) => [
    { kind: 'reports', key: `report-${m.key}`, reporter: m.key, about: `decide-${m.key}`, mode },
  ]);
  for (const r of keyed)
    for (const k of ks)
      for (const t of k === 0 ? [r] : keyed)
        conditions.push({ kind: 'reports', key: `observe-${r.key}-${t.key}-k${k}`, reporter: r.key, about: `decide-${t.key}`, mode, observe: k ? { pool: `pool-${t.key}`, k } : { k } });
  return {
    format: SPEC_FORMAT,
    version: SPEC_VERSION,
    name,
    seed: opts.seed ?? 'introspection-lab',
    scenarios: { source: 'builtin', count: size.scenarios },
    decisionsPerScenario: size.decisions,
    reportsPerScenario: size.reports,
    counterbalance: true,
    models: keyed,
    conditions,
  };
}

export function presetSpec(name: PresetName, opts: PresetOptions): ExperimentSpec {
  const size = SIZES[name];
  if (name === 'simulated') return severalModelsSpec(size.label, size, SIMULATED_PRESET_MODELS, opts);
  if (name === 'self-prediction') return selfPredictionSpec(size.label, size, [opts.model, ...(opts.control ? [opts.control] : []), ...(opts.others ?? [])], opts);
  if (name === 'causal') return causalSpec(size.label, size, [opts.model, ...(opts.control ? [opts.control] : []), ...(opts.others ?? [])], opts);
  if (name === 'who-knows')
    return severalModelsSpec(size.label, size, [opts.model, ...(opts.control ? [opts.control] : []), ...(opts.others ?? [])], opts);
  const models: ModelRef[] = [{ key: 'self', ...opts.model }];
  const mode = opts.mode ?? 'constrained';
  const conditions: Condition[] = [
    { kind: 'decisions', key: 'decide', model: 'self' },
    { kind: 'reports', key: 'self-report', reporter: 'self', about: 'decide', mode },
  ];
  if (opts.control) {
    models.push({ key: 'control', ...opts.control });
    conditions.push({ kind: 'reports', key: 'control-report', reporter: 'control', about: 'decide', mode });
  }
  return {
    format: SPEC_FORMAT,
    version: SPEC_VERSION,
    name: size.label,
    seed: opts.seed ?? 'introspection-lab',
    scenarios: { source: 'builtin', count: size.scenarios },
    decisionsPerScenario: size.decisions,
    reportsPerScenario: size.reports,
    counterbalance: true,
    models,
    conditions,
  };
}

/** The page's preset picker, in its order. */
export const PRESETS: readonly PresetName[] = ['classroom', 'paper', 'who-knows', 'simulated', 'causal', 'self-prediction'];
/** Every preset `cli run --preset` takes: the same as the page's. */
export const CLI_PRESETS: readonly PresetName[] = PRESETS;
