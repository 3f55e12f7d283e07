/**
 * Engine benchmark: `npm run bench:engine [-- MODEL_DIR]` (default: a fresh
 * fixture model). Prints ratios measured in one run (this machine is noisy):
 *  - decision trials/s vs raw forward passes/s over the same prompts (goal ≥ 0.9)
 *  - decision trials/s with vs without prefix KV reuse
 *  - logit scoring vs generate-then-parse (the paper's way) for decisions
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, Tensor, env } from '@huggingface/transformers';
import { TransformersEngine } from '../workers/transformers-engine';
import { decisionMessages } from '../src/lib/prompts';
import { conformanceInputs } from '../test/conformance/inputs';
import { writeFixtureModel } from '../test/fixture/model';

env.allowRemoteModels = false;
const REPEATS = 3;

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Without a folder argument: the tiny fixture (a ~5 ms forward pass, where the
 * engine's fixed per-trial cost, mostly tokenising in JS, shows most) and a
 * wider fixture with random weights whose forward pass costs what a small real
 * model's does on a CPU.
 */
async function main() {
  if (process.argv[2]) return benchModel(resolve(process.argv[2]));
  const tmp = await mkdtemp(join(tmpdir(), 'bench-'));
  await benchModel((await writeFixtureModel(join(tmp, 'tiny'))).dir);
  const wide = { hiddenSize: 512, intermediateSize: 1536, numLayers: 8, numHeads: 8, numKvHeads: 2, headDim: 64 };
  await benchModel((await writeFixtureModel(join(tmp, 'wide'), wide)).dir);
}

async function benchModel(dir: string) {
  const { scenarios, options } = conformanceInputs({ scenarios: 4, trials: 12 });
  const prompts = scenarios.flatMap((s, i) => options[i].map(({ a, b }) => decisionMessages(s, a, b)));
  const n = prompts.length;

  const engine = new TransformersEngine({ allowRemoteModels: false });
  await engine.load({ model: dir, device: 'cpu' });
  const caps = (await engine.capabilities())!;
  const ids = prompts.map((m) => engine.promptIds(m));
  const meanTokens = ids.reduce((s, x) => s + x.length, 0) / n;

  // Raw forward passes: the library's model on the same token ids, nothing else.
  const model = await AutoModelForCausalLM.from_pretrained(dir, { device: 'cpu', dtype: caps.dtype as 'fp32' });
  const tok = await AutoTokenizer.from_pretrained(dir);
  const raw = async () => {
    for (const x of ids) {
      const input_ids = new Tensor('int64', BigInt64Array.from(x, BigInt), [1, x.length]);
      const attention_mask = new Tensor('int64', new BigInt64Array(x.length).fill(1n), [1, x.length]);
      await (model as unknown as { forward(i: object): Promise<unknown> }).forward({ input_ids, attention_mask });
    }
  };
  // As the runner does: hint the next prompt so it is tokenised during this forward pass.
  const decide = async () => {
    for (let i = 0; i < n; i++) {
      if (i + 1 < n) await engine.prepare(prompts[i + 1]);
      await engine.scoreChoice(prompts[i], ['A', 'B']);
    }
  };
  const generateThenParse = async () => {
    for (const x of ids) {
      const input_ids = new Tensor('int64', BigInt64Array.from(x, BigInt), [1, x.length]);
      const attention_mask = new Tensor('int64', new BigInt64Array(x.length).fill(1n), [1, x.length]);
      const out = (await (model as unknown as { generate(o: object): Promise<Tensor> }).generate({ input_ids, attention_mask, max_new_tokens: 2, do_sample: false })) as Tensor;
      const text = tok.decode(Array.from(out.data as BigInt64Array, Number).slice(x.length), { skip_special_tokens: true }).trim();
      void (text.startsWith('A') ? 'A' : text.startsWith('B') ? 'B' : null);
    }
  };

  await raw();
  await decide(); // warm-up
  const t = { raw: [] as number[], cold: [] as number[], warm: [] as number[], gen: [] as number[] };
  for (let r = 0; r < REPEATS; r++) {
    t.raw.push(await timed(raw));
    engine.setPrefixReuse(false);
    t.cold.push(await timed(decide));
    engine.setPrefixReuse(true);
    t.warm.push(await timed(decide));
    t.gen.push(await timed(generateThenParse));
  }
  const rate = (xs: number[]) => n / median(xs);
  const rows = [
    ['raw forward passes/s', rate(t.raw)],
    ['decision trials/s, no prefix reuse', rate(t.cold)],
    ['decision trials/s, prefix reuse', rate(t.warm)],
    ['generate-then-parse decisions/s', rate(t.gen)],
  ] as const;
  console.log(`model: ${dir} (${caps.device}, ${caps.dtype}); ${n} decision prompts, mean ${meanTokens.toFixed(0)} tokens; median of ${REPEATS} runs`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(40)} ${v.toFixed(1)}`);
  console.log(`ratio decision trials / raw forwards (no reuse): ${(rate(t.cold) / rate(t.raw)).toFixed(2)}  (goal ≥ 0.9)`);
  console.log(`ratio with / without prefix reuse:              ${(rate(t.warm) / rate(t.cold)).toFixed(2)}`);
  console.log(`ratio logit scoring / generate-then-parse:      ${(rate(t.warm) / rate(t.gen)).toFixed(2)}`);
  console.log(`tokens fed per trial with reuse: ${(engine.stats.tokensFed / engine.stats.forwards).toFixed(0)} per forward, ${engine.stats.prefixHits} prefix hits`);
  await engine.unload();
}

void main();
