#!/usr/bin/env node
/**
 * Creates or reuses the project's Python environment (.venv, ignored by git)
 * from python/requirements.txt. `npm test` runs this first; the Python-backed
 * tests use .venv/bin/python and skip, saying why, where it could not be made.
 * With REQUIRE_PYTHON=1 (CI) a missing environment is a failure.
 *
 * pip runs only when the requirements or llama.cpp's build flags change (a
 * sha-256 stamp inside .venv). llama.cpp (llama-cpp-python) is compiled once
 * per machine into a wheel kept under ~/.cache/introspection-lab/wheels/,
 * keyed by its version and flags, and reused by fresh clones.
 *
 * Its build is portable, not -march=native: on x86-64, AVX2 without AVX-512
 * or AMX. A native build on a CPU with AMX (Sapphire Rapids) crashed in
 * llama_decode on the real model's Q4_1 GGUF (segmentation fault for any
 * prompt longer than one token, in a VM; measured), while the AVX2 build runs
 * it. CMAKE_ARGS from the environment overrides these flags.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { homedir } from 'node:os';
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
const LLAMA = /^llama[-_]cpp[-_]python(\[[^\]]*\])?==(\S+)\s*$/;
const llamaLine = requirements.split('\n').find((l) => LLAMA.test(l.trim()))?.trim();
const llamaFlags =
  process.env.CMAKE_ARGS ?? (process.arch === 'x64' ? '-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON' : '');
const stamp = createHash('sha256').update(requirements).update(`\nCMAKE_ARGS=${llamaFlags}`).digest('hex');
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
// Everything but llama.cpp from the index; llama.cpp from the machine's wheel of these flags.
const rest = join(venv, '.requirements-without-llama.txt');
writeFileSync(rest, requirements.split('\n').filter((l) => !LLAMA.test(l.trim())).join('\n'));
if (!run(python, ['-m', 'pip', 'install', '-q', '-r', rest], env)) give_up('pip install -r python/requirements.txt failed (see above)');
if (llamaLine) {
  const [, extras = '', version] = LLAMA.exec(llamaLine);
  const key = createHash('sha256').update(`${version}\n${llamaFlags}`).digest('hex').slice(0, 16);
  const wheels = join(homedir(), '.cache', 'introspection-lab', 'wheels', `llama-cpp-python-${version}-${key}`);
  const wheelOf = () => (existsSync(wheels) ? readdirSync(wheels).find((f) => f.endsWith('.whl')) : undefined);
  if (!wheelOf()) {
    console.log(`Compiling llama.cpp ${version} (${llamaFlags || 'native'}) once for this machine…`);
    if (!run(python, ['-m', 'pip', 'wheel', '-q', '--no-cache-dir', '--no-deps', '-w', wheels, `llama_cpp_python==${version}`], { ...env, CMAKE_ARGS: llamaFlags }))
      give_up('compiling llama.cpp (llama-cpp-python) failed (see above)');
  }
  const wheel = join(wheels, wheelOf());
  // --force-reinstall: a venv that has another build of the same version gets this one.
  if (!run(python, ['-m', 'pip', 'install', '-q', '--force-reinstall', '--no-deps', wheel], env) || !run(python, ['-m', 'pip', 'install', '-q', `${wheel}${extras}`], env))
    give_up('installing llama.cpp (llama-cpp-python) failed (see above)');
}
writeFileSync(stampFile, stamp + '\n');
rmSync(join(root, '.venv-unavailable'), { force: true });
console.log('Python environment ready.');
