/**
 * llama.cpp's real OpenAI-compatible server (llama-cpp-python[server] from the
 * project venv) on 127.0.0.1, serving a tiny random Llama converted to GGUF
 * by python/make_tiny_gguf.py (vocabulary: the TS fixture's tokenizer). Tests
 * start it on a free port and must stop() it (afterAll); it is also killed
 * when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureModel } from '../fixture/model';
import { runPythonAsync, VENV_PYTHON } from './python';

export const SERVED_MODEL = 'tiny-llama';

export interface LlamaServer {
  baseUrl: string;
  model: string;
  gguf: string;
  stop(): Promise<void>;
}

/** A port the OS just handed out (free at the time of asking). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Make the GGUF once per folder: the fixture's tokenizer, a transformers model, the gguf writer. */
export async function makeTinyGguf(dir: string): Promise<string> {
  const fixture = await writeFixtureModel(join(dir, 'fixture'), { seed: 12 });
  const gguf = join(dir, 'tiny.gguf');
  await runPythonAsync('make_tiny_gguf.py', [fixture.dir, gguf]);
  return gguf;
}

export async function startLlamaServer(opts: { gguf?: string; timeoutMs?: number } = {}): Promise<LlamaServer> {
  const dir = await mkdtemp(join(tmpdir(), 'llama-server-'));
  const gguf = opts.gguf ?? (await makeTinyGguf(dir));
  const port = await freePort();
  const child: ChildProcess = spawn(
    VENV_PYTHON,
    ['-m', 'llama_cpp.server', '--model', gguf, '--model_alias', SERVED_MODEL, '--host', '127.0.0.1', '--port', String(port), '--n_ctx', '4096', '--verbose', 'False'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HF_HUB_OFFLINE: '1' } },
  );
  let log = '';
  child.stderr?.on('data', (d) => (log = (log + d).slice(-4000)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`llama.cpp server exited (${child.exitCode}):\n${log}`);
      const ok = await fetch(`${baseUrl}/models`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`llama.cpp server did not answer within ${opts.timeoutMs ?? 60_000} ms:\n${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { baseUrl, model: SERVED_MODEL, gguf, stop };
}
