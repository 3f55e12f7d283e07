/**
 * bench:browser's GEMM: ONNX Runtime Web (the bundle transformers.js uses, its WASM files
 * from this origin's /ort/, as the lab's worker loads them) multiplying one large fp32
 * matrix pair in a worker, with the thread count asked for. Posts FLOP/s or an error.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { gemmFlops } from '../../bench/gemm';

self.onmessage = async (e: MessageEvent<{ threads: number }>) => {
  try {
    const base = new URL('/ort/', self.location.origin).href;
    ort.env.wasm.wasmPaths = { mjs: `${base}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${base}ort-wasm-simd-threaded.asyncify.wasm` };
    ort.env.wasm.numThreads = e.data.threads;
    self.postMessage({ flops: await gemmFlops(ort as unknown as Parameters<typeof gemmFlops>[0]) });
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
