/**
 * The engine conformance suite: what every Engine must do, written without a
 * test framework so the same checks run in Node (vitest) and inside Chromium
 * through the worker (bundled into a test page). Each check throws on failure
 * and may return figures worth reporting.
 */
import type { Engine } from '../../src/lib/engine/types';
import { EngineError } from '../../src/lib/engine/types';
import { decisionMessages, introspectionMessages } from '../../src/lib/prompts';
import { parseReport } from '../../src/lib/reports';
import type { OptionValues, Scenario } from '../../src/lib/scenarios/types';

export interface ConformanceContext {
  engine: Engine;
  scenarios: Scenario[];
  /** Options per scenario (same index as scenarios), several trials each. */
  options: Array<Array<{ a: OptionValues; b: OptionValues }>>;
  /** Reference log-probabilities of "A" and "B" for options[0], when an independent forward pass is available. */
  expected?: Array<[number, number]>;
  /** Number of constrained reports to check (≥ 200 in the full suite). */
  reports: number;
  /** Number of free-mode reports (40 unless given: each runs to the token budget on a random model). */
  freeReports?: number;
  /** Switch the engine's prefix-cache reuse, when it has one. */
  setPrefixReuse?: (on: boolean) => Promise<void>;
  /** A model id that does not exist, for the error check. */
  missingModel?: string;
}

export type Figures = Record<string, number | string | undefined>;
export interface Check {
  name: string;
  run(ctx: ConformanceContext): Promise<Figures | void>;
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`conformance: ${message}`);
}
const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

export const checks: Check[] = [
  {
    name: 'reports its capabilities once loaded',
    async run({ engine }) {
      const caps = await engine.capabilities();
      assert(caps, 'capabilities() is null after load');
      assert(caps.contextLength > 0, 'contextLength must be positive');
      assert(['webgpu', 'wasm', 'cpu', 'server'].includes(caps.device), `unknown device ${caps.device}`);
      return { device: caps.device, dtype: caps.dtype };
    },
  },
  {
    name: 'scoreChoice: P(A)+P(B) = 1, label mass in (0, 1], choice is the argmax',
    async run({ engine, scenarios, options }) {
      let minMass = 1;
      for (let s = 0; s < scenarios.length; s++)
        for (const { a, b } of options[s]) {
          const r = await engine.scoreChoice(decisionMessages(scenarios[s], a, b), ['A', 'B']);
          assert(close(r.probs[0] + r.probs[1], 1, 1e-9), `probs sum to ${r.probs[0] + r.probs[1]}`);
          assert(r.labelMass > 0 && r.labelMass <= 1 + 1e-9, `label mass ${r.labelMass}`);
          assert(close(Math.exp(r.logprobs[0]) + Math.exp(r.logprobs[1]), r.labelMass, 1e-6), 'label mass ≠ Σ exp(logprob)');
          assert(r.logprobs.every((l) => l <= 1e-9), 'a log-probability is positive');
          assert(r.choice === (r.probs[0] >= r.probs[1] ? 'A' : 'B'), 'choice is not the argmax');
          minMass = Math.min(minMass, r.labelMass);
        }
      return { minLabelMass: minMass };
    },
  },
  {
    name: 'scoreChoice matches an independent forward pass',
    async run({ engine, scenarios, options, expected }) {
      if (!expected) return { skipped: 'no reference for this engine' };
      let worst = 0;
      for (let i = 0; i < expected.length; i++) {
        const { a, b } = options[0][i];
        const r = await engine.scoreChoice(decisionMessages(scenarios[0], a, b), ['A', 'B']);
        worst = Math.max(worst, Math.abs(r.logprobs[0] - expected[i][0]), Math.abs(r.logprobs[1] - expected[i][1]));
      }
      assert(worst <= 1e-4, `log-probabilities differ from the reference by ${worst}`);
      return { maxLogprobDiff: worst };
    },
  },
  {
    name: 'prefix reuse changes nothing but speed',
    async run({ engine, scenarios, options, setPrefixReuse }) {
      if (!setPrefixReuse) return { skipped: 'engine has no prefix reuse switch' };
      const run = async () => {
        const out: number[] = [];
        for (const { a, b } of options[0]) out.push((await engine.scoreChoice(decisionMessages(scenarios[0], a, b), ['A', 'B'])).logprobs[0]);
        return out;
      };
      await setPrefixReuse(false);
      const cold = await run();
      await setPrefixReuse(true);
      const warm = await run();
      const worst = Math.max(...cold.map((c, i) => Math.abs(c - warm[i])));
      assert(worst <= 1e-4, `prefix reuse changed a log-probability by ${worst}`);
      return { maxPrefixDiff: worst };
    },
  },
  {
    name: 'constrained reports always parse with exactly the attribute names and integers in range',
    async run({ engine, scenarios, options, reports }) {
      let n = 0;
      const seen = new Set<string>();
      while (n < reports) {
        const s = n % scenarios.length;
        const { a, b } = options[s][Math.floor(n / scenarios.length) % options[s].length];
        const names = scenarios[s].attributes.map((x) => x.name);
        const r = await engine.report(introspectionMessages(scenarios[s], a, b), names, 'constrained');
        const p = parseReport(r.text, names);
        assert(p.ok, `constrained report did not parse: ${r.text}`);
        assert(JSON.stringify(Object.keys(JSON.parse(r.text))) === JSON.stringify(names), `keys differ: ${r.text}`);
        assert(r.weights && r.weights.every((w, i) => Number.isInteger(w) && w >= -100 && w <= 100 && w === p.weights[i]), `weights ${r.weights}`);
        seen.add(r.weights.join(','));
        n++;
      }
      return { constrainedReports: n, valid: n, distinctReports: seen.size };
    },
  },
  {
    name: 'free reports return the text and say why an invalid one is invalid',
    async run({ engine, scenarios, options, freeReports }) {
      let invalid = 0;
      const reasons: Record<string, number> = {};
      const total = freeReports ?? 40;
      for (let n = 0; n < total; n++) {
        const s = n % scenarios.length;
        const { a, b } = options[s][0];
        const names = scenarios[s].attributes.map((x) => x.name);
        const r = await engine.report(introspectionMessages(scenarios[s], a, b), names, 'free');
        assert(typeof r.text === 'string', 'no reply text');
        if (!r.parse.ok) {
          invalid++;
          reasons[r.parse.reason] = (reasons[r.parse.reason] ?? 0) + 1;
          assert(r.weights === null, 'invalid report with weights');
        } else assert(r.weights?.length === names.length, 'valid report without weights');
      }
      return { freeReports: total, freeInvalidRate: invalid / total, freeInvalidReasons: JSON.stringify(reasons) };
    },
  },
  {
    name: 'cancel aborts the call in flight and the engine keeps working',
    async run({ engine, scenarios, options }) {
      const names = scenarios[0].attributes.map((x) => x.name);
      const { a, b } = options[0][0];
      const pending = engine.report(introspectionMessages(scenarios[0], a, b), names, 'free');
      await engine.cancel();
      const outcome = await pending.then(
        () => 'finished',
        (e) => EngineError.from(e).code,
      );
      // A reply that finished before the cancel arrived is fine; any other error is not.
      assert(outcome === 'cancelled' || outcome === 'finished', `cancel gave ${outcome}`);
      const after = await engine.scoreChoice(decisionMessages(scenarios[0], a, b), ['A', 'B']);
      assert(close(after.probs[0] + after.probs[1], 1, 1e-9), 'engine broken after cancel');
      return { cancelOutcome: outcome };
    },
  },
];

/** Checks that end the engine's life: run last. */
export const finalChecks: Check[] = [
  {
    name: 'a missing model fails with model_not_found and a readable message',
    async run({ engine, missingModel }) {
      if (!missingModel) return { skipped: 'no missing model given' };
      const code = await engine.load({ model: missingModel }).then(
        () => 'loaded',
        (e) => EngineError.from(e).code,
      );
      assert(code === 'model_not_found', `loading a missing model gave ${code}`);
    },
  },
  {
    name: 'after unload, calls fail with not_loaded',
    async run({ engine, scenarios, options }) {
      await engine.unload();
      assert((await engine.capabilities()) === null, 'capabilities after unload');
      const code = await engine.scoreChoice(decisionMessages(scenarios[0], options[0][0].a, options[0][0].b), ['A', 'B']).then(
        () => 'ok',
        (e) => EngineError.from(e).code,
      );
      assert(code === 'not_loaded', `scoreChoice after unload gave ${code}`);
    },
  },
];

/** Run all checks in order, collecting figures; stops at the first failure. */
export async function runConformance(
  ctx: ConformanceContext,
  onCheck?: (name: string, ms: number) => void,
): Promise<Array<{ name: string; figures?: Figures }>> {
  const out: Array<{ name: string; figures?: Figures }> = [];
  for (const c of [...checks, ...finalChecks]) {
    try {
      const t0 = performance.now();
      out.push({ name: c.name, figures: (await c.run(ctx)) ?? undefined });
      onCheck?.(c.name, performance.now() - t0);
    } catch (e) {
      throw new Error(`${c.name}: ${(e as Error).message}`);
    }
  }
  return out;
}
