/**
 * The experiment being prepared: a form (filled by a preset, then edited),
 * the spec derived from it, its problems, and saving / loading / sharing the
 * spec as JSON. The draft survives a reload (localStorage).
 */
import type { PresetName } from '../../lib/experiment/presets';
import { parseSpec, SpecError, type EngineChoice, type ExperimentSpec } from '../../lib/experiment/spec';
import { builtinScenarios } from '../../app/scenarios';
import { checkForm, formFromPreset, modelsForPreset, sameModelChoice, formFromSpec, loadedSet, scenarioCountFor, specFromForm, trialCount, type ModelChoice, type SpecForm } from '../../app/spec-form';
import { importScenarioFile, parseRowRange, problemsOf, type ScenarioFileKind } from '../../app/scenario-import';
import type { FormatProblem } from '../../lib/scenarios';
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

/** The scenario file last read in this page (its text is kept so a new row range can be applied). */
export interface ScenarioFileState {
  fileName: string;
  kind: ScenarioFileKind;
  text: string;
  /** The row range text it was read with. */
  rows: string;
}

/** A draft saved before scenario files existed has no scenario source: it used the built-in set. */
function withScenarioFields(form: SpecForm): SpecForm {
  return { ...form, scenarioSource: form.scenarioSource === 'file' ? 'file' : 'builtin', scenarioSet: form.scenarioSet ?? null };
}

class ExperimentStore {
  form = $state<SpecForm>(formFromPreset('classroom', defaultModel()));
  /** Scenarios the form can pick from: the loaded set, or the built-in set paired by the seed. */
  scenarios = $derived(loadedSet(this.form)?.scenarios ?? builtinScenarios(this.form.seed || 'introspection-lab'));
  /** The file behind the loaded set, while this page has it (not persisted). */
  scenarioFile = $state<ScenarioFileState | null>(null);
  /** Row range typed for a paper CSV ("1-100"); empty = all rows. */
  scenarioRows = $state('');
  /** Problems with the last scenario file (or row range); the form is left as it was. */
  scenarioErrors = $state<FormatProblem[] | null>(null);
  check = $derived(checkForm(this.form, this.scenarios.length));
  spec = $derived<ExperimentSpec>(specFromForm(this.form));
  specJson = $derived(JSON.stringify(this.spec, null, 2));
  trials = $derived(trialCount(this.spec, this.form.scenarioIds.length || this.form.scenarioCount));
  loadErrors = $state<string[] | null>(null);
  saved = $state<SavedSpec[]>(readList<SavedSpec>(SAVED_KEY));

  constructor() {
    const draft = readJson<{ form: SpecForm | null }>(DRAFT_KEY, { form: null }).form;
    if (draft && draft.model && draft.prompts) this.form = withScenarioFields(draft);
  }

  /** Persist the draft (called by the view on every change). */
  persist(): void {
    writeJson(DRAFT_KEY, { form: $state.snapshot(this.form) });
  }

  applyPreset(preset: PresetName): void {
    const { scenarioSource, scenarioSet } = this.form;
    const m = modelsForPreset(preset, { model: this.form.model, control: this.form.control, others: this.form.others ?? [] }, defaultModel());
    this.form = formFromPreset(preset, m.model, m.control, this.form.seed, { scenarioSource, scenarioSet }, m.others);
    this.loadErrors = null;
  }

  /** Built-in set or a loaded file; a hand-picked selection belongs to the old set and is cleared. */
  setScenarioSource(source: SpecForm['scenarioSource']): void {
    if (this.form.scenarioSource === source) return;
    const before = this.scenarios.length;
    this.form.scenarioSource = source;
    this.form.scenarioIds = [];
    // With "Load a file…" and no file yet there is nothing to size against: keep the count until one is loaded.
    if (source === 'builtin' || this.form.scenarioSet) this.form.scenarioCount = scenarioCountFor(this.form, before, this.scenarios.length);
    this.scenarioErrors = null;
  }

  /**
   * Read a scenario file (JSON set or the paper's CSV, with the typed row
   * range). On success the form uses it; on problems they are listed and
   * nothing in the form changes.
   */
  loadScenarioFile(fileName: string, text: string): boolean {
    try {
      const imported = importScenarioFile(fileName, text, { rows: parseRowRange(this.scenarioRows) });
      this.scenarioFile = { fileName: imported.fileName, kind: imported.kind, text, rows: this.scenarioRows };
      const before = loadedSet(this.form) ? this.scenarios.length : Infinity;
      this.form.scenarioCount = scenarioCountFor(this.form, before, imported.set.scenarios.length);
      this.form.scenarioSource = 'file';
      this.form.scenarioSet = imported.set;
      this.form.scenarioIds = [];
      this.scenarioErrors = null;
      return true;
    } catch (e) {
      this.scenarioErrors = problemsOf(e);
      return false;
    }
  }

  /** The row range changed: re-read the file this page holds (if any) with it. */
  applyScenarioRows(): void {
    if (this.scenarioFile?.rows === this.scenarioRows) return;
    if (this.scenarioFile) this.loadScenarioFile(this.scenarioFile.fileName, this.scenarioFile.text);
    else {
      try {
        parseRowRange(this.scenarioRows);
        this.scenarioErrors = null;
      } catch (e) {
        this.scenarioErrors = problemsOf(e);
      }
    }
  }

  setModel(choice: ModelChoice): void {
    this.form.model = choice;
    if (this.form.control && sameModelChoice(this.form.control, choice)) this.form.control = null;
  }

  setControl(choice: ModelChoice | null): void {
    this.form.control = choice;
  }

  /** Several-model presets: set (or, with null, remove) the i-th further model; i = its length adds one. */
  setOther(i: number, choice: ModelChoice | null): void {
    const others = [...(this.form.others ?? [])];
    if (choice) others[i] = choice;
    else others.splice(i, 1);
    this.form.others = others;
  }

  /** A model's engine choice changed (Models view): the form follows where it uses that model. */
  setEngine(modelId: string, engine: EngineChoice): void {
    if (this.form.model.id === modelId) this.form.model.engine = engine;
    if (this.form.control?.id === modelId) this.form.control.engine = engine;
    for (const m of this.form.others ?? []) if (m.id === modelId) m.engine = engine;
  }

  /** Load a spec from JSON text; on problems keep the form and list them. */
  loadText(text: string): boolean {
    try {
      this.form = formFromSpec(parseSpec(text));
      this.loadErrors = null;
      this.scenarioFile = null;
      this.scenarioErrors = null;
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
