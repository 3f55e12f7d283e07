/**
 * Chat templates where the tools put them, in headless Chromium through the worker (WASM):
 * served folders whose template is in tokenizer_config.json, chat_template.jinja or
 * chat_template.json score a decision as Node does; a folder without one fails at load naming
 * the files looked in. The real model (SmolLM2-135M-Instruct), where the project venv can make
 * it, exactly as Optimum wrote it, loaded with the worker options the app uses for it
 * (workerOptionsFor): as a copy in static/models/ (served at /models/SmolLM2-135M-Instruct), and
 * as the catalog id found in a ?localModels=/models/ folder; and without its chat_template.jinja.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser } from './support/browser';
import { buildHarness, runHarnessPage } from './support/harness-page';
import { serveStatic, type StaticServer } from './support/static-server';
import { writeFixtureModel } from './fixture/model';
import { conformanceInputs } from './conformance/inputs';
import { TransformersEngine } from '../workers/transformers-engine';
import { decisionMessages } from '../src/lib/prompts';
import { linkFolder, placeChatTemplate, type TemplatePlace } from './support/template-folders';
import { realModel, realModelSkip, REAL_MODEL_TIMEOUT, type RealModel } from './support/real-model';
import { maxAbsDiff } from './support/real-models';
import { workerOptionsFor } from '../src/app/engine-provider';

const PLACES: TemplatePlace[] = ['inline', 'jinja', 'json', 'none'];
const LOOKED_IN = /tokenizer_config\.json.*chat_template\.jinja, chat_template\.json/;
/** WASM vs onnxruntime-node on the same graph: kernel rounding only. */
const TOL = 1e-4;

const { scenarios, options } = conformanceInputs();
const messages = decisionMessages(scenarios[0], options[0][0].a, options[0][0].b);

let tmp: string;
let server: StaticServer;
let fixtureNode: number[];
let real: RealModel | null = null;
let realNode: number[];

beforeAll(async () => {
  if (!hasBrowser) return;
  tmp = await mkdtemp(join(tmpdir(), 'browser-chat-template-'));
  for (const place of PLACES) await placeChatTemplate((await writeFixtureModel(join(tmp, 'models', place), { seed: 3 })).dir, place);
  const engine = new TransformersEngine({ allowRemoteModels: false });
  await engine.load({ model: join(tmp, 'models', 'inline'), device: 'cpu', dtype: 'fp32' });
  fixtureNode = (await engine.scoreChoice(messages, ['A', 'B'])).logprobs;
  const mounts: Record<string, string> = { '/': join(tmp, 'site'), '/models/': join(tmp, 'models') };
  if (!realModelSkip) {
    real = await realModel();
    await engine.load({ model: real.onnx, device: 'cpu', dtype: 'q4' });
    realNode = (await engine.scoreChoice(messages, ['A', 'B'])).logprobs;
    await linkFolder(real.onnx, join(tmp, 'models', 'smollm2-no-template'), ['chat_template.jinja']);
    // Where a user's copy in static/models/ is served, and where ?localModels=/models/ looks for the catalog id.
    mounts['/models/SmolLM2-135M-Instruct/'] = real.onnx;
    mounts['/models/HuggingFaceTB/SmolLM2-135M-Instruct/'] = real.onnx;
  }
  await engine.unload();
  await buildHarness(join(tmp, 'site'));
  server = await serveStatic(mounts);
}, REAL_MODEL_TIMEOUT);

afterAll(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!hasBrowser)('chat templates in headless Chromium (WASM, through the worker)', () => {
  it('reads the template from tokenizer_config.json, chat_template.jinja or chat_template.json; fails at load without one', async () => {
    const cases = [
      ...PLACES.map((p) => ({ model: p, dtype: 'fp32' })),
      ...(real
        ? [
            { ...workerOptionsFor('/models/SmolLM2-135M-Instruct'), dtype: 'q4' },
            { ...workerOptionsFor('HuggingFaceTB/SmolLM2-135M-Instruct', '/models/'), dtype: 'q4' },
            { ...workerOptionsFor('/models/smollm2-no-template'), dtype: 'q4' },
          ]
        : []),
    ];
    const result = await runHarnessPage(server, { mode: 'score', device: 'wasm', messages, cases });
    expect(result.error ?? '').toBe('');
    const scores = result.scores!;
    for (const [i, place] of PLACES.entries()) {
      if (place === 'none') {
        expect(scores[i]).toMatch(/\[bad_model\].*has no chat template/);
        expect(scores[i]).toMatch(LOOKED_IN);
        continue;
      }
      expect(typeof scores[i], `${place}: ${scores[i]}`).not.toBe('string');
      const diff = maxAbsDiff(scores[i] as number[], fixtureNode);
      console.info(`browser WASM, fixture, template in ${place}: max |log p - Node| = ${diff.toExponential(2)}`);
      expect(diff, place).toBeLessThan(TOL);
    }
    if (real) {
      const [copy, catalog, missing] = scores.slice(PLACES.length);
      for (const [name, served] of [['static/models copy', copy], ['catalog id in ?localModels', catalog]] as const) {
        expect(typeof served, `${name}: ${served}`).not.toBe('string');
        const diff = maxAbsDiff(served as number[], realNode);
        console.info(`browser WASM, real model q4 as Optimum wrote it (${name}): P(A) ${Math.exp((served as number[])[0]).toFixed(4)}, max |log p - Node| = ${diff.toExponential(2)}`);
        expect(diff, name).toBeLessThan(TOL);
      }
      expect(server.requests).toContain('/models/HuggingFaceTB/SmolLM2-135M-Instruct/onnx/model_q4.onnx');
      expect(server.requests).toContain('/models/SmolLM2-135M-Instruct/chat_template.jinja');
      expect(missing).toMatch(/\[bad_model\].*smollm2-no-template: it has no chat template/);
      expect(missing).toMatch(LOOKED_IN);
      // The weights of a folder without a template are never fetched: it fails at load, first.
      expect(server.requests.some((p) => p.startsWith('/models/smollm2-no-template/onnx/'))).toBe(false);
    } else console.warn(`SKIP (the real model in Chromium): ${realModelSkip}`);
    // Every file came from the test's own origin.
    expect(server.requests.some((p) => p === '/models/jinja/chat_template.jinja')).toBe(true);
  }, 900_000);
});
