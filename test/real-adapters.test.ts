/**
 * LoRA adapters saved by PEFT on tiny random Llama and Qwen2 models made by the real tools:
 * the lab's transformers.js engine, patching each exported graph at load, gives PyTorch + PEFT's
 * next-token log-probabilities — for every file transformers.js would load (Optimum fp32, fp16,
 * q8, q4, q4f16) and for ModelBuilder's layout (packed qkv_proj, external data).
 *
 * q4 and q8 are compared with PyTorch + PEFT running the same quantized base (dequantized q4
 * weights; q8's dynamic int8 arithmetic emulated) with the LoRA branch on the unquantized input,
 * so only float rounding is left — except that q8 quantizes each layer's input anew, a rounding that
 * jumps: a change of 1e-7 in the adapter's scale moves PyTorch's own q8 logits by up to ~4e-2 (measured)
 * when an activation sits on a rounding boundary. So q8's tolerance is 1e-4 plus that jump of the
 * reference itself (scale × (1 ± 1e-7)), per prompt; it is 1e-4 where nothing sits on a boundary.
 * fp16/q4f16 compute in half precision: besides the tolerance on the log-probabilities, the
 * adapter's effect (adapted minus base) must match PyTorch's.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEngine } from '../workers/transformers-engine';
import { pythonSkip } from './support/python';
import {
  compareScores,
  labelIds,
  labScores,
  makePeftAdapter,
  makeTinyModel,
  maxAbsDiff,
  ONNX_FILE,
  OPTIMUM_DTYPES,
  PROMPTS,
  referenceLogits,
  referenceScores,
  TOLERANCE,
  type Arch,
  type OptimumDtype,
  type PeftAdapter,
  type PeftOptions,
  type Reference,
  type Scored,
  type TinyModel,
} from './support/real-models';

const ARCHS: Arch[] = ['llama', 'qwen2'];
/** What the paper-style adapters vary: plain, rsLoRA, per-module rank/alpha, a regex and some layers only. */
const ADAPTERS: Record<string, PeftOptions> = {
  plain: { rank: 8, alpha: 16, seed: 1 },
  rslora: { rank: 8, alpha: 16, rslora: true, seed: 2 },
  patterns: {
    rank: 8,
    alpha: 16,
    seed: 3,
    rankPattern: { q_proj: 4, down_proj: 12 },
    alphaPattern: { v_proj: 32 },
    targets: String.raw`^model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)$`,
  },
  layer1: { rank: 6, alpha: 12, seed: 4, targets: 'q_proj,v_proj,down_proj', layers: [1] },
};
type AdapterName = keyof typeof ADAPTERS;
/** Which reference each dtype is compared with (q4f16 holds q4's weights in half precision). */
const BASE_OF: Record<OptimumDtype, 'fp32' | 'q4' | 'q8'> = { fp32: 'fp32', fp16: 'fp32', q8: 'q8', q4: 'q4', q4f16: 'q4' };
/** fp16/q4f16 with an adapter: log-probabilities and the adapter's effect on them (measured ≤ 2.1e-2, rsLoRA's larger deltas). */
const HALF_TOLERANCE = 4e-2;
/** Relative change of the adapter scale that probes the q8 reference's own discontinuity. */
const Q8_NUDGE = 1e-7;

/** The same adapter weights, claiming another base model (ModelBuilder's folder has its own name). */
async function rebased(a: PeftAdapter, dir: string, baseName: string): Promise<string> {
  await cp(a.dir, dir, { recursive: true });
  const file = join(dir, 'adapter_config.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...config, base_model_name_or_path: baseName }, null, 2));
  return dir;
}

function effect(adapted: Scored[], base: Scored[]): Scored[] {
  return adapted.map((a, i) => ({ ids: a.ids, logprobs: a.logprobs.map((x, j) => x - base[i].logprobs[j]) }));
}
const largest = (s: Scored[]) => Math.max(...s.flatMap((x) => x.logprobs.map(Math.abs)));

describe.skipIf(pythonSkip)('PEFT adapters on real tiny models: the lab vs PyTorch + PEFT', () => {
  let tmp: string;
  let labels: number[];
  const engine = new TransformersEngine({ allowRemoteModels: false, prefixReuse: false });
  const models = {} as Record<Arch, TinyModel>;
  const adapters = {} as Record<Arch, Record<AdapterName, PeftAdapter> & { zero: PeftAdapter }>;
  /** refs[arch][adapter or 'base'][fp32|q4|q8|mbInt4] */
  const refs = {} as Record<Arch, Record<string, Record<string, Scored[]>>>;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'real-adapters-'));
    for (const arch of ARCHS) {
      const m = (models[arch] = await makeTinyModel(join(tmp, arch), arch, { modelBuilder: ['fp32', 'int4'] }));
      const made = {} as Record<AdapterName | 'zero', PeftAdapter>;
      for (const [name, o] of Object.entries(ADAPTERS)) made[name] = await makePeftAdapter(m.dir, join(tmp, `${arch}-${name}`), o);
      made.zero = await makePeftAdapter(m.dir, join(tmp, `${arch}-zero`), { zeroB: true });
      adapters[arch] = made as never;

      const quantized = { fp32: undefined, q4: join(m.dir, 'onnx', ONNX_FILE.q4), q8: join(m.dir, 'onnx', ONNX_FILE.q8), mbInt4: join(m.modelBuilder.int4, 'onnx', 'model.onnx') };
      const jobs: { key: [string, string]; adapter?: string; quantized?: string; scale?: number }[] = [];
      for (const [q, file] of Object.entries(quantized)) {
        jobs.push({ key: ['base', q], quantized: file });
        for (const name of Object.keys(ADAPTERS)) if (name === 'plain' || q !== 'mbInt4') jobs.push({ key: [name, q], adapter: made[name].dir, quantized: file });
      }
      for (const name of Object.keys(ADAPTERS))
        for (const s of [1 + Q8_NUDGE, 1 - Q8_NUDGE]) jobs.push({ key: [`${name}@${s}`, 'q8'], adapter: made[name].dir, quantized: quantized.q8, scale: s });
      jobs.push({ key: ['plain@0.5', 'fp32'], adapter: made.plain.dir, scale: 0.5 });
      const out = await referenceLogits(m.dir, PROMPTS, jobs);
      refs[arch] = {};
      labels ??= await labelIds(m.dir);
      jobs.forEach((j, i) => ((refs[arch][j.key[0]] ??= {})[j.key[1]] = referenceScores(labels, out[i] as Reference[])));
    }
  }, 900_000);
  afterAll(async () => {
    await engine.unload();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const scoreWith = async (model: string, dtype: string, adapter?: { id: string; scale?: number }) => {
    const caps = await engine.load({ model, dtype, device: 'cpu', adapter });
    if (adapter) {
      expect(caps.adapter).toBe(adapter.id);
      expect(caps.adapterInfo?.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    return labScores(engine, PROMPTS);
  };

  for (const arch of ARCHS) {
    for (const dtype of OPTIMUM_DTYPES) {
      it(`${arch} ${dtype}: plain, rsLoRA, rank/alpha patterns, some layers — each as PyTorch + PEFT`, async () => {
        const m = models[arch];
        const base = await scoreWith(m.dir, dtype);
        const ref = refs[arch];
        const exact = dtype === 'fp32' || dtype === 'q4' || dtype === 'q8';
        for (const name of Object.keys(ADAPTERS)) {
          const a = adapters[arch][name];
          const lab = await scoreWith(m.dir, dtype, { id: a.dir });
          const want = ref[name][BASE_OF[dtype]];
          const refEffect = effect(want, ref.base[BASE_OF[dtype]]);
          const de = compareScores(effect(lab, base), refEffect);
          // q8: per prompt, 1e-4 plus how far the reference itself jumps under a 1e-7 nudge of the scale.
          const jump = want.map((w, i) =>
            dtype === 'q8' ? Math.max(...[1 + Q8_NUDGE, 1 - Q8_NUDGE].map((s) => maxAbsDiff(ref[`${name}@${s}`].q8[i].logprobs, w.logprobs))) : 0,
          );
          const tol = exact ? TOLERANCE[dtype] : HALF_TOLERANCE;
          const d = want.map((w, i) => compareScores([lab[i]], [w]));
          console.log(
            `${arch} ${dtype} ${name}: max |Δ log p| vs PyTorch+PEFT = ${Math.max(...d).toExponential(2)}` +
              (dtype === 'q8' ? ` (reference's own jump ${Math.max(...jump).toExponential(2)})` : '') +
              `; adapter effect ${largest(refEffect).toFixed(3)}, its error ${de.toExponential(2)}`,
          );
          // The adapter changes the model (else agreement would prove nothing).
          expect(largest(refEffect)).toBeGreaterThan(100 * TOLERANCE.fp32);
          d.forEach((di, i) => expect(di, `prompt ${i}`).toBeLessThanOrEqual(tol + jump[i]));
          expect(de).toBeLessThanOrEqual(exact ? 2 * (tol + Math.max(...jump)) : HALF_TOLERANCE);
        }
      }, 300_000);
    }

    it(`${arch}: a PEFT adapter with B = 0 changes nothing, bit for bit; scale 0 gives the base; scale 0.5 as PEFT`, async () => {
      const m = models[arch];
      const base = await scoreWith(m.dir, 'fp32');
      expect(await scoreWith(m.dir, 'fp32', { id: adapters[arch].zero.dir })).toEqual(base);
      expect(await scoreWith(m.dir, 'fp32', { id: adapters[arch].plain.dir, scale: 0 })).toEqual(base);
      const half = await scoreWith(m.dir, 'fp32', { id: adapters[arch].plain.dir, scale: 0.5 });
      const d = compareScores(half, refs[arch]['plain@0.5'].fp32);
      console.log(`${arch} fp32 plain at scale 0.5: max |Δ log p| = ${d.toExponential(2)}`);
      expect(d).toBeLessThanOrEqual(TOLERANCE.fp32);
      expect(maxAbsDiff(half[0].logprobs, base[0].logprobs)).toBeGreaterThan(1e-2);
    }, 120_000);

    it(`${arch} ModelBuilder fp32 and int4: the adapter on the packed qkv_proj's slices`, async () => {
      const m = models[arch];
      for (const [precision, ref, tol] of [
        ['fp32', 'fp32', TOLERANCE['mb-fp32']],
        ['int4', 'mbInt4', TOLERANCE['mb-int4']],
      ] as const) {
        const dir = m.modelBuilder[precision];
        const adapter = await rebased(adapters[arch].plain, join(tmp, `${arch}-plain-mb-${precision}`), dir);
        const base = await scoreWith(dir, 'fp32');
        const lab = await scoreWith(dir, 'fp32', { id: adapter });
        const d = compareScores(lab, refs[arch].plain[ref]);
        const refEffect = effect(refs[arch].plain[ref], refs[arch].base[ref]);
        const de = compareScores(effect(lab, base), refEffect);
        console.log(
          `${arch} ModelBuilder ${precision} plain: max |Δ log p| = ${d.toExponential(2)}; adapter effect ${largest(refEffect).toFixed(3)}, its error ${de.toExponential(2)}`,
        );
        expect(d).toBeLessThanOrEqual(tol);
        // int4 (accuracy level 4) quantizes activations; the effect still has to agree closely.
        expect(de).toBeLessThanOrEqual(precision === 'fp32' ? 2 * tol : TOLERANCE['mb-int4']);
      }
    }, 300_000);
  }
});
