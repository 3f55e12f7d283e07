/** Shared by the e2e tests: the production build of the lab, and step timings. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { build } from 'vite';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** Build the app as users get it into `outDir` (vitest sets NODE_ENV=test, which would make a development build). */
export async function buildApp(outDir: string): Promise<void> {
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root, configFile: join(root, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = env;
  }
}

/** Records how long each named step took, for the test's closing log. */
export function stepTimer() {
  const timings: Record<string, number> = {};
  async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = Math.round(performance.now() - t0);
    }
  }
  return { timings, timed };
}
