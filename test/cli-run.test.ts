/**
 * `cli run` on the fixture model: killed mid-run (SIGKILL, no chance to clean
 * up) and restarted, it finishes with exactly the planned trial ids, and
 * `cli analyze` reads the CSVs it wrote.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureModel } from './fixture/model';
import type { RunRecord } from '../src/lib/runs';

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

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);

describe('cli run', () => {
  it('resumes a killed run with exactly the planned trials, and its CSVs analyse', async () => {
    const out = join(tmp, 'run');
    const args = [...tsxArgs, 'cli/main.ts', 'run', '--preset', 'classroom', '--scenarios', '4', '--decisions', '40', '--reports', '4', '--model', model, '--control', model, '--out', out];
    const child = spawn(node, args, { cwd: root, stdio: 'ignore' });
    // Kill it hard once some results are on disk but well before the end.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (lines(join(out, 'results.jsonl')) >= 25) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => (clearInterval(timer), reject(new Error('the run ended before it could be killed'))));
    });
    await new Promise((r) => child.once('exit', r));
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
