/**
 * An intervention as one trial applies it (issue 18): resolved per scenario
 * from the spec's Intervention by the plan. Its own module, importing nothing
 * of the experiment, so the plan, the simulated models and the engine
 * interface can all name it without an import circle.
 */
import type { PromptIntervention } from '../prompts';

export interface TrialIntervention extends PromptIntervention {
  /** The model's adapter at this scale (0 = base, 1 = as trained). */
  adapterScale?: number;
}
