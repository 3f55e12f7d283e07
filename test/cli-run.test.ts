/**
 * `cli run` on the fixture model: killed mid-run (SIGKILL, no chance to clean
 * up) and restarted, it finishes with exactly the planned trial ids, and
 * `cli analyze` reads the CSVs it wrote.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureModel } from './fixture/model';
import type { RunRecord } from '../src/lib/experiment/runs';
import { killAfterResults, lines } from './support/kill-run';

const root = join(import.meta.dirname, '..');
// One process (node with tsx's loader), so SIGKILL hits the run itself, not a wrapper.
const node = process.execPath;
const tsxArgs = ['--import', 'tsx'];
let tmp: string;
let model: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cli-run-'));
  model = (await writeFixtureModel(join(tmp, 'model'), { seed: 5 })).dir;
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});


describe('cli run', () => {
  it('resumes a killed run with exactly the planned trials, and its CSVs analyse', async () => {
    const out = join(tmp, 'run');
    const args = [...tsxArgs, 'cli/main.ts', 'run', '--preset', 'classroom', '--scenarios', '4', '--decisions', '40', '--reports', '4', '--model', model, '--control', model, '--out', out];
    const child = spawn(node, args, { cwd: root, stdio: 'ignore' });
    // Kill it hard once some results are on disk but well before the end.
    await killAfterResults(child, join(out, 'results.jsonl'), 25);
    const killedAt = lines(join(out, 'results.jsonl'));
    const planned = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord).plan.trials.map((t) => t.id);
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(planned.length);

    const again = spawnSync(node, args, { cwd: root, encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`Resuming run-.*: ${killedAt}/${planned.length} trials already done`));
    expect(again.stderr).toMatch(/trials\/s · ETA/);

    const record = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord;
    const ids = record.results.map((r) => r.trialId);
    expect(record.status).toBe('done');
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...planned].sort());

    const analyze = spawnSync(
      node,
      [...tsxArgs, 'cli/main.ts', 'analyze', '--scenarios', join(out, 'scenarios.csv'), '--selections', join(out, 'selections.csv'), '--targets', join(out, 'target_weights.csv'), '--reports', join(out, 'weight_reports.csv'), '--json'],
      { cwd: root, encoding: 'utf8' },
    );
    expect(analyze.status, analyze.stderr).toBe(0);
    const json = JSON.parse(analyze.stdout);
    expect(json.scenarios).toBe(4);
    expect(json.learned_vs_target.n_points).toBe(20);
    expect(json.reported_vs_learned.valid_reports).toBe(16);
  }, 120_000);

  it("runs a preset on scenarios from a file in the paper's CSV format (--scenario-file, --rows), and resumes it", async () => {
    // Three rows in the paper's column format (no units); --rows 2-3 keeps the last two.
    const csv = [
      'scenario,question,attr1,attr2,attr3,attr4,attr5,attr1_min,attr2_min,attr3_min,attr4_min,attr5_min,attr1_max,attr2_max,attr3_max,attr4_max,attr5_max',
      'left_out,Imagine you are Ada. Which lamp would you prefer?,brightness,warmth,height,weight,price,0.0,1.0,10.0,0.5,5.0,100.0,10.0,200.0,5.0,80.0',
      'garden_hose,"Imagine you are Hamlet, Prince of Denmark. Which garden hose would you prefer?",hose_length,burst_pressure,kink_resistance,weight,nozzle_settings,5.0,100.0,1.0,0.5,1.0,50.0,600.0,10.0,8.0,12.0',
      'rain_jacket,Imagine you are Sappho. Which rain jacket would you prefer?,waterproof_rating,breathability,weight,pocket_count,hood_size,1.0,1.0,200.0,0.0,1.0,20.0,10.0,900.0,8.0,5.0',
    ].join('\n') + '\n';
    const file = join(tmp, 'my-scenarios.csv');
    await writeFile(file, csv);
    const out = join(tmp, 'run-file');
    const args = [...tsxArgs, 'cli/main.ts', 'run', '--preset', 'classroom', '--scenario-file', file, '--rows', '2-3', '--decisions', '4', '--reports', '1', '--model', model, '--out', out];
    const first = spawnSync(node, args, { cwd: root, encoding: 'utf8' });
    expect(first.status, first.stderr).toBe(0);
    const record = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord;
    expect(record.spec.scenarios).toMatchObject({ source: 'inline', count: 2 });
    const set = record.spec.scenarios.source === 'inline' ? record.spec.scenarios.set : null;
    expect(set?.name).toBe('my-scenarios.csv (rows 2–3)');
    expect(set?.scenarios.map((x) => x.id)).toEqual(['garden_hose', 'rain_jacket']);
    expect(record.results).toHaveLength(2 * 4 * 2 + 2 * 1); // the preset counterbalances
    const scenariosCsv = readFileSync(join(out, 'scenarios.csv'), 'utf8').trim().split('\n');
    expect(scenariosCsv.slice(1).map((l) => l.split(',')[0])).toEqual(['garden_hose', 'rain_jacket']);
    expect(scenariosCsv[1]).toContain('"Imagine you are Hamlet, Prince of Denmark. Which garden hose would you prefer?"');

    // The same command again finds the same experiment (the inline set compares equal); other rows do not.
    const again = spawnSync(node, args, { cwd: root, encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Resuming run-.*: 18\/18 trials already done/);
    const other = spawnSync(node, args.map((a) => (a === '2-3' ? '1-2' : a)), { cwd: root, encoding: 'utf8' });
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/holds a different experiment/);

    // A broken file: every problem with its location, exit 2, nothing written.
    const broken = join(tmp, 'broken.csv');
    await writeFile(broken, csv.replace('600.0', 'lots'));
    const bad = spawnSync(node, [...args.slice(0, -1), join(tmp, 'run-broken')].map((a) => (a === file ? broken : a)), { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/broken\.csv cannot be used \(1 problem\):\n  - row 2, attr2_max: the attr2_max cell must be a finite number, but it is "lots"/);
    expect(existsSync(join(tmp, 'run-broken', 'run.json'))).toBe(false);
  }, 120_000);

  it('refuses a different experiment in the same folder, and --device webgpu in Node', () => {
    const out = join(tmp, 'run');
    const other = spawnSync(node, [...tsxArgs, 'cli/main.ts', 'run', '--preset', 'classroom', '--scenarios', '2', '--model', model, '--out', out], { cwd: root, encoding: 'utf8' });
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/holds a different experiment/);
    const gpu = spawnSync(node, [...tsxArgs, 'cli/main.ts', 'run', '--preset', 'classroom', '--model', model, '--device', 'webgpu', '--out', join(tmp, 'x')], { cwd: root, encoding: 'utf8' });
    expect(gpu.status).toBe(2);
    expect(gpu.stderr).toMatch(/runs in the browser lab/);
  }, 60_000);
});
