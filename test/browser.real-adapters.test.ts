/**
 * The real tools' layouts in headless Chromium (WASM, through the lab's worker): tiny random
 * Llama and Qwen2 models exported by Optimum and quantized as transformers.js does, with
 * adapters saved by PEFT (one served by the site, one stored in the browser as picked files
 * are), give PyTorch + PEFT's next-token logits. q4's reference runs the dequantized q4 base;
 * q4f16 computes in half precision (tolerance as in Node: test/real-adapters.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser } from './support/browser';
import { buildHarness, runHarnessPage } from './support/harness-page';
import { serveStatic, type StaticServer } from './support/static-server';
import { pythonSkip } from './support/python';
import { makePeftAdapter, makeTinyModel, maxAbsDiff, ONNX_FILE, PROMPTS, referenceLogits, type Arch, type Reference } from './support/real-models';

const ARCHS: Arch[] = ['llama', 'qwen2'];
const DTYPES = ['fp32', 'q4', 'q4f16'] as const;
/** On raw logits: fp32 and q4 (vs the dequantized base) float rounding only; q4f16 half precision. */
const TOL: Record<(typeof DTYPES)[number], number> = { fp32: 1e-4, q4: 1e-4, q4f16: 4e-2 };

let tmp: string;
let server: StaticServer;
let ids: number[];
/** refs[arch][adapter][fp32|q4] */
const refs = {} as Record<Arch, Record<'base' | 'plain' | 'rslora', Record<'fp32' | 'q4', Reference>>>;

beforeAll(async () => {
  if (!hasBrowser || pythonSkip) return;
  tmp = await mkdtemp(join(tmpdir(), 'browser-real-'));
  for (const arch of ARCHS) {
    // Served as /models/<arch>: the adapters' base_model_name_or_path (the folder) ends in the same name.
    const m = await makeTinyModel(join(tmp, 'models', arch), arch, { dtypes: DTYPES });
    const plain = await makePeftAdapter(m.dir, join(tmp, 'adapters', `${arch}-plain`), { seed: 1 });
    const rslora = await makePeftAdapter(m.dir, join(tmp, 'adapters', `${arch}-rslora`), { seed: 2, rslora: true });
    const q4 = join(m.dir, 'onnx', ONNX_FILE.q4);
    const out = await referenceLogits(m.dir, PROMPTS.slice(0, 1), [
      {},
      { quantized: q4 },
      { adapter: plain.dir },
      { adapter: plain.dir, quantized: q4 },
      { adapter: rslora.dir },
      { adapter: rslora.dir, quantized: q4 },
    ]);
    const [b32, b4, p32, p4, r32, r4] = out.map((o) => o[0]);
    refs[arch] = { base: { fp32: b32, q4: b4 }, plain: { fp32: p32, q4: p4 }, rslora: { fp32: r32, q4: r4 } };
    ids = b32.ids;
  }
  await buildHarness(join(tmp, 'site'));
  server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models'), '/adapters/': join(tmp, 'adapters') });
}, 900_000);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!hasBrowser || pythonSkip)('real tiny models and PEFT adapters in headless Chromium (WASM)', () => {
  it('Optimum exports (fp32, q4, q4f16) of Llama and Qwen2 with served and stored PEFT adapters give PyTorch + PEFT logits', async () => {
    const cases = ARCHS.flatMap((arch) =>
      DTYPES.flatMap((dtype) =>
        (['base', 'plain', 'rslora'] as const).map((kind) => ({
          arch,
          dtype,
          kind,
          model: arch,
          adapter: kind === 'base' ? undefined : { id: kind === 'plain' ? `/adapters/${arch}-plain` : `stored:${arch}-rslora` },
        })),
      ),
    );
    const store = Object.fromEntries(ARCHS.map((a) => [`${a}-rslora`, `/adapters/${a}-rslora`]));
    const result = await runHarnessPage(server, { mode: 'adapter', device: 'wasm', ids, store, cases: cases.map(({ model, dtype, adapter }) => ({ model, dtype, adapter })) });
    expect(result.error ?? '').toBe('');
    cases.forEach((c, i) => {
      const got = result.logits![i];
      expect(typeof got === 'string' ? got : '', `${c.arch} ${c.dtype} ${c.kind}`).toBe('');
      const ref = refs[c.arch][c.kind][c.dtype === 'fp32' ? 'fp32' : 'q4'];
      const d = maxAbsDiff(got as number[], ref.logits);
      console.info(`Chromium wasm ${c.arch} ${c.dtype} ${c.kind}: max |logit − PyTorch${c.kind === 'base' ? '' : ' + PEFT'}| = ${d.toExponential(2)}`);
      expect(d, `${c.arch} ${c.dtype} ${c.kind}`).toBeLessThanOrEqual(TOL[c.dtype]);
    });
    // The adapters matter: PEFT's logits move well beyond the tolerance.
    for (const arch of ARCHS) expect(maxAbsDiff(refs[arch].plain.fp32.logits, refs[arch].base.fp32.logits)).toBeGreaterThan(0.1);
  }, 900_000);
});
