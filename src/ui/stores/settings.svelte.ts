/** Theme, large type and the local-models folder: page-wide settings, applied to <html>. */
import { DEFAULT_SETTINGS, localModelsFromQuery, readJson, writeJson, type PageSettings, type Theme } from '../../app/settings';

const KEY = 'lab.settings';

class SettingsStore {
  theme = $state<Theme>(DEFAULT_SETTINGS.theme);
  largeType = $state(DEFAULT_SETTINGS.largeType);
  /** Served folder of local models (?localModels=/models/), or null. */
  readonly localModels: string | null = typeof location !== 'undefined' ? localModelsFromQuery(location.search) : null;

  constructor() {
    const s = readJson<PageSettings>(KEY, DEFAULT_SETTINGS);
    this.theme = s.theme;
    this.largeType = s.largeType;
  }

  apply(): void {
    const root = document.documentElement;
    if (this.theme === 'auto') delete root.dataset.theme;
    else root.dataset.theme = this.theme;
    root.classList.toggle('large-type', this.largeType);
  }

  private save() {
    writeJson(KEY, { theme: this.theme, largeType: this.largeType } satisfies PageSettings);
    this.apply();
  }

  setTheme(t: Theme): void {
    this.theme = t;
    this.save();
  }

  /** auto → the opposite of the system's scheme → back to auto. */
  cycleTheme(): void {
    const systemDark = matchMedia('(prefers-color-scheme: dark)').matches;
    this.setTheme(this.theme === 'auto' ? (systemDark ? 'light' : 'dark') : 'auto');
  }

  toggleLargeType(): void {
    this.largeType = !this.largeType;
    this.save();
  }
}

export const settings = new SettingsStore();
