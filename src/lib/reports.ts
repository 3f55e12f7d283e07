/**
 * Tolerant parsing of free-text self-reports (the paper's JSON answer).
 * Keys are matched to attribute names exactly, then ignoring case and
 * separators, then by an unambiguous prefix or suffix ("durability" for
 * "durability_rating"). Every failure records why, so invalid rates can be
 * broken down.
 */

export type InvalidReason =
  | 'no_json'
  | 'bad_json'
  | 'not_object'
  | 'missing_key'
  | 'unknown_key'
  | 'ambiguous_key'
  | 'duplicate_key'
  | 'not_a_number'
  | 'out_of_range';

export type ReportParse =
  | { ok: true; weights: number[]; matchedBy: Array<'exact' | 'normalized' | 'affix'> }
  | { ok: false; reason: InvalidReason; detail: string };

export const REPORT_MIN = -100;
export const REPORT_MAX = 100;

/** The first balanced {...} in the text, skipping braces inside strings. */
export function extractJsonObject(text: string): string | null {
  const start = text.indexOf('{');
  if (start < 0) return null;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}

const normalize = (s: string) => s.toLowerCase().replace(/[\s_\-]+/g, '');

/** Index of the attribute a reported key names, or why it names none. */
function matchKey(key: string, names: readonly string[]): { index: number; by: 'exact' | 'normalized' | 'affix' } | InvalidReason {
  const exact = names.indexOf(key);
  if (exact >= 0) return { index: exact, by: 'exact' };
  const nk = normalize(key);
  const norm = names.map(normalize);
  const byNorm = norm.flatMap((n, i) => (n === nk ? [i] : []));
  if (byNorm.length === 1) return { index: byNorm[0], by: 'normalized' };
  if (byNorm.length > 1) return 'ambiguous_key';
  if (!nk) return 'unknown_key';
  const byAffix = norm.flatMap((n, i) => (n.startsWith(nk) || n.endsWith(nk) || nk.startsWith(n) || nk.endsWith(n) ? [i] : []));
  if (byAffix.length === 1) return { index: byAffix[0], by: 'affix' };
  return byAffix.length > 1 ? 'ambiguous_key' : 'unknown_key';
}

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && /^\s*[-+]?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

export function parseReport(text: string, attributeNames: readonly string[]): ReportParse {
  const json = extractJsonObject(text.replace(/```(?:json)?/g, ''));
  if (json === null) return { ok: false, reason: 'no_json', detail: 'No JSON object found in the reply.' };
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch (e) {
    return { ok: false, reason: 'bad_json', detail: `The JSON does not parse: ${(e as Error).message}` };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    return { ok: false, reason: 'not_object', detail: 'The JSON is not an object of name: weight pairs.' };

  const weights: Array<number | undefined> = attributeNames.map(() => undefined);
  const matchedBy: Array<'exact' | 'normalized' | 'affix'> = attributeNames.map(() => 'exact');
  for (const [key, value] of Object.entries(obj)) {
    const m = matchKey(key, attributeNames);
    if (typeof m === 'string') return { ok: false, reason: m, detail: `Key "${key}" ${m === 'ambiguous_key' ? 'matches several attributes' : 'matches no attribute'}.` };
    if (weights[m.index] !== undefined)
      return { ok: false, reason: 'duplicate_key', detail: `Two keys name "${attributeNames[m.index]}".` };
    const n = toNumber(value);
    if (n === null) return { ok: false, reason: 'not_a_number', detail: `The weight for "${key}" is not a number.` };
    if (n < REPORT_MIN || n > REPORT_MAX)
      return { ok: false, reason: 'out_of_range', detail: `The weight for "${key}" (${n}) is outside ${REPORT_MIN}..${REPORT_MAX}.` };
    weights[m.index] = n;
    matchedBy[m.index] = m.by;
  }
  const missing = attributeNames.filter((_, i) => weights[i] === undefined);
  if (missing.length) return { ok: false, reason: 'missing_key', detail: `No weight for ${missing.join(', ')}.` };
  return { ok: true, weights: weights as number[], matchedBy };
}
