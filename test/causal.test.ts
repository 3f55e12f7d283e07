/**
 * Issue 18, causal consistency: simulated models with known ground truth run
 * through the real runner, analysed as the lab analyses a run (src/app/causal.ts).
 */
import { describe, expect, it } from 'vitest';
import { causalOf } from '../src/app/causal';
import { causalSpec } from '../src/lib/experiment/presets';
import { simulatedId } from '../src/lib/experiment/simulated';
import { validateSpec } from '../src/lib/experiment/spec';
import { runSimulated } from './support/sim-run';

const size = { scenarios: 20, decisions: 20, reports: 4 };
async function steerRun(sim: Parameters<typeof simulatedId>[0], opts: { size?: typeof size; seed?: string; resamples?: number } = {}) {
  const spec = validateSpec(causalSpec('causal test', opts.size ?? size, [{ id: simulatedId(sim) }], { seed: opts.seed ?? 'causal-test' }));
  const { record } = await runSimulated(spec);
  expect(record.status).toBe('done');
  const entries = causalOf(record, { resamples: opts.resamples ?? 1000 });
  return { record, entries, steer: entries.find((e) => e.intervention.steer)! };
}

describe('causal consistency on simulated models (through the runner)', () => {
  it('access 0.9 under steer: behaviour moved, both steered shifts > 0, verdict consistent', async () => {
    const { steer } = await steerRun({ label: 'knows', access: 0.9 });
    const r = steer.result;
    expect(r.behaviour_moved).toBe(true);
    expect(r.steered_shift!.learned).toBeGreaterThan(0);
    expect(r.steered_shift!.reported).toBeGreaterThan(0);
    expect(r.steered_shift!.sign_agreement).toBe(true);
    expect(r.delta.ci[0]).toBeGreaterThan(0);
    expect(r.verdict).toBe('consistent');
    // The scatter's points: one per (scenario, attribute), the steered one marked once per scenario.
    expect(r.deltas).toHaveLength(size.scenarios * 5);
    expect(r.deltas.filter((d) => d.steered)).toHaveLength(size.scenarios);
  });

  it('access 0: behaviour moved, the self-report did not follow, verdict not consistent', async () => {
    const { steer } = await steerRun({ label: 'blind', access: 0 });
    expect(steer.result.behaviour_moved).toBe(true);
    expect(steer.result.steered_shift!.learned).toBeGreaterThan(0);
    expect(steer.result.verdict).toBe('not shown');
  });

  it('a steer of strength 0: behaviour did not move', async () => {
    const { steer } = await steerRun({ label: 'unmoved', access: 0.9, steer: 0 });
    expect(steer.result.behaviour_moved).toBe(false);
    expect(steer.result.steered_shift!.learned).toBe(0);
    expect(steer.result.verdict).toBe('behaviour did not move');
  });

  it('a weights=target model gets an adapter-scale series whose learned-vs-target r rises with the scale', async () => {
    const { entries } = await steerRun({ label: 'trained', weights: 'target', access: 0.9 }, { size: { scenarios: 12, decisions: 20, reports: 4 } });
    const series = entries.filter((e) => e.intervention.adapterScale !== undefined).sort((a, b) => a.intervention.adapterScale! - b.intervention.adapterScale!);
    expect(series.map((e) => e.intervention.adapterScale)).toEqual([0, 0.25, 0.5, 1]);
    const rs = series.map((e) => e.result.vs_target!.learned.r);
    expect(rs[3]).toBeGreaterThan(rs[0] + 0.3);
    expect(series.map((e) => e.result.vs_target!.reported.r)[3]).toBeGreaterThan(series[0].result.vs_target!.reported.r);
    // Scale 1 is the model as it is: no movement.
    expect(series[3].result.verdict).toBe('behaviour did not move');
  });

  it('stated weights: behaviour follows them by `follow` (r(learned, stated) high at 1, nothing moves at 0)', async () => {
    const run = async (follow: number) => {
      const spec = validateSpec({
        ...causalSpec('stated', size, [{ id: simulatedId({ label: 'told', follow }) }], { seed: 'stated-test' }),
        conditions: [
          { kind: 'decisions', key: 'd', model: 'm1' },
          { kind: 'reports', key: 'r', reporter: 'm1', about: 'd', mode: 'constrained' },
          { kind: 'decisions', key: 'told', model: 'm1', intervention: { stated: 'random' } },
          { kind: 'reports', key: 'rt', reporter: 'm1', about: 'told', mode: 'constrained' },
        ],
      });
      const { record } = await runSimulated(spec);
      return causalOf(record, { resamples: 500 })[0].result;
    };
    const full = await run(1);
    expect(full.stated!.r).toBeGreaterThan(0.8);
    expect(full.verdict).toBe('consistent');
    const none = await run(0);
    expect(none.verdict).toBe('behaviour did not move');
    expect(none.stated!.r).toBeLessThan(full.stated!.r - 0.3);
  });

  // The preset's own size; the behaviour does move in most runs, so the rate is that of the reports test, not a trivial one.
  it('null simulations: `consistent` in at most 5 % of 200 runs where the self-report cannot follow (access 0)', async () => {
    const n = 200;
    let consistent = 0;
    let moved = 0;
    for (let i = 0; i < n; i++) {
      const { steer } = await steerRun({ label: 'null', access: 0, seed: `null-${i}` }, { size: { ...size, reports: 2 }, seed: `null-${i}`, resamples: 300 });
      if (steer.result.verdict === 'consistent') consistent++;
      if (steer.result.behaviour_moved) moved++;
    }
    const rate = consistent / n;
    console.log(`causal null simulations: consistent in ${consistent}/${n} = ${(100 * rate).toFixed(1)} % (behaviour moved in ${moved}/${n})`);
    expect(moved).toBeGreaterThan(n / 2); // the test is about the reports: the behaviour does move
    expect(rate).toBeLessThanOrEqual(0.05);
  }, 120_000);
});
