/**
 * "Replicate the paper": the steps' state (sizes, downloads, adapters, modes),
 * kept in localStorage so it survives a reload; each step's run is found in the
 * runs library by its spec's step. The sets are built when asked for (a few
 * thousand examples) and kept until the sizes or the base model change.
 */
import { readJson, writeJson } from '../../app/settings';
import { beforeEvaluation, evaluatedAdapter, readReplicateState, stepForm, stepSet, type ReplicateState, type StepMode } from '../../app/replicate';
import { labTrainingSets } from '../../app/training-set';
import type { PaperStep } from '../../lib/experiment/paper-figures';
import type { ModelChoice } from '../../app/spec-form';

const KEY = 'lab.replicate';

class ReplicateStore {
  state = $state<ReplicateState>(readReplicateState(readJson<unknown>(KEY, {})));
  error = $state<string | null>(null);
  private built: { key: string; sets: ReturnType<typeof labTrainingSets> } | null = null;

  private save(): void {
    writeJson(KEY, $state.snapshot(this.state));
  }

  update(f: (s: ReplicateState) => void): void {
    f(this.state);
    this.save();
  }

  /** The lab's sets for the current sizes and base model (built on first use). */
  sets(): ReturnType<typeof labTrainingSets> {
    const o = $state.snapshot(this.state.sets);
    const key = JSON.stringify(o);
    if (this.built?.key !== key) this.built = { key, sets: labTrainingSets(o) };
    return this.built.sets;
  }

  setFor(step: PaperStep) {
    return stepSet(this.sets(), step);
  }

  markDownloaded(step: PaperStep): void {
    this.update((s) => (s.downloaded[step] = new Date().toISOString()));
  }

  setAdapter(step: PaperStep, id: string | null): void {
    this.update((s) => {
      if (id) s.adapters[step] = id;
      else delete s.adapters[step];
    });
  }

  setMode(step: PaperStep, mode: StepMode): void {
    this.update((s) => (s.mode[step] = mode));
  }

  /** The experiment form for a step's matched evaluation, or null with `error` set. */
  /** The step's matched evaluation; `before` (Exp 3): the instilled adapter on the same native contexts. */
  evaluationForm(step: PaperStep, base: ModelChoice, before = false) {
    this.error = null;
    try {
      const e = before ? beforeEvaluation(this.state, base) : { base, adapter: evaluatedAdapter(this.state, step), mode: this.state.mode[step] ?? 'adapter' };
      return stepForm(this.setFor(step), step, e);
    } catch (e) {
      this.error = (e as Error).message;
      return null;
    }
  }
}

export const replicate = new ReplicateStore();
