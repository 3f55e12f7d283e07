import { describe, expect, it } from 'vitest';
import { decodeConstrainedReport, IntegerMask, numericCandidates, type TokenText } from '../src/lib/engine/constrained';
import { parseReport } from '../src/lib/reports';
import { rngFor } from '../src/lib/rng';

// A toy vocabulary in the byte-level style: single digits, some multi-digit and
// space-prefixed pieces, a sign, and punctuation pieces used by the skeleton.
const pieces = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '00', '42', '100', '999', '-', ' ', ' -', ' 5', ' 12', '{', '}', ',', ' "', '"', ':', '_', ...'abcdefghijklmnopqrstuvwxyz'];
const tokens: TokenText[] = pieces.map((text, id) => ({ id, text }));
const idOf = (t: string) => pieces.indexOf(t);

/** Greedy longest-match tokenizer over the toy vocabulary. */
function encode(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; ) {
    let best = '';
    for (const p of pieces) if (text.startsWith(p, i) && p.length > best.length) best = p;
    if (!best) throw new Error(`cannot encode ${text.slice(i)}`);
    out.push(idOf(best));
    i += best.length;
  }
  return out;
}

describe('integer mask', () => {
  const mask = new IntegerMask(tokens);
  it('allows only continuations towards an integer in range', () => {
    const allowed = (cur: string) => mask.allowed(cur).map((t) => t.text).sort();
    expect(allowed('')).toEqual([' ', ' -', ' 12', ' 5', '-', '0', '1', '10', '100', '2', '3', '4', '42', '5', '6', '7', '8', '9'].sort());
    expect(allowed('10')).toEqual(['0']);
    expect(allowed('-')).toContain('100');
    expect(allowed('-')).not.toContain('0');
    expect(allowed('100')).toEqual([]);
    expect(allowed('0')).toEqual([]);
    expect(mask.isComplete('-100')).toBe(true);
    expect(mask.isComplete('-')).toBe(false);
    expect(mask.isComplete(' 7')).toBe(true);
    expect(mask.value(' -42')).toBe(-42);
  });

  it('picks numeric pieces from raw vocabularies', () => {
    const ids = numericCandidates(new Map([['Ġ12', 1], ['▁3', 2], ['-', 3], ['abc', 4], ['12a', 5], ['', 6]]));
    expect(ids).toEqual([1, 2, 3]);
  });
});

describe('constrained report decoding', () => {
  const names = ['price', 'battery_life', 'weight_kg', 'size', 'color_depth'];

  it('always yields a parseable report with exactly the names, whatever the logits', async () => {
    const mask = new IntegerMask(tokens);
    for (let trial = 0; trial < 300; trial++) {
      const rng = rngFor('constrained', trial);
      const logits = () => Float32Array.from(pieces, () => rng.uniform(-5, 5));
      const fed: number[] = [];
      const out = await decodeConstrainedReport({ names, mask, encode, first: logits(), step: async (ids) => (fed.push(...ids), logits()) });
      const parsed = parseReport(out.text, names);
      expect(parsed.ok, out.text).toBe(true);
      expect(parsed.ok && parsed.weights).toEqual(out.weights);
      expect(Object.keys(JSON.parse(out.text))).toEqual(names);
      for (const w of out.weights) expect(Number.isInteger(w) && w >= -100 && w <= 100).toBe(true);
      // What was fed decodes to exactly the reply text (the closing token is not fed twice).
      expect(fed.map((i) => pieces[i]).join('')).toBe(out.text);
    }
  });

  it('follows the model: greedy choice among allowed tokens, stopping when it prefers to close', async () => {
    const mask = new IntegerMask(tokens);
    // A model that wants "-42" for every value: "-" then "42", then the closing token.
    const prefer = (cur: string): string => (cur === '' ? '-' : cur === '-' ? '42' : 'CLOSE');
    let current = '';
    const logitsFor = (cur: string) => {
      const l = new Float32Array(pieces.length).fill(0);
      const want = prefer(cur);
      if (want === 'CLOSE') {
        l[idOf(',')] = 10;
        l[idOf('}')] = 10;
      } else l[idOf(want)] = 10;
      l[idOf('999')] = 50; // never allowed, however likely
      return l;
    };
    const out = await decodeConstrainedReport({
      names, mask, encode, first: logitsFor(''),
      step: async (ids) => {
        const t = pieces[ids[ids.length - 1]];
        current = /^[-\d ]+$/.test(t) ? current + t : '';
        return logitsFor(current);
      },
    });
    expect(out.weights).toEqual([-42, -42, -42, -42, -42]);
    expect(out.text).toBe('{"price":-42, "battery_life":-42, "weight_kg":-42, "size":-42, "color_depth":-42}');
  });

  it('stops between tokens when cancelled', async () => {
    const mask = new IntegerMask(tokens);
    let n = 0;
    const run = decodeConstrainedReport({
      names, mask, encode, first: new Float32Array(pieces.length), step: async () => new Float32Array(pieces.length),
      checkCancelled: () => { if (++n > 3) throw new Error('cancelled'); },
    });
    await expect(run).rejects.toThrow('cancelled');
  });
});
