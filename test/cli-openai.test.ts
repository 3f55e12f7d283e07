/**
 * `cli run --engine openai` against llama.cpp's real server (tiny random
 * Llama, GGUF): the classroom preset with a served control reporter at
 * --concurrency 4, killed with SIGKILL mid-run and resumed, ends with exactly
 * the planned trials, each once. Needs the project venv (llama-cpp-python).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../src/lib/experiment/runs';
import { killAfterResults, lines } from './support/kill-run';
import { startLlamaServer, type LlamaServer } from './support/llama-server';
import { pythonSkip } from './support/python';

const root = join(import.meta.dirname, '..');
const node = process.execPath;

describe.skipIf(pythonSkip)("cli run --engine openai on llama.cpp's real server", () => {
  let server: LlamaServer;
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cli-openai-'));
    server = await startLlamaServer();
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('completes the classroom preset at concurrency 4, surviving SIGKILL with exactly the planned trials', async () => {
    const out = join(tmp, 'run');
    const args = ['--import', 'tsx', 'cli/main.ts', 'run', '--preset', 'classroom', '--engine', 'openai', '--base-url', server.baseUrl, '--model', server.model, '--control', server.model, '--concurrency', '4', '--out', out];
    const child = spawn(node, args, { cwd: root, stdio: 'ignore' });
    await killAfterResults(child, join(out, 'results.jsonl'), 60);
    const killedAt = lines(join(out, 'results.jsonl'));
    const planned = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord).plan.trials.map((t) => t.id);
    expect(planned).toHaveLength(10 * 30 * 2 + 10 * 5 * 2); // the preset counterbalances: each decision pair also shown swapped
    expect(killedAt).toBeLessThan(planned.length);

    const again = spawnSync(node, args, { cwd: root, encoding: 'utf8', timeout: 600_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`Resuming run-.*: ${killedAt}/${planned.length} trials already done`));
    expect(again.stderr).toMatch(/Constrained reports: a GBNF grammar \(llama\.cpp\)/);

    const record = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord;
    const ids = record.results.map((r) => r.trialId);
    expect(record.status).toBe('done');
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...planned].sort());
    expect(record.spec.models[0]).toEqual({ key: 'self', id: server.model, engine: 'openai', baseUrl: server.baseUrl });
    expect(record.engines.self).toMatchObject({ engine: 'openai', device: 'server' });
    // Constrained reports under llama.cpp's grammar all parse.
    const reports = record.results.filter((r) => r.kind === 'report');
    expect(reports.length).toBe(100);
    expect(reports.every((r) => r.kind === 'report' && r.weights !== null)).toBe(true);
    console.log(`cli run --engine openai: killed at ${killedAt}/${planned.length}, resumed to ${ids.length} distinct trials`);
  }, 600_000);

  it('refuses --engine openai without --base-url, and a bad --concurrency', () => {
    const base = ['--import', 'tsx', 'cli/main.ts', 'run', '--preset', 'classroom', '--model', 'm', '--out', join(tmp, 'x')];
    const noUrl = spawnSync(node, [...base, '--engine', 'openai'], { cwd: root, encoding: 'utf8' });
    expect(noUrl.status).toBe(2);
    expect(noUrl.stderr).toMatch(/--engine openai and --base-url URL go together/);
    const badN = spawnSync(node, [...base, '--engine', 'openai', '--base-url', server.baseUrl, '--concurrency', '0'], { cwd: root, encoding: 'utf8' });
    expect(badN.status).toBe(2);
    expect(badN.stderr).toMatch(/--concurrency must be a whole number/);
  }, 60_000);
});
