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
  /**
   * Whether the spec has it make decisions of its own: a control that only reports (Classroom with a
   * control) has no learned weights, so it is never a target. Absent in older exports: taken as true.
   */
  decides?: boolean;
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

/**
 * Self against one other description of the same target, on the scenarios both have:
 * both r's and their difference come from exactly those scenarios.
 */
export interface PAComparison {
  /** Key of the other ("obs:<reporter>@k" for observers, "stat@k" for the statistical observer). */
  other: string;
  /** Scenarios both have: the only ones used for self_r, other_r, diff and ci. */
  n_scenarios: number;
  /** Self-report r on those scenarios. */
  self_r: number;
  /** The other's r on those scenarios. */
  other_r: number;
  /** self_r − other_r. */
  diff: number;
  /** Paired scenario bootstrap (the same resampled scenarios for both r), 95 %. */
  ci: [number, number];
}

/**
 * The verdict is an intersection–union test: `shown` only when self beats every other, i.e.
 * every comparison's interval lies above 0. The fields below describe the comparison that
 * decides it (the lowest interval): its numbers all come from its own `n_scenarios`.
 */
export interface PAVerdict {
  target: string;
  /** Self-report r over all the target's scenarios (the matrix diagonal). */
  self_r: number;
  /** Key of the closest other (lowest interval; "obs:<reporter>@k" for observers, "stat@k" for the statistical observer). */
  best_other: string | null;
  /** The closest other's r on the scenarios it shares with the self-report. */
  best_other_r: number | null;
  /** The self-report's r on those same scenarios. */
  self_r_paired: number | null;
  /** How many scenarios those are. */
  n_scenarios: number | null;
  /** self_r_paired − best_other_r. */
  diff: number | null;
  /** Paired scenario bootstrap, 95 %. */
  ci: [number, number] | null;
  /** Every comparison (one per other), each on its own shared scenarios. */
  comparisons: PAComparison[];
  /** 'shown' only when every comparison's ci lies above 0. */
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
