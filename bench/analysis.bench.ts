/**
 * `npm run bench`: speed of the analysis and trials needed by soft vs hard choice fits.
 *
 * 1. Time to analyse 100 scenarios × 50 trials (goal: under 0.2 s in Node): the 100
 *    logistic fits alone, and the full analysis (fits + agreement + 2000-resample
 *    scenario bootstrap). Medians of several repeats after warm-up (noisy machine).
 * 2. Recovery of simulated agents' weights (Pearson r, learned vs true, over 100
 *    scenarios; median of 5 replicate simulations) at 10/20/50/100 trials per
 *    scenario, fitting 0/1 choices (hard) or the agent's P(A) (soft), and the trials
 *    each needs to reach r ≥ .95.
 */
import { performance } from 'node:perf_hooks';
import { analyzeExperiment, learnedWeights, pearson } from '../src/lib/analysis/index';
import { simulateAgents, type SimulatedScenario } from '../src/lib/analysis/simulate';

const GOAL_S = 0.2;
const REPEATS = 15;
const WARMUP = 3;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function timeIt(fn: () => void): { median: number; min: number; max: number } {
  for (let i = 0; i < WARMUP; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

// ─── 1. speed ──────────────────────────────────────────────────────────────
const sims = simulateAgents({ scenarios: 100, trials: 50, inverseTemperature: 10, seed: 'bench' });
const scenarios = sims.map((s) => ({ id: s.id, attributes: s.attributes }));
const selections = sims.flatMap((s) => s.decisions.map((d) => ({ ...d, scenario: s.id })));
const targets = new Map(sims.map((s) => [s.id, s.target]));

const fitsOnly = timeIt(() => {
  for (const s of sims) learnedWeights(s.attributes, s.decisions);
});
const fitsSoft = timeIt(() => {
  for (const s of sims) learnedWeights(s.attributes, s.decisions, { soft: true });
});
const full = timeIt(() => {
  analyzeExperiment({ scenarios, selections, targets });
});

const fmt = (t: { median: number; min: number; max: number }) =>
  `${(t.median * 1000).toFixed(1).padStart(7)} ms  (min ${(t.min * 1000).toFixed(1)}, max ${(t.max * 1000).toFixed(1)})  ` +
  `ratio to ${GOAL_S} s goal: ${(t.median / GOAL_S).toFixed(3)}`;
console.log(`Analysis of 100 scenarios × 50 trials (median of ${REPEATS} after ${WARMUP} warm-up runs; Node ${process.version})`);
console.log(`  100 logistic fits, hard choices      ${fmt(fitsOnly)}`);
console.log(`  100 logistic fits, soft (P(A))       ${fmt(fitsSoft)}`);
console.log(`  full analysis (fits + agreement + 2000-resample bootstrap)  ${fmt(full)}`);
console.log(`  ${full.median < GOAL_S ? 'OK: under' : 'SLOW: over'} the ${GOAL_S} s goal`);
console.log('');

// ─── 2. trials needed: soft vs hard ────────────────────────────────────────
const REPLICATES = 5;
const MAX_TRIALS = 200;
const GRID = [5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 125, 150, 200];
const SHOWN = [10, 20, 50, 100];

function recovery(set: readonly SimulatedScenario[], trials: number, soft: boolean): number {
  const x: number[] = [];
  const y: number[] = [];
  for (const s of set) {
    x.push(...learnedWeights(s.attributes, s.decisions.slice(0, trials), { soft }).weights);
    y.push(...s.target);
  }
  return pearson(x, y);
}

for (const beta of [10, 4]) {
  const reps = Array.from({ length: REPLICATES }, (_, i) =>
    simulateAgents({ scenarios: 100, trials: MAX_TRIALS, inverseTemperature: beta, seed: `bench-trials-${i}` }),
  );
  const medianR = (trials: number, soft: boolean) => median(reps.map((set) => recovery(set, trials, soft)));
  const curve = { hard: new Map<number, number>(), soft: new Map<number, number>() };
  for (const t of GRID) {
    curve.hard.set(t, medianR(t, false));
    curve.soft.set(t, medianR(t, true));
  }
  const needed = (c: Map<number, number>) => GRID.find((t) => c.get(t)! >= 0.95);
  console.log(
    `Recovery of simulated agents, β = ${beta} in P(A) = σ(β Σ (w_i/100) d_i): r(learned, true), 100 scenarios, median of ${REPLICATES} replicates`,
  );
  console.log(`  trials/scenario  ${SHOWN.map((t) => String(t).padStart(6)).join('')}   trials to reach r ≥ .95`);
  for (const kind of ['hard', 'soft'] as const) {
    const n = needed(curve[kind]);
    console.log(
      `  ${(kind === 'hard' ? 'hard (0/1 choice)' : 'soft (P(A))').padEnd(16)} ${SHOWN.map((t) => curve[kind].get(t)!.toFixed(3).padStart(6)).join('')}   ${n ?? `> ${MAX_TRIALS}`}`,
    );
  }
  const nh = needed(curve.hard);
  const ns = needed(curve.soft);
  if (nh && ns) console.log(`  soft needs ${(nh / ns).toFixed(1)}× fewer trials (grid ${GRID.join(', ')})`);
  console.log('');
}
