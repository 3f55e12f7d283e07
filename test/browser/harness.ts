/**
 * Browser side of the engine and plan tests: the page reads what to do from
 * /harness-config.json (written by the Node test) and leaves its outcome in
 * window.__result for playwright to read.
 */
import { WorkerEngine } from '../../workers/client';
import { runConformance } from '../conformance/checks';
import { conformanceInputs, type InputSize } from '../conformance/inputs';
import { buildPlan, serializePlan } from '../../src/lib/plan';
import { presetSpec } from '../../src/lib/presets';
import { builtinScenarioSet } from '../../src/lib/scenarios';

interface HarnessConfig {
  mode: 'conformance' | 'plan';
  device?: 'wasm' | 'webgpu';
  modelId?: string;
  expected?: Array<[number, number]>;
  reports?: number;
  freeReports?: number;
  maxReplyTokens?: number;
  size?: InputSize;
}

declare global {
  interface Window {
    __result?: { ok: boolean; error?: string; checks?: unknown; plan?: string; crossOriginIsolated?: boolean };
  }
}

async function conformance(cfg: HarnessConfig) {
  const engine = await WorkerEngine.create('transformers', {
    // A path, not a full URL: transformers.js 4.3 only checks local files for paths (a URL local path is treated as remote).
    transformers: { localModelPath: '/models/', allowRemoteModels: false, maxReplyTokens: cfg.maxReplyTokens },
  });
  try {
    await engine.load({ model: cfg.modelId!, device: cfg.device, dtype: 'fp32' });
    console.log('model loaded');
    const checks = await runConformance({
      engine,
      ...conformanceInputs(cfg.size),
      expected: cfg.expected,
      reports: cfg.reports ?? 200,
      freeReports: cfg.freeReports,
      setPrefixReuse: (on) => engine.configure({ prefixReuse: on }),
      missingModel: 'no-such-model',
    }, (name, ms) => console.log(`check done in ${Math.round(ms)} ms: ${name}`));
    return { ok: true, checks };
  } finally {
    engine.terminate();
  }
}

function plan() {
  const spec = presetSpec('paper', { model: { id: 'any' }, control: { id: 'other' }, seed: 'node-vs-browser' });
  return { ok: true, plan: serializePlan(buildPlan(spec, builtinScenarioSet('node-vs-browser').scenarios)) };
}

async function main() {
  const cfg = (await (await fetch('/harness-config.json')).json()) as HarnessConfig;
  try {
    window.__result = { ...(cfg.mode === 'plan' ? plan() : await conformance(cfg)), crossOriginIsolated };
  } catch (e) {
    window.__result = { ok: false, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) };
  }
  document.getElementById('out')!.textContent = JSON.stringify(window.__result, null, 1).slice(0, 4000);
}
void main();
