/**
 * `npm run bench:real`: the lab's speed on the real model (SmolLM2-135M-Instruct,
 * test/support/real-model.ts) in Node, against what the machine can do, in one run:
 *  - decisions/s of the lab's engine (fp32, q4), with and without prefix reuse;
 *  - a raw forward pass of the same prompts (onnxruntime-node directly, no lab code);
 *  - llama.cpp's server (llama-cpp-python from the venv, the model's own Q4_1 GGUF) through
 *    the lab's server engine at concurrency 1;
 *  - reports/s, constrained vs free (fp32);
 *  - how close each runs to the machine's limit: 2 × non-embedding parameters × tokens
 *    actually computed per second, over the FLOP rate of one large fp32 GEMM (ONNX Runtime's
 *    MatMul, 1024³) measured in the same run, before and after.
 * The machine is small and shared: read the ratios, measured minutes apart, not the rates.
 */
import { loadavg, cpus } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { env } from '@huggingface/transformers';
import { TransformersEngine } from '../workers/transformers-engine';
import { OpenAIEngine } from '../workers/openai-engine';
import { realModel } from '../test/support/real-model';
import { startLlamaServer } from '../test/support/llama-server';
import { gemmFlops } from './gemm';
import { benchTrials, type BenchTrial } from './trials';
import type { Engine } from '../src/lib/engine/types';

env.allowRemoteModels = false;
const FILE: Record<string, string> = { fp32: 'model.onnx', q4: 'model_q4.onnx', q8: 'model_quantized.onnx' };

interface Row {
  what: string;
  /** Why there is no rate (the server failed). */
  failed?: string;
  perS: number;
  unit: string;
  /** Tokens the forward passes computed per second (prompt tokens fed, decode steps). */
  tokensPerS?: number;
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

/** FLOP/s of one large fp32 GEMM in ONNX Runtime (MLAS), the machine's own matrix-multiply rate. */
const gemmRate = () => gemmFlops(ort as unknown as Parameters<typeof gemmFlops>[0]);

/** Non-embedding parameters of a Llama-style config (attention + MLP weights of every layer). */
function nonEmbeddingParams(c: Record<string, number>): number {
  const h = c.hidden_size;
  const hd = c.head_dim ?? h / c.num_attention_heads;
  const attn = h * hd * c.num_attention_heads * 2 + h * hd * c.num_key_value_heads * 2;
  return c.num_hidden_layers * (attn + 3 * h * c.intermediate_size);
}

/** The lab's decisions, as the runner calls them (next prompt hinted). */
async function decide(engine: Engine, trials: BenchTrial[]) {
  for (let i = 0; i < trials.length; i++) {
    if (i + 1 < trials.length) await engine.prepare?.(trials[i + 1].messages);
    await engine.scoreChoice(trials[i].messages, ['A', 'B']);
  }
}

async function report(engine: Engine, trials: BenchTrial[]) {
  for (const t of trials) await engine.report(t.messages, t.attributes!, t.mode!);
}

async function labRows(dir: string, dtype: string, decisions: BenchTrial[], reports: Record<string, BenchTrial[]>): Promise<Row[]> {
  const engine = new TransformersEngine({ allowRemoteModels: false });
  await engine.load({ model: dir, device: 'cpu', dtype });
  const rows: Row[] = [];
  try {
    const measure = async (what: string, unit: string, n: number, f: () => Promise<unknown>) => {
      const fed = engine.stats.tokensFed;
      const secs = await timed(f);
      rows.push({ what, unit, perS: n / secs, tokensPerS: (engine.stats.tokensFed - fed) / secs });
    };
    await decide(engine, decisions.slice(0, 2)); // warm-up
    engine.setPrefixReuse(true);
    await measure(`lab engine ${dtype}, prefix reuse`, 'decisions/s', decisions.length, () => decide(engine, decisions));
    engine.setPrefixReuse(false);
    await measure(`lab engine ${dtype}, no prefix reuse`, 'decisions/s', decisions.length, () => decide(engine, decisions));
    engine.setPrefixReuse(true);
    for (const [mode, ts] of Object.entries(reports)) await measure(`lab engine ${dtype}, ${mode} reports`, 'reports/s', ts.length, () => report(engine, ts));
    // The same prompts' token ids for the raw pass.
    const ids = decisions.map((t) => engine.promptIds(t.messages));
    rows.push(await rawRow(dir, dtype, ids));
  } finally {
    await engine.unload();
  }
  return rows;
}

/** onnxruntime-node on the exported graph directly: each whole prompt, empty cache, nothing else. */
async function rawRow(dir: string, dtype: string, prompts: number[][]): Promise<Row> {
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
  const hd = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const s = await ort.InferenceSession.create(join(dir, 'onnx', FILE[dtype]));
  const empty = new ort.Tensor('float32', new Float32Array(0), [1, config.num_key_value_heads, 0, hd]);
  const feeds = (ids: number[]) => {
    const f: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    };
    if (s.inputNames.includes('position_ids')) f.position_ids = new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(i)), [1, ids.length]);
    for (const name of s.inputNames) if (name.startsWith('past_key_values')) f[name] = empty;
    return f;
  };
  await s.run(feeds(prompts[0]));
  const secs = await timed(async () => {
    for (const ids of prompts) await s.run(feeds(ids));
  });
  await s.release();
  const tokens = prompts.reduce((a, x) => a + x.length, 0);
  return { what: `raw forward pass ${dtype} (onnxruntime-node)`, unit: 'decisions/s', perS: prompts.length / secs, tokensPerS: tokens / secs };
}

/**
 * llama.cpp through the lab's server engine. Where the server dies (llama-cpp-python 0.3.36 built
 * natively here segfaults in llama_decode on this GGUF for any prompt longer than one token),
 * the row says so instead of a rate.
 */
async function llamaRow(gguf: string, decisions: BenchTrial[]): Promise<Row> {
  const what = "llama.cpp server, Q4_1 GGUF (lab's server engine, concurrency 1)";
  let server: Awaited<ReturnType<typeof startLlamaServer>>;
  try {
    server = await startLlamaServer({ gguf, timeoutMs: 120_000 });
  } catch (e) {
    return { what, unit: 'decisions/s', perS: NaN, failed: (e as Error).message.split('\n')[0] };
  }
  try {
    const engine = new OpenAIEngine({ baseUrl: server.baseUrl, maxConcurrency: 1 });
    await engine.load({ model: server.model });
    await decide(engine, decisions.slice(0, 2));
    const secs = await timed(() => decide(engine, decisions));
    return { what, unit: 'decisions/s', perS: decisions.length / secs };
  } catch (e) {
    return { what, unit: 'decisions/s', perS: NaN, failed: `the server failed: ${(e as Error).message}` };
  } finally {
    await server.stop();
  }
}

async function main() {
  const m = await realModel();
  const config = JSON.parse(await readFile(join(m.onnx, 'config.json'), 'utf8')) as Record<string, number>;
  const params = nonEmbeddingParams(config);
  const decisions = benchTrials({ scenarios: 2, decisions: 3, reports: 0 });
  const reports = {
    constrained: benchTrials({ scenarios: 2, decisions: 0, reports: 2, mode: 'constrained' }),
    free: benchTrials({ scenarios: 2, decisions: 0, reports: 2, mode: 'free' }),
  };
  const load0 = loadavg()[0];
  const gemmBefore = await gemmRate();
  const rows: Row[] = [];
  for (const dtype of ['fp32', 'q4']) rows.push(...(await labRows(m.onnx, dtype, decisions, dtype === 'fp32' ? reports : {})));
  rows.push(await llamaRow(m.gguf, decisions));
  const gemmAfter = await gemmRate();
  const gemm = (gemmBefore + gemmAfter) / 2;

  const base = rows.find((r) => r.what === 'raw forward pass fp32 (onnxruntime-node)')!;
  console.log(
    `SmolLM2-135M-Instruct, ${decisions.length} decisions (${(base.tokensPerS! / base.perS).toFixed(0)} prompt tokens each), ${reports.constrained.length} reports per mode; ` +
      `${cpus().length} cores; non-embedding parameters ${(params / 1e6).toFixed(1)} M; one 1024³ fp32 GEMM: ${(gemmBefore / 1e9).toFixed(1)} GFLOP/s before, ${(gemmAfter / 1e9).toFixed(1)} after`,
  );
  console.log(`\n${'what'.padEnd(66)} ${'rate'.padStart(8)}  unit          ${'÷ raw fp32'.padStart(10)}  tokens/s  of GEMM limit`);
  for (const r of rows) {
    const vsRaw = r.unit === 'decisions/s' ? (r.perS / base.perS).toFixed(2) : '';
    const util = r.tokensPerS ? ((2 * params * r.tokensPerS) / gemm).toFixed(2) : '—';
    if (r.failed) {
      console.log(`${r.what.padEnd(66)} ${'—'.padStart(8)}  ${r.unit.padEnd(12)}  ${r.failed}`);
      continue;
    }
    console.log(`${r.what.padEnd(66)} ${r.perS.toFixed(2).padStart(8)}  ${r.unit.padEnd(12)}  ${vsRaw.padStart(10)}  ${(r.tokensPerS?.toFixed(0) ?? '—').padStart(8)}  ${util.padStart(6)}`);
  }
  const get = (w: string) => rows.find((r) => r.what === w)!.perS;
  console.log('\nratios:');
  for (const d of ['fp32', 'q4']) {
    console.log(`  ${d}: lab (reuse) ÷ raw forward ${(get(`lab engine ${d}, prefix reuse`) / get(`raw forward pass ${d} (onnxruntime-node)`)).toFixed(2)}; no reuse ÷ raw ${(get(`lab engine ${d}, no prefix reuse`) / get(`raw forward pass ${d} (onnxruntime-node)`)).toFixed(2)}; reuse ÷ no reuse ${(get(`lab engine ${d}, prefix reuse`) / get(`lab engine ${d}, no prefix reuse`)).toFixed(2)}`);
  }
  const llama = rows[rows.length - 1].perS;
  if (Number.isFinite(llama)) console.log(`  lab fp32 (reuse) ÷ llama.cpp: ${(get('lab engine fp32, prefix reuse') / llama).toFixed(2)}; lab q4 (reuse) ÷ llama.cpp: ${(get('lab engine q4, prefix reuse') / llama).toFixed(2)}`);
  console.log(`  constrained ÷ free reports/s (fp32): ${(get('lab engine fp32, constrained reports') / get('lab engine fp32, free reports')).toFixed(2)}`);
  console.log(
    `\n"of GEMM limit" = 2 × ${(params / 1e6).toFixed(1)} M × tokens computed/s ÷ the GEMM's FLOP/s; the exported graph also computes the ${((config.vocab_size * config.hidden_size) / 1e6).toFixed(1)} M-parameter ` +
      `output layer at every prompt position (no num_logits_to_keep input), work not counted here. q4 rows count the same FLOPs (its weights are unpacked to fp32 math). load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)} (2 shared cores).`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
