/**
 * Ready-made experiments. "classroom" gives a readable result in minutes on a
 * laptop GPU; "paper" has the paper's sizes (100 contexts × 50 decisions and
 * 10 self-reports each).
 */
import type { Condition, ExperimentSpec, ModelRef, ReportMode } from './spec';
import { SPEC_FORMAT, SPEC_VERSION } from './spec';

export type PresetName = 'classroom' | 'paper';

export interface PresetOptions {
  /** The model under study. */
  model: Omit<ModelRef, 'key'>;
  /** Optional second model asked the same questions: the off-the-shelf control. */
  control?: Omit<ModelRef, 'key'>;
  seed?: string;
  mode?: ReportMode;
}

const SIZES: Record<PresetName, { scenarios: number; decisions: number; reports: number; label: string }> = {
  classroom: { scenarios: 10, decisions: 30, reports: 5, label: 'Classroom demo' },
  paper: { scenarios: 100, decisions: 50, reports: 10, label: 'Paper replication' },
};

export function presetSpec(name: PresetName, opts: PresetOptions): ExperimentSpec {
  const size = SIZES[name];
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

export const PRESETS: readonly PresetName[] = ['classroom', 'paper'];
