/**
 * `npm run bench:browser [-- --builds fp32,q8,q4 --threads N --rounds N --ort-build plain]`: the same trials (a shrunk
 * Classroom plan, same seed, same ids: bench/trials.ts) on the real model
 * (SmolLM2-135M-Instruct, test/support/real-model.ts) in headless Chromium (WASM, through the
 * lab's engine worker, the model served from the page's origin with cross-origin isolation)
 * and in Node (onnxruntime-node), build by build, in one run. Prints trials/s (trial times,
 * load excluded), the browser ÷ Node ratio, how far each build's P(A) is from Node fp32 (the
 * model's own numbers), and a last JSON line:
 *   {"builds": {...}, "best_browser_build", "browser_trials_per_s", "node_trials_per_s", "ratio"}
 * where the best build is the fastest in the browser among those whose P(A) stays within
 * OWN_NUMBERS of fp32's. Ratios are the figures: the machine is small and shared.
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { loadavg, tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { env } from '@huggingface/transformers';
import { TransformersEngine } from '../workers/transformers-engine';
import { realModel } from '../test/support/real-model';
import { hasBrowser } from '../test/support/browser';
import { buildHarness, runHarnessPage } from '../test/support/harness-page';
import { serveStatic } from '../test/support/static-server';
import { benchTrials } from './trials';
import { gemmFlops } from './gemm';
import * as ort from 'onnxruntime-node';
import { wasmThreadsFor } from '../workers/device';
import { runBenchTrials, summarize, type BuildTiming } from './timing';

/** The largest |ΔP(A)| from fp32 at which a build still gives the model's own numbers. */
export const OWN_NUMBERS = 0.02;
const NAME = 'smollm2-135m-instruct';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function node(dir: string, dtype: string, trials: ReturnType<typeof benchTrials>): Promise<BuildTiming> {
  const engine = new TransformersEngine({ allowRemoteModels: false });
  const t0 = performance.now();
  await engine.load({ model: dir, device: 'cpu', dtype });
  const loadMs = performance.now() - t0;
  try {
    return await runBenchTrials(engine, trials, { dtype, loadMs, runtime: async () => engine.runtime() });
  } finally {
    await engine.unload();
  }
}

/** Trial time split: inside ONNX Runtime's forward passes, tokenising, and the rest (copies, softmax, worker messages). */
function whereTime(t: BuildTiming): string {
  type Stats = { forwards: number; tokensFed: number; forwardMs: number; tokenizeMs: number };
  const end = (t.runtime as { stats?: Stats } | undefined)?.stats;
  const start = (t.runtimeBefore as { stats?: Stats } | undefined)?.stats;
  if (!end || !start) return 'no stats';
  const total = t.trials.reduce((a, x) => a + x.ms, 0);
  const forwards = end.forwards - start.forwards;
  const fwd = end.forwardMs - start.forwardMs;
  return (
    `${Math.round((100 * fwd) / total)} % of ${Math.round(total)} ms in ${forwards} forward passes (${((end.tokensFed - start.tokensFed) / forwards).toFixed(1)} tokens each), ` +
    `${Math.round(end.tokenizeMs - start.tokenizeMs)} ms tokenising`
  );
}

async function main() {
  if (!hasBrowser) throw new Error('bench:browser needs Chromium');
  env.allowRemoteModels = false;
  const builds = (arg('builds') ?? 'fp32,q8,q4').split(',');
  const threads = arg('threads');
  const trials = benchTrials({ scenarios: Number(arg('scenarios') ?? 2), decisions: Number(arg('decisions') ?? 2), reports: Number(arg('reports') ?? 1) });
  // --model DIR: another transformers.js folder (e.g. a fixture) instead of the real model.
  const m = arg('model') ? { onnx: arg('model')! } : await realModel();
  const tmp = await mkdtemp(join(tmpdir(), 'bench-browser-'));
  await mkdir(join(tmp, 'models'));
  await symlink(m.onnx, join(tmp, 'models', NAME));
  await buildHarness(join(tmp, 'site'));
  // --ort-build plain: ONNX Runtime Web's WASM-only build instead of the asyncify one the lab ships (an experiment).
  const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  const server = await serveStatic({ '/': join(tmp, 'site'), '/models/': join(tmp, 'models'), '/ort-dist/': ortDist });
  const load0 = loadavg()[0];
  console.log(`${trials.length} trials (${trials.filter((t) => t.kind === 'decision').length} decisions, ${trials.filter((t) => t.kind === 'report').length} constrained reports) per build; ${cpus().length} cores, load ${load0.toFixed(2)}`);
  const results: Record<string, { browser: BuildTiming; node: BuildTiming; rounds: { browser: number; node: number }[] }> = {};
  const rounds = Number(arg('rounds') ?? 1);
  let gemm: { browser: number; node: number; threads: number } | null = null;
  try {
    // The kernels' own speed: one 1024³ fp32 GEMM in each runtime, at the thread count the lab uses.
    const gemmThreads = Number(threads ?? wasmThreadsFor(cpus().length, true));
    const g = await runHarnessPage(server, { mode: 'gemm', threads: gemmThreads });
    gemm = { browser: g.flops ?? NaN, node: await gemmFlops(ort as unknown as Parameters<typeof gemmFlops>[0]), threads: gemmThreads };
    // Build by build, Node then the browser, so each ratio is measured close in time.
    for (const dtype of builds) {
      const plain = arg('ort-build') === 'plain';
      const transformers = {
        ...(threads ? { wasmThreads: Number(threads) } : {}),
        ...(plain ? { wasmPaths: { mjs: `${server.url}/ort-dist/ort-wasm-simd-threaded.mjs`, wasm: `${server.url}/ort-dist/ort-wasm-simd-threaded.wasm` } } : {}),
      };
      const cfg = { mode: 'bench', modelId: NAME, builds: [dtype], trials, transformers };
      // --rounds N: Node then the browser, N times; each round's ratio is measured close in time.
      for (let round = 0; round < rounds; round++) {
        const n = await node(m.onnx, dtype, trials);
        const r = await runHarnessPage(server, cfg);
        if (!r.ok || !r.bench) throw new Error(`browser bench failed: ${r.error}`);
        const b = r.bench[0];
        (results[dtype] ??= { browser: b, node: n, rounds: [] }).rounds.push({ browser: summarize(b).trialsPerS, node: summarize(n).trialsPerS });
        console.log(`  ${dtype}${rounds > 1 ? ` round ${round + 1}` : ''}: browser ${summarize(b).trialsPerS.toFixed(2)} trials/s, Node ${summarize(n).trialsPerS.toFixed(2)}; browser runtime ${JSON.stringify(b.runtime)}`);
        console.log(`    where the time goes: browser ${whereTime(b)}; Node ${whereTime(n)}`);
      }
    }
  } finally {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  }
  const ref = results.fp32?.node ?? Object.values(results)[0].node;
  const pAs = (t: BuildTiming) => t.trials.filter((x) => x.kind === 'decision').map((x) => x.pA!);
  const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  const rows: Record<string, Record<string, number | boolean>> = {};
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [dtype, { browser, node: n, rounds: rs }] of Object.entries(results)) {
    const b = summarize(browser);
    const s = summarize(n);
    const vsOwn = maxDiff(pAs(browser), pAs(ref));
    rows[dtype] = {
      // Medians over the rounds (ratio: the median of each round's own ratio); times per kind from the first round.
      browser_trials_per_s: mid(rs.map((x) => x.browser)),
      node_trials_per_s: mid(rs.map((x) => x.node)),
      ratio: mid(rs.map((x) => x.browser / x.node)),
      browser_decision_ms: b.decisionMs,
      browser_report_ms: b.reportMs,
      node_decision_ms: s.decisionMs,
      node_report_ms: s.reportMs,
      browser_load_s: b.loadS,
      max_dpa_browser_vs_node: maxDiff(pAs(browser), pAs(n)),
      max_dpa_vs_fp32: vsOwn,
      own_numbers: vsOwn <= OWN_NUMBERS,
      reports_valid: browser.trials.filter((x) => x.kind === 'report').every((x) => x.valid),
    };
  }
  const f = (x: number, d = 2) => x.toFixed(d).padStart(8);
  console.log(`\nbuild   browser/s   Node/s   ratio  decision ms (br/Node)  report ms (br/Node)  load s  max|ΔP(A)| vs fp32`);
  for (const [dtype, r] of Object.entries(rows))
    console.log(
      `${dtype.padEnd(6)} ${f(r.browser_trials_per_s as number)} ${f(r.node_trials_per_s as number)} ${f(r.ratio as number)}  ${f(r.browser_decision_ms as number, 0)} /${f(r.node_decision_ms as number, 0)}   ${f(r.browser_report_ms as number, 0)} /${f(r.node_report_ms as number, 0)}  ${f(r.browser_load_s as number, 1)}  ${(r.max_dpa_vs_fp32 as number).toExponential(1)}${r.own_numbers ? '' : ' (not the model’s own numbers)'}`,
    );
  if (gemm)
    console.log(
      `one 1024³ fp32 GEMM: ONNX Runtime Web (WASM, ${gemm.threads} threads) ${(gemm.browser / 1e9).toFixed(1)} GFLOP/s, onnxruntime-node ${(gemm.node / 1e9).toFixed(1)} GFLOP/s: ratio ${(gemm.browser / gemm.node).toFixed(2)}`,
    );
  const own = Object.entries(rows).filter(([, r]) => r.own_numbers);
  const [best, row] = own.sort((a, b) => (b[1].browser_trials_per_s as number) - (a[1].browser_trials_per_s as number))[0];
  console.log(`load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)} (2 cores shared: compare ratios, not absolute rates)`);
  console.log(
    JSON.stringify({ builds: rows, ...(gemm ? { gemm_gflops: { browser: gemm.browser / 1e9, node: gemm.node / 1e9 } } : {}), best_browser_build: best, browser_trials_per_s: row.browser_trials_per_s, node_trials_per_s: row.node_trials_per_s, ratio: row.ratio }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
