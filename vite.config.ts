import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { ortAssets } from './tools/vite-ort-assets';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Plugin } from 'vite';

// WASM threads need SharedArrayBuffer, which needs cross-origin isolation.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * The app shell's file list for the service worker (static/sw.js): every file
 * of the build (also the ORT runtime under ort/) except source maps and the
 * worker itself, with a version that changes when any file does.
 */
function precacheManifest(): Plugin {
  let outDir = 'dist';
  return {
    name: 'precache-manifest',
    apply: 'build',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    closeBundle: {
      order: 'post',
      handler() {
        const files: string[] = [];
        const walk = (dir: string) => {
          for (const e of readdirSync(dir, { withFileTypes: true })) {
            const p = join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else files.push(relative(outDir, p).split('\\').join('/'));
          }
        };
        walk(outDir);
        // assets/ort-wasm-*.wasm is the bundler's copy of the runtime, never loaded: the worker points ORT at ort/.
        const skip = (f: string) => f.endsWith('.map') || f === 'sw.js' || f === 'precache-manifest.json' || f.startsWith('models/') || /^assets\/ort-wasm.*\.wasm$/.test(f);
        const shell = files.filter((f) => !skip(f)).sort();
        const hash = createHash('sha256');
        for (const f of shell) hash.update(f).update(readFileSync(join(outDir, f)));
        const manifest = { version: hash.digest('hex').slice(0, 16), files: ['./', ...shell.filter((f) => f !== 'index.html')] };
        writeFileSync(join(outDir, 'precache-manifest.json'), JSON.stringify(manifest, null, 1));
      },
    },
  };
}

export default defineConfig({
  plugins: [svelte(), ortAssets(), precacheManifest()],
  publicDir: 'static',
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  // The workers import these only when a model is first downloaded or run. Unbundled, `npm run dev`
  // would discover them then, re-optimise and reload the page: the first Download was lost (issue 19, item 1).
  optimizeDeps: {
    entries: ['index.html', 'workers/**/*.ts'],
    include: ['@huggingface/transformers', '@mlc-ai/web-llm', 'comlink', 'd3', 'idb', 'papaparse', '@stdlib/math-base-special-gammainc'],
  },
  build: { target: 'es2022' },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
