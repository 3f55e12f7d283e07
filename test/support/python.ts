/**
 * The project venv (.venv, made by tools/python-env.mjs before the tests run)
 * for tests that check the lab against the real Python tools. Where it is
 * missing they skip with the reason printed, unless REQUIRE_PYTHON=1 (CI).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const VENV_PYTHON = resolve(ROOT, '.venv/bin/python');
export const PY_SCRIPTS = resolve(ROOT, 'python');

function skipReason(): string | null {
  if (existsSync(VENV_PYTHON) && existsSync(resolve(ROOT, '.venv/.requirements.sha256'))) return null;
  const noted = resolve(ROOT, '.venv-unavailable');
  const why = existsSync(noted) ? readFileSync(noted, 'utf8').trim() : 'the project venv is missing: run `npm run pyenv` (npm test does)';
  return why;
}

/** Null when the venv is usable; else why the Python-backed tests skip. Throws under REQUIRE_PYTHON=1. */
export const pythonSkip: string | null = (() => {
  const why = skipReason();
  if (!why) return null;
  if (process.env.REQUIRE_PYTHON === '1') throw new Error(`${why}. REQUIRE_PYTHON=1, so this is a failure.`);
  console.warn(`SKIP (Python-backed test): ${why}`);
  return why;
})();

/** Run a script from python/ with the venv's Python; throws with its stderr when it fails. */
export function runPython(script: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): string {
  const r = spawnSync(VENV_PYTHON, [resolve(PY_SCRIPTS, script), ...args], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
    // Never reach for a model hub: everything is made locally.
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', ...opts.env },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python ${script} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** The same, without blocking the event loop (for scripts that run beside a server the test drives). */
export function runPythonAsync(script: string, args: string[], opts: { env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(VENV_PYTHON, [resolve(PY_SCRIPTS, script), ...args], {
      env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', ...opts.env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`python ${script} failed (${code}):\n${err}`))));
  });
}
