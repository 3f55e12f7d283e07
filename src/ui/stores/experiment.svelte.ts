/**
 * The experiment being prepared: a form (filled by a preset, then edited),
 * the spec derived from it, its problems, and saving / loading / sharing the
 * spec as JSON. The draft survives a reload (localStorage).
 */
import type { PresetName } from '../../lib/presets';
import { parseSpec, SpecError, type EngineChoice, type ExperimentSpec } from '../../lib/spec';
import { builtinScenarios } from '../../app/scenarios';
import { checkForm, formFromPreset, formFromSpec, specFromForm, trialCount, type ModelChoice, type SpecForm } from '../../app/spec-form';
import { readJson, readList, writeJson } from '../../app/settings';
import { models } from './models.svelte';

const DRAFT_KEY = 'lab.draft';
const SAVED_KEY = 'lab.savedSpecs';

export interface SavedSpec {
  name: string;
  savedAt: string;
  spec: ExperimentSpec;
}

function defaultModel(): ModelChoice {
  const m = models.all[0];
  return { id: m?.id ?? '', label: m?.label, device: 'auto', dtype: 'auto', engine: m ? models.engineOf(m.id) : 'auto' };
}

class ExperimentStore {
  form = $state<SpecForm>(formFromPreset('classroom', defaultModel()));
  /** Scenarios the form can pick from (the built-in set, paired by the seed). */
  scenarios = $derived(builtinScenarios(this.form.seed || 'introspection-lab'));
  check = $derived(checkForm(this.form, this.scenarios.length));
  spec = $derived<ExperimentSpec>(specFromForm(this.form));
  specJson = $derived(JSON.stringify(this.spec, null, 2));
  trials = $derived(trialCount(this.spec, this.form.scenarioIds.length || this.form.scenarioCount));
  loadErrors = $state<string[] | null>(null);
  saved = $state<SavedSpec[]>(readList<SavedSpec>(SAVED_KEY));

  constructor() {
    const draft = readJson<{ form: SpecForm | null }>(DRAFT_KEY, { form: null }).form;
    if (draft && draft.model && draft.prompts) this.form = draft;
  }

  /** Persist the draft (called by the view on every change). */
  persist(): void {
    writeJson(DRAFT_KEY, { form: $state.snapshot(this.form) });
  }

  applyPreset(preset: PresetName): void {
    this.form = formFromPreset(preset, this.form.model, this.form.control, this.form.seed);
    this.loadErrors = null;
  }

  setModel(choice: ModelChoice): void {
    this.form.model = choice;
    if (this.form.control?.id === choice.id) this.form.control = null;
  }

  setControl(choice: ModelChoice | null): void {
    this.form.control = choice;
  }

  /** A model's engine choice changed (Models view): the form follows where it uses that model. */
  setEngine(modelId: string, engine: EngineChoice): void {
    if (this.form.model.id === modelId) this.form.model.engine = engine;
    if (this.form.control?.id === modelId) this.form.control.engine = engine;
  }

  /** Load a spec from JSON text; on problems keep the form and list them. */
  loadText(text: string): boolean {
    try {
      this.form = formFromSpec(parseSpec(text));
      this.loadErrors = null;
      return true;
    } catch (e) {
      this.loadErrors = e instanceof SpecError ? e.problems : [String((e as Error).message ?? e)];
      return false;
    }
  }

  loadSaved(s: SavedSpec): void {
    this.loadText(JSON.stringify(s.spec));
  }

  saveInBrowser(): void {
    const spec = $state.snapshot(this.spec) as ExperimentSpec;
    this.saved = [{ name: spec.name, savedAt: new Date().toISOString(), spec }, ...this.saved.filter((s) => s.name !== spec.name)].slice(0, 30);
    writeJson(SAVED_KEY, this.saved);
  }

  deleteSaved(name: string): void {
    this.saved = this.saved.filter((s) => s.name !== name);
    writeJson(SAVED_KEY, this.saved);
  }

  toggleScenario(id: string): void {
    const ids = this.form.scenarioIds;
    this.form.scenarioIds = ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id];
  }
}

export const experiment = new ExperimentStore();
