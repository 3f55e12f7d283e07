#!/usr/bin/env node
/**
 * Creates or reuses the project's Python environment (.venv, ignored by git)
 * from python/requirements.txt. `npm test` runs this first; the Python-backed
 * tests use .venv/bin/python and skip, saying why, where it could not be made.
 * With REQUIRE_PYTHON=1 (CI) a missing environment is a failure.
 *
 * pip runs only when the requirements change (a sha-256
 * stamp inside .venv). pip's own wheel cache keeps compiled packages
 * (llama-cpp-python) between fresh clones on one machine.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');
const python = join(venv, 'bin', 'python');
const reqFile = join(root, 'python', 'requirements.txt');
const stampFile = join(venv, '.requirements.sha256');
const required = process.env.REQUIRE_PYTHON === '1';

function give_up(why) {
  const msg = `Python environment not available: ${why}`;
  // The tests read this file to print the reason when they skip.
  try {
    writeFileSync(join(root, '.venv-unavailable'), msg + '\n');
  } catch {}
  if (required) {
    console.error(`${msg}\nREQUIRE_PYTHON=1, so this is a failure.`);
    process.exit(1);
  }
  console.warn(`SKIP (Python-backed tests): ${msg}`);
  process.exit(0);
}

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

const requirements = readFileSync(reqFile, 'utf8');
const stamp = createHash('sha256').update(requirements).digest('hex');
if (existsSync(python) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) {
  rmSync(join(root, '.venv-unavailable'), { force: true });
  console.log(`Python environment up to date (${venv}).`);
  process.exit(0);
}

const base = process.env.PYTHON ?? 'python3';
const probe = spawnSync(base, ['-c', 'import sys, venv; print(sys.version_info[:2] >= (3, 10))'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) give_up(`${base} with the venv module was not found`);
if (probe.stdout.trim() !== 'True') give_up(`${base} is older than 3.10`);

if (!existsSync(python)) {
  console.log(`Creating the Python environment in ${venv} (first time: a few minutes)…`);
  rmSync(venv, { recursive: true, force: true });
  if (!run(base, ['-m', 'venv', venv])) give_up('python3 -m venv failed');
} else console.log(`Updating the Python environment in ${venv} to python/requirements.txt…`);
// Compiled packages (llama.cpp) build with both cores; PIP_NO_INPUT: CI has no terminal.
const env = { CMAKE_BUILD_PARALLEL_LEVEL: '2', PIP_NO_INPUT: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
if (!run(python, ['-m', 'pip', 'install', '-q', '-r', reqFile], env)) give_up('pip install -r python/requirements.txt failed (see above)');
writeFileSync(stampFile, stamp + '\n');
rmSync(join(root, '.venv-unavailable'), { force: true });
console.log('Python environment ready.');
