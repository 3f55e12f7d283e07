/**
 * The lab's transformers.js engine (onnxruntime-node) on tiny random Llama and Qwen2 models made
 * by the real tools — transformers, Optimum's exporter with a KV cache, ONNX Runtime's
 * quantizers as transformers.js uses them, onnxruntime-genai's ModelBuilder — gives PyTorch's
 * next-token log-probabilities. The quantized files are compared with PyTorch running the same
 * quantized base (q4: dequantized weights; q8: the dynamic int8 arithmetic, emulated), so only
 * float rounding is left; fp16 and q4f16 compute in half precision and get a stated tolerance.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEngine } from '../workers/transformers-engine';
import { pythonSkip } from './support/python';
import {
  compareScores,
  labelIds,
  labScores,
  makeTinyModel,
  ONNX_FILE,
  OPTIMUM_DTYPES,
  PROMPTS,
  referenceLogits,
  referenceScores,
  TOLERANCE,
  type Arch,
  type Reference,
  type TinyModel,
} from './support/real-models';

const ARCHS: Arch[] = ['llama', 'qwen2'];

describe.skipIf(pythonSkip)('real tiny models: transformers.js engine vs PyTorch', () => {
  let tmp: string;
  const models = {} as Record<Arch, TinyModel>;
  const refs = {} as Record<Arch, { fp32: Reference[]; q4: Reference[]; q8: Reference[]; mbInt4: Reference[] }>;
  const engine = new TransformersEngine({ allowRemoteModels: false, prefixReuse: false });
  let labels: number[];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'real-models-'));
    for (const arch of ARCHS) {
      const m = (models[arch] = await makeTinyModel(join(tmp, arch), arch, { modelBuilder: ['fp32', 'int4'] }));
      const [fp32, q4, q8, mbInt4] = await referenceLogits(m.dir, PROMPTS, [
        {},
        { quantized: join(m.dir, 'onnx', ONNX_FILE.q4) },
        { quantized: join(m.dir, 'onnx', ONNX_FILE.q8) },
        { quantized: join(m.modelBuilder.int4, 'onnx', 'model.onnx') },
      ]);
      refs[arch] = { fp32, q4, q8, mbInt4 };
    }
    labels = await labelIds(models.llama.dir);
  }, 600_000);
  afterAll(async () => {
    await engine.unload();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  for (const arch of ARCHS) {
    for (const dtype of OPTIMUM_DTYPES) {
      it(`${arch} ${dtype} (Optimum export): log-probabilities within ${TOLERANCE[dtype]}`, async () => {
        const caps = await engine.load({ model: models[arch].dir, dtype, device: 'cpu' });
        expect(caps.dtype).toBe(dtype);
        const r = refs[arch];
        // q4f16 is q4's weights in half precision: its reference is the dequantized q4 base.
        const ref = dtype === 'q4' || dtype === 'q4f16' ? r.q4 : dtype === 'q8' ? r.q8 : r.fp32;
        const d = compareScores(await labScores(engine, PROMPTS), referenceScores(labels, ref));
        console.log(`${arch} ${dtype}: max |Δ log p| = ${d.toExponential(2)}`);
        expect(d).toBeLessThanOrEqual(TOLERANCE[dtype]);
        if (dtype !== 'fp32') {
          // The quantized base really differs from the fp32 one (the reference is not trivially equal).
          const vsFp32 = compareScores(await labScores(engine, PROMPTS), referenceScores(labels, r.fp32));
          if (dtype !== 'fp16') expect(vsFp32).toBeGreaterThan(10 * TOLERANCE[dtype]);
        }
      }, 120_000);
    }
    it(`${arch} ModelBuilder fp32 and int4 (packed qkv_proj, GroupQueryAttention, external data)`, async () => {
      const m = models[arch];
      await engine.load({ model: m.modelBuilder.fp32, dtype: 'fp32', device: 'cpu' });
      const d32 = compareScores(await labScores(engine, PROMPTS), referenceScores(labels, refs[arch].fp32));
      await engine.load({ model: m.modelBuilder.int4, dtype: 'fp32', device: 'cpu' });
      const d4 = compareScores(await labScores(engine, PROMPTS), referenceScores(labels, refs[arch].mbInt4));
      console.log(`${arch} ModelBuilder: fp32 max |Δ log p| = ${d32.toExponential(2)}, int4 ${d4.toExponential(2)}`);
      expect(d32).toBeLessThanOrEqual(TOLERANCE['mb-fp32']);
      expect(d4).toBeLessThanOrEqual(TOLERANCE['mb-int4']);
    }, 120_000);
  }
});
