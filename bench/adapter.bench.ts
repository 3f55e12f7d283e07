/**
 * LoRA adapter benchmark: `npm run bench:adapter`. On the wide fixture (a
 * forward pass costing what a small real model's does on a CPU), with a
 * rank-16 adapter on all seven projections, prints ratios measured in one run:
 *  - patch time (read + patch the ONNX graph) and its ratio to the model's load time;
 *  - forward time with vs without the adapter (goal ≤ 1.2×), fp32 and q4;
 *  - the merge alternative for fp32: time to compute W + s·B·A for every
 *    module (its forward pass is the base model's);
 *  - peak memory (VmHWM of a fresh process) of loading with vs without.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformersEngine } from '../workers/transformers-engine';
import { buildLoraAdapter, deltaWeight } from '../src/lib/adapters';
import { decisionMessages } from '../src/lib/prompts';
import { conformanceInputs } from '../test/conformance/inputs';
import { writeFixtureModel } from '../test/fixture/model';
import { buildFixtureAdapter } from '../test/fixture/adapter';

const WIDE = { hiddenSize: 512, intermediateSize: 1536, numLayers: 8, numHeads: 8, numKvHeads: 2, headDim: 64 };
const REPEATS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Child mode: load once and print the process's peak RSS (MiB). VmHWM, not
 * getrusage's maxRSS, which Linux carries over from the parent across exec.
 */
async function measureLoad(dir: string, dtype: string, adapter?: string) {
  const e = new TransformersEngine({ allowRemoteModels: false });
  await e.load({ model: dir, device: 'cpu', dtype, adapter: adapter ? { id: adapter } : undefined });
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  console.log(JSON.stringify({ maxRssMiB: (hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS) / 1024 }));
  await e.unload();
}

function peakRss(dir: string, dtype: string, adapter?: string): number {
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--measure-load', dir, dtype, ...(adapter ? [adapter] : [])], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line).maxRssMiB;
  } catch {
    throw new Error(`measuring child failed: ${r.stderr.slice(-2000)}`);
  }
}

async function main() {
  const tmp = await mkdtemp(join(tmpdir(), 'bench-adapter-'));
  try {
    const info = await writeFixtureModel(join(tmp, 'fixture-llama'), { ...WIDE, dtypes: ['fp32', 'q4'] });
    const a = buildFixtureAdapter(info.config, { r: 16, alpha: 32 });
    const adapterDir = join(tmp, 'adapter');
    await mkdir(adapterDir);
    for (const [f, b] of Object.entries(a.files)) await writeFile(join(adapterDir, f), b);
    const { scenarios, options } = conformanceInputs({ scenarios: 2, trials: 6 });
    const prompts = scenarios.flatMap((s, i) => options[i].map(({ a: x, b: y }) => decisionMessages(s, x, y)));
    console.log(`wide fixture: hidden ${WIDE.hiddenSize}, mlp ${WIDE.intermediateSize}, ${WIDE.numLayers} layers; adapter rank 16 on all seven projections (${a.modules.length} modules, ${(a.files['adapter_model.safetensors'].length / 2 ** 20).toFixed(1)} MiB)`);

    for (const dtype of ['fp32', 'q4']) {
      const base = new TransformersEngine({ allowRemoteModels: false });
      const adapted = new TransformersEngine({ allowRemoteModels: false });
      const loadBase: number[] = [];
      const loadAdapted: number[] = [];
      const patch: number[] = [];
      for (let r = 0; r < 3; r++) {
        let t0 = performance.now();
        await base.load({ model: info.dir, device: 'cpu', dtype });
        loadBase.push(performance.now() - t0);
        t0 = performance.now();
        const caps = await adapted.load({ model: info.dir, device: 'cpu', dtype, adapter: { id: adapterDir } });
        loadAdapted.push(performance.now() - t0);
        patch.push(caps.adapterInfo!.patchMs);
      }
      const ids = prompts.map((m) => base.promptIds(m));
      const run = async (e: TransformersEngine) => {
        const t0 = performance.now();
        for (const x of ids) await e.nextTokenLogits(x);
        return (performance.now() - t0) / ids.length;
      };
      await run(base);
      await run(adapted);
      const tBase: number[] = [];
      const tAdapted: number[] = [];
      for (let r = 0; r < REPEATS; r++) {
        tBase.push(await run(base));
        tAdapted.push(await run(adapted));
      }
      const meanTokens = ids.reduce((s, x) => s + x.length, 0) / ids.length;
      console.log(`\n${dtype}: ${ids.length} prompts, mean ${meanTokens.toFixed(0)} tokens; medians of ${REPEATS} runs`);
      console.log(`  model load (no adapter)            ${median(loadBase).toFixed(0)} ms`);
      console.log(`  model load with adapter            ${median(loadAdapted).toFixed(0)} ms`);
      console.log(`  patch (read + patch the graph)     ${median(patch).toFixed(1)} ms   ratio patch / load: ${(median(patch) / median(loadBase)).toFixed(3)}`);
      console.log(`  forward without / with adapter     ${median(tBase).toFixed(1)} / ${median(tAdapted).toFixed(1)} ms   ratio with / without: ${(median(tAdapted) / median(tBase)).toFixed(2)}  (goal ≤ 1.2)`);
      await base.unload();
      await adapted.unload();
    }

    // The merge alternative (fp32 only: merging into 4-bit weights keeps only a few percent of the adapter).
    const adapter = buildLoraAdapter({ config: a.files['adapter_config.json'], weights: a.files['adapter_model.safetensors'] });
    const t0 = performance.now();
    for (const m of adapter.modules) deltaWeight(m);
    const mergeMs = performance.now() - t0;
    console.log(`\nmerge alternative (fp32): computing W + s·B·A for all ${adapter.modules.length} modules takes ${mergeMs.toFixed(0)} ms in JS (plus rewriting every targeted weight), vs the patch above; its forward pass costs the base model's`);

    const rss = {
      fp32: peakRss(info.dir, 'fp32'),
      fp32Adapted: peakRss(info.dir, 'fp32', adapterDir),
      q4: peakRss(info.dir, 'q4'),
      q4Adapted: peakRss(info.dir, 'q4', adapterDir),
    };
    console.log(`\npeak memory (VmHWM of a fresh process) loading fp32: ${rss.fp32.toFixed(0)} MiB without, ${rss.fp32Adapted.toFixed(0)} MiB with the adapter, ratio ${(rss.fp32Adapted / rss.fp32).toFixed(2)}`);
    console.log(`peak memory loading q4:   ${rss.q4.toFixed(0)} MiB without, ${rss.q4Adapted.toFixed(0)} MiB with the adapter, ratio ${(rss.q4Adapted / rss.q4).toFixed(2)}`);
    console.log(`model file sizes: ${Object.entries(info.files).filter(([f]) => f.endsWith('.onnx')).map(([f, n]) => `${f} ${(n / 2 ** 20).toFixed(1)} MiB`).join(', ')}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--measure-load');
if (at >= 0) void measureLoad(process.argv[at + 1], process.argv[at + 2], process.argv[at + 3]);
else void main();
