/**
 * The report schema (and the whitespace-free grammar) checked with the REAL
 * XGrammar in Node, two ways:
 *  1. @mlc-ai/web-xgrammar 0.1.27 (the version web-llm 0.2.86 bundles):
 *     `Grammar.fromJSONSchema` / `fromEBNF` and `Testings.isGrammarAcceptString`;
 *  2. web-llm's own code path: `LLMChatPipeline.prototype.prepareGrammarMatcherForSampling`
 *     from the installed bundle (its bundled XGrammar, its TokenizerInfo
 *     construction, `compileJSONSchema(schema)` with web-llm's defaults), then
 *     the matcher accepts or rejects replies token by token over a
 *     character-level vocabulary.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportGrammar, reportSchema, schemaSafeNames } from '../workers/webllm-helpers';
import { loadWebLLMInternals, loadXGrammar } from './support/fake-mlc-engine';
import type * as XG from '@mlc-ai/web-xgrammar';

const NAMES = ['durability', 'price_usd', 'weight kg', "it's", 'ünïcode'];
/** Names XGrammar 0.1.27's schema conversion mishandles; the engine sends them as an EBNF grammar. */
const UNSAFE = ['back\\slash', 'new\nline', 'tab\there', 'ctrl\u0001', 'say "hi"'];

const obj = (values: unknown[], names = NAMES) => `{${names.map((n, i) => `${JSON.stringify(n)}: ${values[i]}`).join(', ')}}`;
const VALID: Array<[string, string]> = [
  ['spaced', obj([1, -2, 30, -45, 0])],
  ['compact', `{${NAMES.map((n, i) => `${JSON.stringify(n)}:${i * 7}`).join(',')}}`],
  ['pretty-printed', `{\n  ${NAMES.map((n, i) => `${JSON.stringify(n)}: ${i - 3}`).join(',\n  ')}\n}`],
  ['bounds', obj([-100, 100, 0, 99, -99])],
];
const INVALID: Array<[string, string]> = [
  ['a missing key', `{${NAMES.slice(0, -1).map((n) => `${JSON.stringify(n)}: 1`).join(', ')}}`],
  ['an extra key', obj([1, 2, 3, 4, '5, "extra": 6'])],
  ['a duplicated key', obj([1, 2, 3, 4, `5, ${JSON.stringify(NAMES[0])}: 6`])],
  ['a fraction (3.5)', obj([3.5, 2, 3, 4, 5])],
  ['a string ("3")', obj(['"3"', 2, 3, 4, 5])],
  ['101', obj([1, 101, 3, 4, 5])],
  ['-101', obj([1, 2, -101, 4, 5])],
  ['an exponent (1e2)', obj([1, 2, 3, '1e2', 5])],
  ['a leading zero (007)', obj([1, 2, 3, 4, '007'])],
  ['-0', obj([1, '-0', 3, 4, 5])],
  ['null', obj([1, 2, 3, 4, 'null'])],
  ['true', obj(['true', 2, 3, 4, 5])],
  ['no closing brace', obj([1, 2, 3, 4, 5]).slice(0, -1)],
  ['text before the JSON', `Sure! ${obj([1, 2, 3, 4, 5])}`],
];

describe('reportSchema', () => {
  it('requires exactly the names, as integers in [-100, 100], nothing else', () => {
    expect(reportSchema(['a', 'b'])).toEqual({
      type: 'object',
      properties: { a: { type: 'integer', minimum: -100, maximum: 100 }, b: { type: 'integer', minimum: -100, maximum: 100 } },
      required: ['a', 'b'],
      additionalProperties: false,
    });
    expect(() => reportSchema(['a', 'a'])).toThrow(/distinct/);
  });
});

describe('report schema and grammar under XGrammar (@mlc-ai/web-xgrammar, in Node)', () => {
  let xg: typeof XG;
  let schemaGrammar: XG.Grammar;
  let ebnfGrammar: XG.Grammar;
  beforeAll(async () => {
    xg = await loadXGrammar();
    // The arguments web-llm passes: compileJSONSchema(schema) with the defaults (any whitespace, strict mode).
    schemaGrammar = await xg.Grammar.fromJSONSchema(JSON.stringify(reportSchema(NAMES)));
    ebnfGrammar = await xg.Grammar.fromEBNF(reportGrammar(NAMES));
  });
  const accepts = (g: XG.Grammar, s: string) => xg.Testings.isGrammarAcceptString(g, s);

  for (const [what, text] of VALID)
    it(`the schema accepts a valid report (${what})`, async () => {
      expect(JSON.parse(text)).toBeTruthy();
      expect(await accepts(schemaGrammar, text)).toBe(true);
    });
  for (const [what, text] of INVALID) it(`the schema rejects ${what}`, async () => expect(await accepts(schemaGrammar, text)).toBe(false));

  it('the schema fixes the key order to the attribute order (so keys come back exactly as named)', async () => {
    const swapped = `{${[NAMES[1], NAMES[0], ...NAMES.slice(2)].map((n) => `${JSON.stringify(n)}: 1`).join(', ')}}`;
    expect(await accepts(schemaGrammar, swapped)).toBe(false);
  });

  it('the schema allows unbounded whitespace between tokens (why the grammar fallback exists)', async () => {
    const padded = obj([1, 2, 3, 4, 5]).replace('{', `{${' \n\t'.repeat(200)}`);
    expect(await accepts(schemaGrammar, padded)).toBe(true);
  });

  it('the grammar accepts the one-line form, with the same bounds', async () => {
    expect(await accepts(ebnfGrammar, obj([1, -2, 30, -45, 0]))).toBe(true);
    expect(await accepts(ebnfGrammar, obj([-100, 100, 0, 99, -99]))).toBe(true);
  });
  for (const [what, text] of INVALID) it(`the grammar rejects ${what}`, async () => expect(await accepts(ebnfGrammar, text)).toBe(false));
  it('the grammar rejects extra whitespace', async () => {
    expect(await accepts(ebnfGrammar, VALID[1][1])).toBe(false);
    expect(await accepts(ebnfGrammar, VALID[2][1])).toBe(false);
  });

  it('every integer in [-100, 100] passes both, nothing just outside', async () => {
    const one = await xg.Grammar.fromJSONSchema(JSON.stringify(reportSchema(['w'])));
    const oneEbnf = await xg.Grammar.fromEBNF(reportGrammar(['w']));
    for (let v = -100; v <= 100; v++) {
      expect(await accepts(one, `{"w": ${v}}`)).toBe(true);
      expect(await accepts(oneEbnf, `{"w": ${v}}`)).toBe(true);
    }
    for (const v of [-1000, -101, 101, 1000, 0.5]) {
      expect(await accepts(one, `{"w": ${v}}`)).toBe(false);
      expect(await accepts(oneEbnf, `{"w": ${v}}`)).toBe(false);
    }
  });
});

describe('attribute names XGrammar 0.1.27 mishandles in a JSON schema', () => {
  it('are detected', () => {
    expect(schemaSafeNames(NAMES)).toBe(true);
    for (const n of UNSAFE) expect(schemaSafeNames([n]), JSON.stringify(n)).toBe(false);
  });

  it('in a schema: quotes, backslashes and newlines abort the WASM module; tabs and control characters compile to a grammar that cannot write the key', () => {
    // In a child process: an abort leaves XGrammar's WASM instance unusable.
    const dir = mkdtempSync(join(tmpdir(), 'xgrammar-names-'));
    copyFileSync(createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar'), join(dir, 'xg.cjs'));
    writeFileSync(
      join(dir, 'probe.cjs'),
      `const xg = require('./xg.cjs'); const n = JSON.parse(process.argv[2]);
       const schema = JSON.stringify({ type: 'object', properties: { [n]: { type: 'integer' } }, required: [n], additionalProperties: false });
       xg.Grammar.fromJSONSchema(schema).then(async (g) => console.log('accepts=' + (await xg.Testings.isGrammarAcceptString(g, '{' + JSON.stringify(n) + ': 5}'))), (e) => console.log('threw=' + e.message));`,
    );
    const probe = (n: string) => {
      const r = spawnSync(process.execPath, [join(dir, 'probe.cjs'), JSON.stringify(n)], { encoding: 'utf8' });
      return (r.stdout + r.stderr).trim().split('\n').pop();
    };
    for (const n of ['back\\slash', 'new\nline', 'say "hi"']) expect(probe(n), JSON.stringify(n)).toMatch(/Aborted/);
    for (const n of ['tab\there', 'ctrl\u0001']) expect(probe(n), JSON.stringify(n)).toBe('accepts=false');
    for (const n of NAMES) expect(probe(n), JSON.stringify(n)).toBe('accepts=true');
  });

  it('the EBNF grammar escapes them: it accepts exactly their JSON form', async () => {
    const xg = await loadXGrammar();
    const g = await xg.Grammar.fromEBNF(reportGrammar(UNSAFE));
    const text = obj([1, 2, 3, 4, 5], UNSAFE);
    expect(Object.keys(JSON.parse(text))).toEqual(UNSAFE);
    expect(await xg.Testings.isGrammarAcceptString(g, text)).toBe(true);
    expect(await xg.Testings.isGrammarAcceptString(g, obj([1, 2, 3, 4, 101], UNSAFE))).toBe(false);
  });
});

describe('non-ASCII attribute names in the EBNF grammar', () => {
  async function tokenLevel(grammarText: string, text: string): Promise<boolean> {
    const xg = await loadXGrammar();
    const vocab = ['<stop>', ...new Set([...text])];
    const info = await xg.TokenizerInfo.createTokenizerInfo(vocab, 'raw', false, vocab.length, [0]);
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(info);
    const m = await xg.GrammarMatcher.createGrammarMatcher(await compiler.compileGrammar(grammarText));
    return [...text].every((ch) => m.acceptToken(vocab.indexOf(ch))) && m.acceptToken(0);
  }

  it('XGrammar 0.1.27 quirk: a one-character token for "é" is refused inside the literal "éb" (not at its end)', async () => {
    expect(await tokenLevel('root ::= "éb"', 'éb')).toBe(false);
    expect(await tokenLevel('root ::= "é" "b"', 'éb')).toBe(true);
    expect(await tokenLevel('root ::= "aé"', 'aé')).toBe(true);
  });

  it('reportGrammar splits non-ASCII characters into their own literals, so such names work token by token', async () => {
    const names = ['aéb', 'naïve', 'ünïcode', 'größe'];
    const text = `{${names.map((n, i) => `${JSON.stringify(n)}: ${i}`).join(', ')}}`;
    expect(await tokenLevel(reportGrammar(names), text)).toBe(true);
  });
});

describe("report schema through web-llm's own grammar code path (installed bundle, its bundled XGrammar)", () => {
  type Pipeline = { prepareGrammarMatcherForSampling(this: unknown, genConfig: unknown): Promise<void> | undefined };
  let proto: Pipeline & Record<string, unknown>;
  const chars = [...new Set([...VALID, ...INVALID, ['', obj([1, 2, 3, 4, 5], UNSAFE)]].flatMap(([, t]) => [...t]).concat([...'0123456789-+.eE "{}:,\n\tabcdefghijklmnopqrstuvwxyz']))];
  const vocab = ['<stop>', ...chars];
  const STOP = 0;

  /** What LLMChatPipeline holds that prepareGrammarMatcherForSampling reads. */
  function fakePipeline() {
    return {
      tokenizer: { getVocabSize: () => vocab.length, idToToken: (i: number) => vocab[i] },
      token_postproc_method: 'raw',
      prepend_space_in_encode: false,
      fullVocabSize: vocab.length,
      stopTokens: [STOP],
      grammarMatcher: undefined as undefined | { acceptToken(id: number): boolean; isTerminated(): boolean; reset(): void },
      responseFormatCacheKey: undefined,
      xgTokenizerInfo: undefined,
      isGrammarConstrained: proto.isGrammarConstrained,
      getResponseFormatKey: proto.getResponseFormatKey,
    };
  }
  async function matcherFor(responseFormat: unknown) {
    const p = fakePipeline();
    await proto.prepareGrammarMatcherForSampling.call(p, { response_format: responseFormat });
    return p.grammarMatcher!;
  }
  function feed(m: { acceptToken(id: number): boolean; isTerminated(): boolean; reset(): void }, text: string): boolean {
    m.reset();
    for (const ch of text) if (!m.acceptToken(vocab.indexOf(ch))) return false;
    return m.acceptToken(STOP) && m.isTerminated();
  }

  beforeAll(async () => {
    proto = (await loadWebLLMInternals()).LLMChatPipeline.prototype as unknown as Pipeline & Record<string, unknown>;
  }, 60_000);

  it('json_object + our schema: valid reports complete, invalid ones are cut off', async () => {
    const m = await matcherFor({ type: 'json_object', schema: JSON.stringify(reportSchema(NAMES)) });
    for (const [, text] of VALID) expect(feed(m, text)).toBe(true);
    for (const [what, text] of INVALID) expect(feed(m, text), what).toBe(false);
  });

  it('grammar + our EBNF: the one-line form completes, the rest is cut off', async () => {
    const m = await matcherFor({ type: 'grammar', grammar: reportGrammar(NAMES) });
    expect(feed(m, obj([1, -2, 30, -45, 0]))).toBe(true);
    for (const [what, text] of INVALID) expect(feed(m, text), what).toBe(false);
    expect(feed(m, VALID[2][1])).toBe(false);
  });

  it('grammar + our EBNF for names the schema path mishandles', async () => {
    const m = await matcherFor({ type: 'grammar', grammar: reportGrammar(UNSAFE) });
    expect(feed(m, obj([1, 2, 3, 4, 5], UNSAFE))).toBe(true);
    expect(feed(m, obj([1, 2, 3, 4, 5.5], UNSAFE))).toBe(false);
  });

  it('json_object without a schema throws in 0.2.86 (GrammarMatcherInitError)', async () => {
    await expect(matcherFor({ type: 'json_object' })).rejects.toMatchObject({
      name: 'GrammarMatcherInitError',
      message: expect.stringContaining('Failed to initialize the grammar matcher for response format `json_object`'),
    });
  });
});
