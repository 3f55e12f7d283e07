/**
 * The privileged-access analysis of a run with several models (issue 9): who describes a
 * model's decision process best — the model itself, another model, an observer shown some of
 * its decisions, or a statistician fitting those decisions?
 *
 * Field names are snake_case on purpose: this object is exactly the `privileged_access`
 * section printed by `cli analyze --run DIR --json` and exactly what the lab's Results page
 * shows. Model keys are the spec's model keys.
 */

export type Verdict = 'shown' | 'not_shown' | 'undetermined';

export interface PAModel {
  key: string;
  label: string;
  /** A simulated model (`sim:` id): a teaching and testing tool, never a result. */
  simulated: boolean;
}

export interface PAMatrixCell {
  /** Model key of the reporter. */
  reporter: string;
  /** Model key of the target (whose learned weights are described). */
  target: string;
  /** Pearson r(reporter's reports, target's learned weights). */
  r: number;
  /** 95 % scenario-bootstrap interval. */
  ci: [number, number];
  n_points: number;
  /** reporter === target (the diagonal: introspection). */
  self: boolean;
}

export interface PAVerdict {
  target: string;
  self_r: number;
  /** Key of the best other reporter/observer ("obs:<reporter>@k" for observers, "stat@k" for the statistical observer). */
  best_other: string | null;
  best_other_r: number | null;
  /** self_r − best_other_r. */
  diff: number | null;
  /** Paired scenario bootstrap, 95 %. */
  ci: [number, number] | null;
  /** 'shown' only when ci lies above 0. */
  verdict: Verdict;
  /** Plain-language sentence naming the common-sense baseline. */
  why: string;
}

export interface PAObserverPoint {
  /** Who observes. */
  reporter: string;
  /** Whose decisions were shown. */
  target: string;
  /** Decisions shown in context. */
  k: number;
  r: number;
  ci: [number, number];
  n_points: number;
}

export interface PAStatPoint {
  target: string;
  k: number;
  r: number;
  ci: [number, number];
}

/** r(learned_a, learned_b): how much two models' behaviour overlaps. */
export interface PACommonSense {
  a: string;
  b: string;
  r: number;
}

/** "M's self-report is worth about k* observed decisions". */
export interface PAWorth {
  target: string;
  /** Interpolated k where the statistical observer's curve reaches self_r. */
  k_star: number | null;
  relation: 'between' | 'below_min' | 'above_max' | 'unknown';
  text: string;
}

export interface PrivilegedAccess {
  models: PAModel[];
  matrix: PAMatrixCell[];
  verdicts: PAVerdict[];
  observers: PAObserverPoint[];
  statistical_observer: PAStatPoint[];
  common_sense: PACommonSense[];
  partial: { target: string; self_r: number; self_r_partial: number | null }[];
  worth: PAWorth[];
  /** Trials missing (run still going): the numbers are provisional. */
  complete: boolean;
}
