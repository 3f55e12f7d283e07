/**
 * Constrained decoding of a self-report. The JSON skeleton `{"name": …, …}` is
 * forced; each value is decoded greedily, but only among tokens that keep the
 * text a prefix of an integer in [min, max] (optionally after one leading
 * space), plus the token that closes the value once it is complete. So every
 * report parses, with exactly the attribute names, whatever the model.
 */

export interface TokenText {
  id: number;
  text: string;
}

/** Raw vocabulary pieces that can carry digits, a sign or a leading space, in common tokenizer alphabets. */
const NUMERIC_PIECE = /^(?:Ġ|▁| )?-?[0-9]*$/;

/** Pre-filter a vocabulary (raw piece → id) to the tokens worth decoding for numbers. */
export function numericCandidates(vocab: Iterable<[string, number]>): number[] {
  const ids: number[] = [];
  for (const [piece, id] of vocab) if (piece.length > 0 && NUMERIC_PIECE.test(piece)) ids.push(id);
  return ids;
}

export class IntegerMask {
  private readonly complete = new Set<string>();
  private readonly prefixes = new Set<string>();
  private readonly tokens: TokenText[];

  constructor(tokens: TokenText[], readonly min = -100, readonly max = 100) {
    for (let v = min; v <= max; v++) {
      for (const s of [String(v), ` ${v}`]) {
        this.complete.add(s);
        for (let i = 0; i <= s.length; i++) this.prefixes.add(s.slice(0, i));
      }
    }
    // Only tokens that can appear inside a number at all; "" would loop forever.
    this.tokens = tokens.filter((t) => /^ ?-?\d*$/.test(t.text) && t.text.length > 0);
  }

  /** Tokens that keep `current` a prefix of a valid value. */
  allowed(current: string): TokenText[] {
    return this.tokens.filter((t) => this.prefixes.has(current + t.text));
  }

  isComplete(current: string): boolean {
    return this.complete.has(current);
  }

  value(current: string): number {
    if (!this.isComplete(current)) throw new Error(`"${current}" is not a complete value`);
    return Number(current.trim());
  }
}

/** The forced text before attribute i's value, and after the last one. */
export function skeletonSegments(names: readonly string[]): { before: string[]; end: string } {
  return {
    before: names.map((n, i) => `${i === 0 ? '{' : ', '}${JSON.stringify(n)}:`),
    end: '}',
  };
}

export type Step = (tokenIds: number[]) => Promise<Float32Array | number[]>;

export interface ConstrainedOptions {
  names: readonly string[];
  mask: IntegerMask;
  /** Token ids of a forced text piece (tokenised on its own). */
  encode: (text: string) => number[];
  /** Feed tokens (after the prompt) and return the next-token logits. */
  step: Step;
  /** Logits after the prompt. */
  first: Float32Array | number[];
  /** Checked between tokens so a report can be cancelled. */
  checkCancelled?: () => void;
}

/** Greedy constrained decoding; returns the reply text and the integer weights. */
export async function decodeConstrainedReport(o: ConstrainedOptions): Promise<{ text: string; weights: number[] }> {
  const { before, end } = skeletonSegments(o.names);
  let logits = o.first;
  let text = '';
  const weights: number[] = [];
  // Tokens of the segment whose first token already went in (as a value's closing token).
  let pendingTail: number[] | null = null;
  const feed = async (ids: number[]) => {
    if (ids.length) logits = await o.step(ids);
  };
  for (let i = 0; i <= o.names.length; i++) {
    const segment = i < o.names.length ? before[i] : end;
    const ids = o.encode(segment);
    await feed(pendingTail ?? ids);
    pendingTail = null;
    text += segment;
    if (i === o.names.length) break;

    const closing = o.encode(i + 1 < o.names.length ? before[i + 1] : end);
    let current = '';
    for (;;) {
      o.checkCancelled?.();
      const options = o.mask.allowed(current);
      const canEnd = o.mask.isComplete(current);
      if (!options.length) break; // complete and cannot grow: the value ends here
      let best = options[0];
      for (const t of options) if (logits[t.id] > logits[best.id]) best = t;
      if (canEnd && logits[closing[0]] >= logits[best.id]) {
        // The model closed the value itself: its closing token starts the next segment.
        await feed([closing[0]]);
        pendingTail = closing.slice(1);
        break;
      }
      current += best.text;
      await feed([best.id]);
    }
    weights.push(o.mask.value(current));
    text += current;
  }
  return { text, weights };
}
