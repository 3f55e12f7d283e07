/**
 * Page settings that live outside any run: theme, large type, and the
 * ?localModels= folder (served model folders on this origin). Pure parsing
 * plus tiny localStorage helpers that never throw (private mode, full disk).
 */
export type Theme = 'auto' | 'light' | 'dark';

export interface PageSettings {
  theme: Theme;
  largeType: boolean;
}

export const DEFAULT_SETTINGS: PageSettings = { theme: 'auto', largeType: false };

/** The served folder of local models, from ?localModels=/models/ (same-origin paths only). */
export function localModelsFromQuery(search: string): string | null {
  const v = new URLSearchParams(search).get('localModels');
  if (!v) return null;
  if (!v.startsWith('/') || v.startsWith('//') || v.includes('..')) return null;
  return v.endsWith('/') ? v : `${v}/`;
}

export function readJson<T>(key: string, fallback: T): T {
  try {
    const raw = globalThis.localStorage?.getItem(key);
    return raw ? ({ ...fallback, ...JSON.parse(raw) } as T) : fallback;
  } catch {
    return fallback;
  }
}

export function readList<T>(key: string): T[] {
  try {
    const raw = globalThis.localStorage?.getItem(key);
    const v = raw ? JSON.parse(raw) : [];
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

export function writeJson(key: string, value: unknown): void {
  try {
    globalThis.localStorage?.setItem(key, JSON.stringify(value));
  } catch {
    /* settings are a convenience: losing them is fine */
  }
}
