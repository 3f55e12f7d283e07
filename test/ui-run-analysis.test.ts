/**
 * Run → analysis glue (src/app/run-analysis.ts) and run exports
 * (src/app/exports.ts) on runs of the simulated agent: a self-reporter that
 * knows its weights scores high, a blind control scores near 0, and the
 * exported CSVs give `cli analyze` the same r as the page.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlan } from '../src/lib/experiment/plan';
import { presetSpec } from '../src/lib/experiment/presets';
import { runExperiment, type EngineProvider } from '../src/lib/experiment/runner';
import { RUN_FORMAT, RUN_VERSION, type RunMeta, type RunRecord } from '../src/lib/experiment/runs';
import { analysisToJson, analyzeExperiment } from '../src/lib/analysis';
import { analyzeRun, analysisInput, decisionsOf, reportsOf, scatterPoints, scenarioTrials } from '../src/app/run-analysis';
import { exportPrefix, parseRunJson, runCsvFiles, runJson, RunImportError } from '../src/app/exports';
import { analyzeFiles } from '../cli/analyze';
import { privilegedAccessOf } from '../src/app/privileged-access';
import { barGroups, heatmapCells, observerCharts, verdictRows } from '../src/app/privileged-view';
import { SimulatedAgent } from './support/simulated-agent';
import { MemoryStore } from './support/memory-store';
import { toyScenarios } from './support/toy-scenarios';

const scenarios = toyScenarios(12);

async function simulatedRun(opts: { control?: boolean; failEvery?: number } = {}): Promise<RunRecord> {
  const base = presetSpec('classroom', { model: { id: 'sim-self' }, control: opts.control === false ? undefined : { id: 'sim-blind' }, seed: 'ui-analysis' });
  const spec = { ...base, decisionsPerScenario: 40, reportsPerScenario: 4, scenarios: { source: 'builtin' as const, count: scenarios.length } };
  const plan = buildPlan(spec, scenarios);
  const weights = Object.fromEntries(plan.scenarios.map((p) => [p.scenario.id, p.target]));
  const agents = {
    self: new SimulatedAgent({ scenarios, weights, knows: 'self', seed: 'self' }),
    control: new SimulatedAgent({ scenarios, weights, knows: 'blind', seed: 'blind' }),
  };
  const provider: EngineProvider = {
    async acquire(model) {
      const engine = agents[model.key as 'self' | 'control'];
      return { engine, caps: await engine.load() };
    },
    async releaseAll() {},
  };
  const store = new MemoryStore();
  const now = new Date().toISOString();
  const meta: RunMeta = { format: RUN_FORMAT, version: RUN_VERSION, id: 'run-sim', createdAt: now, updatedAt: now, status: 'running', spec, plan, engines: {} };
  const final = await runExperiment({ meta, store, provider });
  return { ...final, results: await store.loadResults('run-sim') };
}

let record: RunRecord;
beforeAll(async () => {
  record = await simulatedRun();
});

describe('run → analysis', () => {
  it('groups decisions and reports by condition, in plan order', () => {
    const d = decisionsOf(record, 'decide');
    expect(d).toHaveLength(12 * 40 * 2); // counterbalanced
    expect(d[0]).toMatchObject({ scenario: scenarios[0].id });
    expect(d.every((x) => x.pA !== undefined && (x.choice === 'A' || x.choice === 'B'))).toBe(true);
    const { rows, tally } = reportsOf(record, 'self-report');
    expect(rows).toHaveLength(12 * 4);
    expect(tally).toMatchObject({ total: 48, valid: 48, invalid: 0, invalidRate: 0 });
  });

  it('self-reporter r is high, the blind control near 0, and self beats the control (privileged access)', () => {
    const a = analyzeRun(record);
    expect(a.complete).toBe(true);
    const self = a.reports.find((r) => r.key === 'self-report')!;
    const control = a.reports.find((r) => r.key === 'control-report')!;
    expect(self.isSelf).toBe(true);
    expect(control.isSelf).toBe(false);
    expect(self.vsLearned!.r).toBeGreaterThan(0.7);
    expect(self.vsLearned!.n_points).toBe(60);
    expect(self.vsLearned!.n_scenarios).toBe(12);
    expect(self.vsLearned!.ci[0]).toBeLessThan(self.vsLearned!.r);
    expect(self.vsLearned!.ci[1]).toBeGreaterThan(self.vsLearned!.r);
    expect(Math.abs(control.vsLearned!.r)).toBeLessThan(0.35);
    expect(a.headline).toMatchObject({ condition: 'self-report', r: self.vsLearned!.r });
    expect(a.privileged).toHaveLength(1);
    expect(a.privileged[0]).toMatchObject({ self: 'self-report', control: 'control-report', verdict: 'self-better' });
    expect(a.privileged[0].diff.diff).toBeCloseTo(self.vsLearned!.r - control.vsLearned!.r, 9);
    // The agent decides by the target weights, so learned ≈ target.
    expect(a.decisions[0].vsTarget!.r).toBeGreaterThan(0.8);
  });

  it('scores each report condition on its decision condition\'s one fit exactly as a fresh analysis of both would, also mid-run', () => {
    for (const r of [record, { ...record, results: record.results.slice(0, 200) }]) {
      const a = analyzeRun(r, { resamples: 200 });
      for (const rep of a.reports) expect(rep.result).toEqual(analyzeExperiment(analysisInput(r, rep.about, rep.key, { resamples: 200 })));
    }
  });

  it('gives one scatter point per (scenario, attribute), against learned or target weights', () => {
    const a = analyzeRun(record);
    const pts = scatterPoints(a, 'self-report', 'learned');
    expect(pts).toHaveLength(60);
    const s0 = a.scenarios[0];
    expect(pts[0]).toEqual({ scenario: s0.id, attribute: s0.attributes[0], x: s0.learned.decide![0], y: s0.reported['self-report']![0], condition: 'self-report' });
    const vsT = scatterPoints(a, 'self-report', 'target');
    expect(vsT[0].x).toBe(s0.target[0]);
    expect(scatterPoints(a, 'nope', 'learned')).toEqual([]);
  });

  it('drills down into a scenario: its trials with the prompts the model saw', () => {
    const trials = scenarioTrials(record, scenarios[1].id);
    expect(trials).toHaveLength(40 * 2 + 4 + 4);
    expect(trials.every((t) => t.result !== null)).toBe(true);
    expect(trials[0].messages.at(-1)!.content).toContain(scenarios[1].question);
    expect(scenarioTrials(record, scenarios[1].id, 'control-report')).toHaveLength(4);
  });

  it('analyses a run in progress without failing, and counts invalid reports', async () => {
    const partial: RunRecord = { ...record, results: record.results.slice(0, 30) };
    const a = analyzeRun(partial);
    expect(a.complete).toBe(false);
    expect(a.done).toBe(30);
    expect(a.reports[0].vsLearned).toBeNull();
    const none = analyzeRun({ ...record, results: [] });
    expect(none.decisions[0].error).toMatch(/No decision trials/);
    expect(none.headline).toBeNull();

    const broken: RunRecord = {
      ...record,
      results: record.results.map((r, i) =>
        r.kind === 'report' && r.trialId.startsWith('self-report') && i % 2 === 0
          ? { ...r, weights: null, text: 'I weigh them all equally.', invalid: { reason: 'no_json', detail: 'no JSON object' } }
          : r,
      ),
    };
    const b = analyzeRun(broken).reports.find((r) => r.key === 'self-report')!;
    expect(b.tally.invalid).toBeGreaterThan(0);
    expect(b.tally.invalidRate).toBeCloseTo(b.tally.invalid / 48, 9);
    expect(b.tally.reasons.no_json).toBe(b.tally.invalid);
  });
});

describe('run exports', () => {
  let dir = '';
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'ui-export-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the paper CSVs that cli analyze reads back to the same r', async () => {
    const single = await simulatedRun({ control: false });
    const files = runCsvFiles(single);
    expect(files.map((f) => f.name)).toEqual(['scenarios.csv', 'selections.csv', 'weight_reports.csv', 'target_weights.csv']);
    for (const f of files) writeFileSync(join(dir, f.name), f.text);
    expect(files[1].text.split('\n')[0]).toMatch(/,p_A,label_mass,index,swapped$/);
    const cli = analyzeFiles({
      scenarios: join(dir, 'scenarios.csv'),
      selections: join(dir, 'selections.csv'),
      reports: [join(dir, 'weight_reports.csv')],
      targets: join(dir, 'target_weights.csv'),
    });
    const page = analyzeRun(single);
    expect(cli.reportedVsLearned!.r).toBe(page.headline!.r);
    expect(cli.reportedVsLearned!.ci).toEqual(page.headline!.ci);
    expect(cli.learnedVsTarget!.r).toBe(page.decisions[0].vsTarget!.r);
    expect(analysisToJson(cli)).toEqual(analysisToJson(analyzeRunInput(single)));
  });

  it('with a control, writes one reports file per condition, and weight_reports.csv is the self-report alone', () => {
    const files = Object.fromEntries(runCsvFiles(record).map((f) => [f.name, f.text]));
    expect(Object.keys(files)).toContain('weight_reports_self-report.csv');
    expect(Object.keys(files)).toContain('weight_reports_control-report.csv');
    // Pooling the control's reports into weight_reports.csv would mix two models' reports.
    expect(files['weight_reports.csv']).toBe(files['weight_reports_self-report.csv']);
    expect(files['weight_reports.csv']).not.toContain('control-report');
    expect(exportPrefix(record)).toMatch(/^classroom-demo-sim$/);
  });

  it('Classroom with a control: the control only reports, so it is a row of the matrix and never a target (no n/a column, bars, curves or verdict)', () => {
    for (const rec of [record, { ...record, results: record.results.slice(0, 5) }, { ...record, results: [] }]) {
      const pa = privilegedAccessOf(rec)!;
      expect(pa.models.map((m) => [m.key, m.decides])).toEqual([['self', true], ['control', false]]);
      const heat = heatmapCells(pa);
      expect(heat.keys).toEqual(['self', 'control']);
      expect(heat.targets).toEqual(['self']);
      expect(heat.cells.map((c) => `${c.reporter}>${c.target}`)).toEqual(['self>self', 'control>self']);
      expect(barGroups(pa).map((g) => g.target)).toEqual(['self']);
      expect(observerCharts(pa).map((c) => c.target)).toEqual(['self']);
      expect(verdictRows(pa).map((v) => v.target)).toEqual(['self']);
    }
    const full = heatmapCells(privilegedAccessOf(record)!);
    expect(full.cells.every((c) => Number.isFinite(c.r))).toBe(true); // finished: no n/a cell left
  });

  it('round-trips run.json and refuses broken files with a reason', () => {
    const back = parseRunJson(runJson(record).text);
    expect(back).toEqual(record);
    expect(() => parseRunJson('{')).toThrow(RunImportError);
    expect(() => parseRunJson(JSON.stringify({ ...record, format: 'x' }))).toThrow(/not a run file/);
    expect(() => parseRunJson(JSON.stringify({ ...record, results: [...record.results, record.results[0]] }))).toThrow(/twice/);
    expect(() => parseRunJson(JSON.stringify({ ...record, results: [{ ...record.results[0], trialId: 'x/y/000' }] }))).toThrow(/not a trial/);
  });
});

/** What the page feeds the analysis core for the self-report condition. */
function analyzeRunInput(r: RunRecord) {
  return analyzeExperiment(analysisInput(r, 'decide', 'self-report'));
}
