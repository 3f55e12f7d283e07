import { describe, expect, it } from 'vitest';
import { extractJsonObject, parseReport } from '../src/lib/reports';

const names = ['price', 'durability_rating', 'weight', 'battery_life', 'screen_size'];

describe('report parsing', () => {
  it('reads a clean reply with exact keys', () => {
    const r = parseReport('{"price": -40, "durability_rating": 100, "weight": 0, "battery_life": 12, "screen_size": -3}', names);
    expect(r).toEqual({ ok: true, weights: [-40, 100, 0, 12, -3], matchedBy: ['exact', 'exact', 'exact', 'exact', 'exact'] });
  });

  it('finds JSON inside prose and code fences, in any key order', () => {
    const r = parseReport('Sure!\n```json\n{"screen_size": 5, "weight": 1, "battery_life": 2, "price": 3, "durability_rating": 4}\n```', names);
    expect(r.ok && r.weights).toEqual([3, 4, 1, 2, 5]);
  });

  it('matches case/underscore-insensitively, then by unambiguous prefix or suffix', () => {
    const r = parseReport('{"Price": 1, "durability": 2, "WEIGHT": 3, "Battery Life": 4, "screen-size": 5}', names);
    expect(r.ok && r.weights).toEqual([1, 2, 3, 4, 5]);
    expect(r.ok && r.matchedBy).toEqual(['normalized', 'affix', 'normalized', 'normalized', 'normalized']);
    const suffix = parseReport('{"price": 1, "rating": 2, "weight": 3, "battery_life": 4, "size": 5}', names);
    expect(suffix.ok && suffix.weights).toEqual([1, 2, 3, 4, 5]);
  });

  it('accepts numeric strings', () => {
    const r = parseReport('{"price": "-7", "durability_rating": 2, "weight": 3, "battery_life": 4, "screen_size": 5}', names);
    expect(r.ok && r.weights[0]).toBe(-7);
  });

  it.each([
    ['I weighed price most.', 'no_json'],
    ['{"price": 1, "weight": }', 'bad_json'],
    ['{"price": 1, "durability_rating": 2, "weight": 3, "battery_life": 4}', 'missing_key'],
    ['{"price": 1, "durability_rating": 2, "weight": 3, "battery_life": 4, "screen_size": 5, "color": 1}', 'unknown_key'],
    ['{"price": 101, "durability_rating": 2, "weight": 3, "battery_life": 4, "screen_size": 5}', 'out_of_range'],
    ['{"price": "high", "durability_rating": 2, "weight": 3, "battery_life": 4, "screen_size": 5}', 'not_a_number'],
    ['{"price": 1, "Price": 2, "durability_rating": 2, "weight": 3, "battery_life": 4, "screen_size": 5}', 'duplicate_key'],
  ])('rejects %s as %s', (text, reason) => {
    const r = parseReport(text, names);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(reason);
      expect(r.detail.length).toBeGreaterThan(5);
    }
  });

  it('refuses an ambiguous affix', () => {
    const r = parseReport('{"size": 1}', ['screen_size', 'bag_size']);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe('ambiguous_key');
  });

  it('extracts balanced objects ignoring braces in strings', () => {
    expect(extractJsonObject('x {"a": "}{", "b": {"c": 1}} y')).toBe('{"a": "}{", "b": {"c": 1}}');
    expect(extractJsonObject('{"a": 1')).toBeNull();
  });
});
