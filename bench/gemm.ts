/**
 * One large fp32 GEMM (an ONNX MatMul, n³) as a machine's own matrix-multiply rate: run with
 * onnxruntime-node (bench:real) and with ONNX Runtime Web's WASM build in Chromium
 * (bench:browser), so a forward pass's speed can be set against what each runtime's kernels do.
 */
import { DT, GraphBuilder } from '../test/fixture/onnx';

export function gemmModel(n: number): Uint8Array {
  const g = new GraphBuilder();
  g.input('a', DT.FLOAT, [n, n]);
  const b = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  g.op('MatMul', ['a', g.initializer('b', [n, n], b)], {}, 'c');
  g.output('c', DT.FLOAT, [n, n]);
  return g.toModel('gemm');
}

/** The parts of onnxruntime-node's and onnxruntime-web's APIs used here. */
interface OrtLike {
  InferenceSession: { create(bytes: Uint8Array): Promise<{ run(f: Record<string, unknown>): Promise<unknown>; release(): Promise<void> }> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

/** FLOP/s of `runs` n³ MatMuls after one warm-up run. */
export async function gemmFlops(ort: OrtLike, n = 1024, runs = 8): Promise<number> {
  const s = await ort.InferenceSession.create(gemmModel(n));
  const a = new ort.Tensor('float32', new Float32Array(n * n).fill(0.5), [n, n]);
  await s.run({ a });
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await s.run({ a });
  const secs = (performance.now() - t0) / 1000;
  await s.release();
  return (2 * n ** 3 * runs) / secs;
}
