/** For the CLI's kill-and-resume tests: SIGKILL a running `cli run` once enough results are on disk. */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Lines in a results.jsonl (0 when it does not exist yet). */
export const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);

/** Kill `child` hard (no chance to clean up) once `file` holds at least `n` results; resolves when it has exited. */
export async function killAfterResults(child: ChildProcess, file: string, n: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (lines(file) >= n) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', () => (clearInterval(timer), reject(new Error('the run ended before it could be killed'))));
  });
  await new Promise((r) => child.once('exit', r));
}
