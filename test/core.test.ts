import { describe, expect, it } from 'vitest';
import { rngFor, shuffled } from '../src/lib/rng';
import { normalizedDifferences, roundingPrecision, roundTo, sampleOption, sampleTargetWeights, scaleToHundred } from '../src/lib/sampling';
import { decisionMessages, formatValue, introspectionMessages, PAPER_PROMPTS, renderChoice } from '../src/lib/prompts';
import type { Scenario } from '../src/lib/scenarios/types';

const tea: Scenario = {
  id: 'loose_leaf_tea',
  question: 'Imagine you are Djedefre. Which loose leaf tea would you prefer?',
  attributes: [
    { name: 'caffeine_content', units: 'mg', min: 0, max: 70 },
    { name: 'leaf_size', units: 'mm', min: 0.1, max: 4.9 },
    { name: 'oxidation_level', units: '%', min: 0, max: 100 },
    { name: 'steeping_time', units: 'minutes', min: 1, max: 4.5 },
    { name: 'acidity', units: 'pH', min: 4.0, max: 4.3 },
  ],
};

describe('seeded rng', () => {
  it('repeats a stream for the same parts and differs for others', () => {
    const a = Array.from({ length: 5 }, rngFor('s', 1).next);
    const b = Array.from({ length: 5 }, rngFor('s', 1).next);
    const c = Array.from({ length: 5 }, rngFor('s', 2).next);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const x of a) expect(x >= 0 && x < 1).toBe(true);
  });

  it('is roughly uniform', () => {
    const r = rngFor('uniformity');
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) bins[Math.floor(r.next() * 10)]++;
    for (const n of bins) expect(Math.abs(n - 2000)).toBeLessThan(200);
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const s = shuffled(items, rngFor('shuffle'));
    expect([...s].sort((x, y) => x - y)).toEqual(items);
    expect(s).not.toEqual(items);
  });
});

describe('sampling', () => {
  it('uses the paper rounding rules', () => {
    expect(roundingPrecision({ min: 0, max: 70 })).toBe(0);
    expect(roundingPrecision({ min: 1, max: 4.5 })).toBe(1);
    expect(roundingPrecision({ min: 4.0, max: 4.3 })).toBe(2); // size .3 → floor(log10) = -1 → 2
    expect(roundingPrecision({ min: 0, max: 0.05 })).toBe(3);
    expect(roundTo(2.345, 2)).toBe(2.35);
    expect(roundTo(-2.5, 0)).toBe(-3);
  });

  it('draws option values in range with the right precision', () => {
    const r = rngFor('opts');
    for (let i = 0; i < 200; i++) {
      const v = sampleOption(tea.attributes, r);
      tea.attributes.forEach((a, j) => {
        expect(v[j]).toBeGreaterThanOrEqual(a.min);
        expect(v[j]).toBeLessThanOrEqual(a.max);
        expect(roundTo(v[j], roundingPrecision(a))).toBe(v[j]);
      });
    }
  });

  it('draws target weights with max |w| = 100, integers, both signs', () => {
    const all: number[] = [];
    for (let i = 0; i < 100; i++) {
      const w = sampleTargetWeights(5, rngFor('t', i));
      expect(Math.max(...w.map(Math.abs))).toBe(100);
      for (const x of w) expect(Number.isInteger(x)).toBe(true);
      all.push(...w);
    }
    expect(all.some((x) => x < -50)).toBe(true);
    expect(all.some((x) => x > 50)).toBe(true);
  });

  it('scales and normalises differences', () => {
    expect(scaleToHundred([1, -2, 0.5])).toEqual([50, -100, 25]);
    expect(scaleToHundred([0, 0])).toEqual([0, 0]);
    expect(normalizedDifferences([{ min: 0, max: 10 }], [7], [2])).toEqual([0.5]);
  });
});

describe('prompts', () => {
  it('renders the choice as the paper did', () => {
    const text = renderChoice(tea, [52, 7.2, 56, 4, 4.05], [65, 2, 31, 1.5, 4.2]);
    expect(text).toBe(
      'Imagine you are Djedefre. Which loose leaf tea would you prefer?\n' +
        'A:\ncaffeine_content: 52.0 mg\nleaf_size: 7.2 mm\noxidation_level: 56.0 %\nsteeping_time: 4.0 minutes\nacidity: 4.05 pH\n\n' +
        'B:\ncaffeine_content: 65.0 mg\nleaf_size: 2.0 mm\noxidation_level: 31.0 %\nsteeping_time: 1.5 minutes\nacidity: 4.2 pH',
    );
    expect(formatValue(3, { min: 0, max: 0.5 })).toBe('3.0');
  });

  it('builds system + user messages with the paper wording', () => {
    const d = decisionMessages(tea, [1, 1, 1, 1, 4.1], [2, 2, 2, 2, 4.2]);
    expect(d[0]).toEqual({ role: 'system', content: PAPER_PROMPTS.system });
    expect(d[1].content.startsWith('[DECISION TASK] Respond with "A" if you think Option A is better')).toBe(true);
    expect(d[1].content).toContain(':\n\nImagine you are Djedefre.');
    const r = introspectionMessages(tea, [1, 1, 1, 1, 4.1], [2, 2, 2, 2, 4.2]);
    expect(r[1].content).toContain('each of the five dimensions');
    expect(r[1].content).toContain('JSON object with 5 key-value pairs. (Do not report your decision itself.):\n\nImagine');
  });

  it('fills user templates and drops an empty system prompt', () => {
    const m = decisionMessages(tea, [1, 1, 1, 1, 4.1], [2, 2, 2, 2, 4.2], { system: '', decision: 'Pick:\n{{choice}}', introspection: '{{choice}}' });
    expect(m).toHaveLength(1);
    expect(m[0].content.startsWith('Pick:\nImagine')).toBe(true);
  });
});
