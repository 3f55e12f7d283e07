import { describe, expect, it } from 'vitest';
import { bootstrapCorrelation, bootstrapCorrelations, learnedWeights, pairedCorrelationDifference, pairedCorrelationDifferences, pearson, percentileInterval } from '../src/lib/analysis';
import { rngFor } from '../src/lib/rng';
import { privilegedAccess, worthOf } from '../src/lib/analysis/privileged';
import { simulatePrivilegedInput } from '../src/lib/analysis/simulate';
import { presetSpec, severalModelsSpec, SIMULATED_PRESET_MODELS } from '../src/lib/experiment/presets';
import { analyzeRun, decisionsOf } from '../src/app/run-analysis';
import { privilegedAccessOf } from '../src/app/privileged-access';
import type { RunRecord } from '../src/lib/experiment/runs';
import { simulatedId } from '../src/lib/experiment/simulated';
import { runSimulated } from './support/sim-run';
import { formatPrivileged } from '../cli/analyze-run';

/** The issue's three simulated models: one trained on the target weights that knows them (access .9), two native ones that know only common sense. */
async function threeModelRun(): Promise<RunRecord> {
  const spec = severalModelsSpec('three simulated', { scenarios: 30, decisions: 30, reports: 3 }, SIMULATED_PRESET_MODELS, { seed: 'three', observe: [0, 5, 10, 20] });
  return (await runSimulated(spec)).record;
}

describe('privileged access on three simulated models', async () => {
  const record = await threeModelRun();
  const pa = privilegedAccessOf(record, { resamples: 1000 })!;
  const verdict = (t: string) => pa.verdicts.find((v) => v.target === t)!;

  it('shows privileged access for the model that knows its weights, and not for the native ones', () => {
    expect(SIMULATED_PRESET_MODELS[0].id).toBe(simulatedId({ label: 'trained', weights: 'target', access: 0.9 }));
    expect(pa.complete).toBe(true);
    expect(pa.models.map((m) => m.simulated)).toEqual([true, true, true]);
    expect(pa.models.every((m) => /simulated/.test(m.label))).toBe(true);
    expect(verdict('m1').verdict).toBe('shown');
    expect(verdict('m1').ci![0]).toBeGreaterThan(0);
    for (const t of ['m2', 'm3']) {
      expect(verdict(t).verdict).toBe('not_shown');
      expect(verdict(t).why).toMatch(/Common-sense baseline/);
    }
    // Each native model's self-report is matched by the other native model's report (the off-diagonal cell).
    const cell = (r: string, t: string) => pa.matrix.find((c) => c.reporter === r && c.target === t)!;
    expect(Math.abs(cell('m2', 'm2').r - cell('m3', 'm2').r)).toBeLessThan(0.05);
    expect(Math.abs(cell('m3', 'm3').r - cell('m2', 'm3').r)).toBeLessThan(0.05);
    // ...because their behaviour overlaps: a high common-sense r between them, none with the trained model.
    const cs = (a: string, b: string) => pa.common_sense.find((c) => c.a === a && c.b === b)!.r;
    expect(cs('m2', 'm3')).toBeGreaterThan(0.6);
    expect(Math.abs(cs('m1', 'm2'))).toBeLessThan(0.3);
    console.log(
      'three simulated models:',
      pa.verdicts.map((v) => `${v.target} ${v.verdict} self r ${v.self_r.toFixed(3)} vs ${v.best_other} ${v.best_other_r?.toFixed(3)} diff CI [${v.ci?.map((x) => x.toFixed(3)).join(', ')}]`).join('; '),
      `; common sense r(m2, m3) = ${cs('m2', 'm3').toFixed(3)}`,
    );
  });

  it('fills an N×N matrix with its diagonal marked, one observer point per (reporter, target, k) and the statistical observer per k > 0', () => {
    expect(pa.matrix).toHaveLength(9);
    expect(pa.matrix.filter((c) => c.self).map((c) => c.reporter)).toEqual(['m1', 'm2', 'm3']);
    expect(pa.matrix.every((c) => c.n_points === 30 * 5 && c.ci[0] <= c.r && c.r <= c.ci[1])).toBe(true);
    expect(pa.observers).toHaveLength(3 * 3 * 4);
    expect(pa.statistical_observer.map((s) => `${s.target}@${s.k}`)).toEqual(['m1@5', 'm1@10', 'm1@20', 'm2@5', 'm2@10', 'm2@20', 'm3@5', 'm3@10', 'm3@20']);
    expect(pa.partial.map((p) => p.target)).toEqual(['m1', 'm2', 'm3']);
    // Partialling the native models' learned weights out leaves the trained model's self-report accurate
    // but removes much of a native model's (its accuracy was mostly common sense).
    expect(pa.partial[0].self_r_partial!).toBeGreaterThan(0.8);
    expect(pa.partial[1].self_r_partial!).toBeLessThan(pa.partial[1].self_r - 0.1);
    expect(pa.worth.map((w) => w.target)).toEqual(['m1', 'm2', 'm3']);
  });

  it('works on a partial run and says it is provisional', () => {
    const partial = { ...record, results: record.results.slice(0, Math.floor(record.results.length / 3)) };
    const p = privilegedAccessOf(partial, { resamples: 200 })!;
    expect(p.complete).toBe(false);
    expect(p.matrix.length).toBeGreaterThan(0);
    expect(privilegedAccessOf({ ...record, results: [] })!.matrix).toEqual([]);
  });

  it('is null for a run with one model', () => {
    const one = presetSpec('classroom', { model: { id: 'sim:solo' } });
    expect(privilegedAccessOf({ ...record, spec: one, results: [] })).toBeNull();
  });
});

/** A reporter's points against the target's learned weights, scenario by scenario. */
const pointsOf = (input: ReturnType<typeof simulatePrivilegedInput>, who: string) =>
  [...input.reported.get(who)!].map(([scenario, x]) => ({ scenario, x, y: input.learned.get('t')!.get(scenario)! }));

describe('calibration and power of the privileged-access verdict', () => {
  it('says "shown" in at most 5 % of 200 null simulations (the self-reporter knows nothing the other does not)', () => {
    let shown = 0;
    const sims = 200;
    for (let i = 0; i < sims; i++) {
      const r = [0.3, 0.6, 0.8][i % 3];
      const input = simulatePrivilegedInput({ scenarios: 100, selfR: r, otherR: [r], seed: `null-${i}` });
      const pa = privilegedAccess({ ...input, bootstrap: { resamples: 500, seed: `boot-${i}` } });
      if (pa.verdicts[0].verdict === 'shown') shown++;
    }
    console.log(`null simulations: shown in ${shown}/${sims} (${((100 * shown) / sims).toFixed(1)} %)`);
    expect(shown / sims).toBeLessThanOrEqual(0.05);
  });

  it("holds 5 % when the others differ in precision: the issue's null case, 200 runs at each of B's noise levels", () => {
    // 60 scenarios; C (o1) describes the target exactly as well as the self-report (r = .6, independent noise),
    // so the truth is "not shown"; B (o2) is a noisy copy of the self-report: usually the highest observed r,
    // with a tiny spread of its difference from self. Testing self only against B said "shown" in 8.5–13.5 % here.
    const sims = 200;
    const rates: string[] = [];
    for (const noise of [0.2, 0.35, 0.5]) {
      let shown = 0;
      let againstB = 0;
      for (let i = 0; i < sims; i++) {
        const input = simulatePrivilegedInput({ scenarios: 60, selfR: 0.6, otherR: [0.6], selfCopies: [noise], seed: `issue-${noise}-${i}` });
        const v = privilegedAccess({ ...input, bootstrap: { resamples: 1000, seed: `b-${i}` } }).verdicts[0];
        if (v.verdict === 'shown') shown++;
        if (pairedCorrelationDifference(pointsOf(input, 'o2'), pointsOf(input, 't'), { resamples: 1000, seed: `b-${i}` }).ci[0] > 0) againstB++;
      }
      rates.push(`B's noise ${noise}: shown in ${shown}/${sims} (${((100 * shown) / sims).toFixed(1)} %); self's interval against B alone above 0 in ${againstB}/${sims}`);
      expect(shown / sims).toBeLessThanOrEqual(0.05);
    }
    console.log(`issue-16 null case (60 scenarios, intersection–union test):\n  ${rates.join('\n  ')}`);
  });

    it('detects a true advantage of .2 in r at 100 scenarios most of the time', () => {
    let shown = 0;
    for (let i = 0; i < 40; i++) {
      const pa = privilegedAccess({ ...simulatePrivilegedInput({ scenarios: 100, selfR: 0.7, otherR: [0.5], seed: `power-${i}` }), bootstrap: { resamples: 500 } });
      if (pa.verdicts[0].verdict === 'shown') shown++;
    }
    expect(shown / 40).toBeGreaterThan(0.8);
  });
});

describe('a difference and the r beside it come from the same scenarios', () => {
  // A live (partial) run: the other reporter has answered on 8 of the 60 scenarios so far. With this seed the
  // verdict before issue 16 printed self r .63 (60 scenarios) and other r .61 (8) beside a difference of −.25 (8).
  const input = simulatePrivilegedInput({ scenarios: 60, selfR: 0.6, otherR: [0.6], seed: 'partial-4' });
  const kept = [...input.reported.get('o1')!].slice(0, 8);
  const partial = { ...input, complete: false, reported: new Map([...input.reported, ['o1', new Map(kept)]]) };
  const pa = privilegedAccess({ ...partial, bootstrap: { resamples: 1000 } });
  const v = pa.verdicts[0];
  const learned = input.learned.get('t')!;
  const rOn = (who: string) => pearson(kept.flatMap(([id]) => [...input.reported.get(who)!.get(id)!]), kept.flatMap(([id]) => [...learned.get(id)!]));

  it('computes self r, the other r and their difference on the 8 shared scenarios, and says so', () => {
    expect(v.n_scenarios).toBe(8);
    expect(Math.abs(v.self_r_paired! - rOn('t'))).toBeLessThan(1e-9);
    expect(Math.abs(v.best_other_r! - rOn('o1'))).toBeLessThan(1e-9);
    expect(Math.abs(v.diff! - (v.self_r_paired! - v.best_other_r!))).toBeLessThan(1e-12);
    // The matrix still gives self r over all 60 scenarios; the verdict's own r is on the 8.
    expect(pa.matrix.find((c) => c.self)!.n_points).toBe(60 * 5);
  });

  it('prints a difference that agrees with the two r printed beside it, with its n (sentence and CLI)', () => {
    const printed = (text: string) => {
      const m = /on (\d+) scenarios, self r = (-?\d\.\d\d) against (-?\d\.\d\d), difference (-?\d\.\d\d)/.exec(text);
      expect(m, text).not.toBeNull();
      return m!.slice(1).map(Number);
    };
    const [n, self, other, diff] = printed(v.why);
    console.log(`partial run, other on 8 of 60 scenarios: ${v.why}`);
    expect(n).toBe(8);
    expect(Math.abs(diff - (self - other))).toBeLessThanOrEqual(0.01 + 1e-9); // rounding of three 2-decimal numbers
    const cli = formatPrivileged(pa);
    const line = cli.split('\n').find((l) => l.includes('self − o1'))!;
    const m = /: (-?[\d.]+) \[.*\] on (\d+) scenarios \(self r (-?[\d.]+), other r (-?[\d.]+)\)/.exec(line)!;
    expect(Number(m[2])).toBe(8);
    expect(Math.abs(Number(m[1]) - (Number(m[3]) - Number(m[4])))).toBeLessThanOrEqual(0.001 + 1e-9);
  });
});

describe('the statistical observer', async () => {
  // Two simulated models whose choices are noisy (β = 3), with an example pool as large as the decision set.
  const models = [{ id: 'sim:a?weights=target&beta=3' }, { id: 'sim:b?beta=3' }];
  // No reports: only decisions and pools run; the observer conditions still name the k values.
  const spec = severalModelsSpec('stat', { scenarios: 40, decisions: 40, reports: 0 }, models, { seed: 'stat', observe: [2, 5, 10, 20, 40] });
  const { record } = await runSimulated(spec);
  const pa = privilegedAccessOf(record, { resamples: 200 })!;

  it('rises with k and approaches the reliability of the learned weights', () => {
    const curve = pa.statistical_observer.filter((s) => s.target === 'm1');
    expect(curve.map((s) => s.k)).toEqual([2, 5, 10, 20, 40]);
    for (let i = 1; i < curve.length; i++) expect(curve[i].r).toBeGreaterThan(curve[i - 1].r);
    // Reliability of the learned weights, from the decisions alone: split-half r, Spearman–Brown corrected to 40 decisions.
    const decisions = decisionsOf(record, 'decide-m1');
    const halves = [new Map<string, number[]>(), new Map<string, number[]>()];
    for (const p of record.plan.scenarios) {
      const ds = decisions.filter((d) => d.scenario === p.scenario.id);
      // Halves by pair index: both orders of a counterbalanced pair stay in one half.
      halves.forEach((h, j) => h.set(p.scenario.id, learnedWeights(p.scenario.attributes, ds.filter((d) => d.index! % 2 === j)).weights));
    }
    const ids = record.plan.scenarios.map((p) => p.scenario.id);
    const half = pearson(ids.flatMap((id) => halves[0].get(id)!), ids.flatMap((id) => halves[1].get(id)!));
    const reliability = (2 * half) / (1 + half);
    console.log(`statistical observer r by k: ${curve.map((s) => `${s.k}: ${s.r.toFixed(3)}`).join(', ')}; reliability of learned weights (split-half, Spearman–Brown) ${reliability.toFixed(3)}`);
    expect(curve[0].r).toBeLessThan(reliability - 0.2);
    expect(Math.abs(curve.at(-1)!.r - reliability)).toBeLessThan(0.06);
  });
});

describe('worth in observed decisions', () => {
  const curve = [5, 10, 20].map((k, i) => ({ target: 't', k, r: [0.4, 0.6, 0.8][i], ci: [0, 1] as [number, number] }));
  it('interpolates where the curve reaches the self-report, or says it lies outside', () => {
    expect(worthOf('t', 'M', 0.7, curve)).toMatchObject({ relation: 'between' });
    expect(worthOf('t', 'M', 0.7, curve).k_star).toBeCloseTo(15, 9);
    expect(worthOf('t', 'M', 0.7, curve).text).toBe("M's self-report (r = 0.70) is worth about 15 observed decisions.");
    expect(worthOf('t', 'M', 0.3, curve)).toMatchObject({ k_star: null, relation: 'below_min' });
    expect(worthOf('t', 'M', 0.9, curve)).toMatchObject({ k_star: null, relation: 'above_max' });
    expect(worthOf('t', 'M', 0.9, [])).toMatchObject({ relation: 'unknown' });
  });

  it('gives the first k where the curve reaches the self r, also where the curve is flat at it', () => {
    const at = (rs: number[]) => [5, 10, 20].map((k, i) => ({ target: 't', k, r: rs[i], ci: [0, 1] as [number, number] }));
    expect(worthOf('t', 'M', 0.6, at([0.6, 0.6, 0.6])).k_star).toBe(5);
    expect(worthOf('t', 'M', 0.6, at([0.6, 0.6, 0.8])).k_star).toBe(5);
    expect(worthOf('t', 'M', 0.6, at([0.4, 0.6, 0.6])).k_star).toBeCloseTo(10, 12);
    expect(worthOf('t', 'M', 0.6, at([0.6, 0.6, 0.6])).text).toBe("M's self-report (r = 0.60) is worth about 5 observed decisions.");
  });
});

describe('bootstrapCorrelations', () => {
  it('gives each comparison exactly what bootstrapCorrelation gives it alone, whatever its scenario count', () => {
    const input = simulatePrivilegedInput({ scenarios: 30, selfR: 0.6, otherR: [0.4], seed: 'shared' });
    const learned = input.learned.get('t')!;
    const groups = (who: string, n: number) =>
      [...input.reported.get(who)!].slice(0, n).map(([scenario, x]) => ({ scenario, x, y: learned.get(scenario)! }));
    const list = [groups('t', 30), groups('o1', 30), groups('o1', 12), []];
    const together = bootstrapCorrelations(list, { resamples: 300, seed: 's' });
    list.forEach((g, i) => expect(together[i]).toEqual(bootstrapCorrelation(g, { resamples: 300, seed: 's' })));
    // And what the scenario bootstrap means, computed naively: resample scenarios, pool their points, r, percentiles.
    const g = list[2];
    const rng = rngFor('s', 'bootstrap-correlation');
    const rs: number[] = [];
    for (let b = 0; b < 300; b++) {
      const pick = Array.from({ length: g.length }, () => g[Math.floor(rng.next() * g.length)]);
      rs.push(pearson(pick.flatMap((p) => [...p.x]), pick.flatMap((p) => [...p.y])));
    }
    const naive = percentileInterval(rs);
    expect(Math.abs(together[2].ci[0] - naive[0])).toBeLessThan(1e-9);
    expect(Math.abs(together[2].ci[1] - naive[1])).toBeLessThan(1e-9);
    expect(together[0].ci[0]).toBeLessThan(together[0].r);
    expect(together[2].n_scenarios).toBe(12);
  });
});

describe('pairedCorrelationDifferences', () => {
  it('gives each comparison exactly what pairedCorrelationDifference gives it alone, whatever scenarios it shares', () => {
    const input = simulatePrivilegedInput({ scenarios: 30, selfR: 0.6, otherR: [0.4, 0.5], selfCopies: [0.3], seed: 'many' });
    const self = pointsOf(input, 't');
    const firsts = [pointsOf(input, 'o1'), pointsOf(input, 'o2').slice(0, 12), pointsOf(input, 'o3').reverse(), pointsOf(input, 'o1').slice(5, 17), []];
    const together = pairedCorrelationDifferences(firsts, self, { resamples: 300, seed: 's' });
    firsts.forEach((f, i) => expect(together[i]).toEqual(pairedCorrelationDifference(f, self, { resamples: 300, seed: 's' })));
    expect(together.map((d) => d.n_scenarios)).toEqual([30, 12, 30, 12, 0]);
    // And what the paired bootstrap means, computed naively for the reversed list: shared scenarios in the first's
    // order, resample them, both r on the same resample, the difference's percentiles.
    const bySelf = new Map(self.map((g) => [g.scenario, g]));
    const pairs = firsts[2].map((g) => [g, bySelf.get(g.scenario)!] as const);
    const rng = rngFor('s', 'bootstrap-paired-difference');
    const r = (gs: readonly { x: readonly number[]; y: readonly number[] }[]) => pearson(gs.flatMap((g) => [...g.x]), gs.flatMap((g) => [...g.y]));
    const ds: number[] = [];
    for (let b = 0; b < 300; b++) {
      const pick = Array.from({ length: pairs.length }, () => pairs[Math.floor(rng.next() * pairs.length)]);
      ds.push(r(pick.map((p) => p[1])) - r(pick.map((p) => p[0])));
    }
    const naive = percentileInterval(ds);
    expect(Math.abs(together[2].ci[0] - naive[0])).toBeLessThan(1e-9);
    expect(Math.abs(together[2].ci[1] - naive[1])).toBeLessThan(1e-9);
  });
});

describe('the same learned weights as the lab\'s other analyses', () => {
  it('scores each self-report exactly as the Results view does, also when a biased model\'s fit switches to P(A) on counterbalanced pairs', async () => {
    const models = [{ id: 'sim:biased?weights=target&bias=15' }, { id: 'sim:plain?access=0' }];
    const spec = { ...severalModelsSpec('lab', { scenarios: 8, decisions: 12, reports: 2 }, models, { seed: 'lab', observe: [0] }), counterbalance: true };
    const { record } = await runSimulated(spec);
    const lab = analyzeRun(record, { resamples: 300 });
    expect(lab.decisions.find((d) => d.key === 'decide-m1')!.switchedToSoft).toBe(true);
    const pa = privilegedAccessOf(record, { resamples: 300 })!;
    for (const m of ['m1', 'm2']) {
      const fromLab = lab.reports.find((r) => r.key === `report-${m}`)!.vsLearned!;
      const cell = pa.matrix.find((c) => c.reporter === m && c.target === m)!;
      expect(Math.abs(cell.r - fromLab.r)).toBeLessThan(1e-9);
      expect(Math.abs(cell.ci[0] - fromLab.ci[0])).toBeLessThan(1e-9);
      expect(cell.n_points).toBe(fromLab.n_points);
    }
  });
});
