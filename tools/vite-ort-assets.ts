/**
 * Serve onnxruntime-web's WASM runtime from our own origin under /ort/.
 * transformers.js would otherwise fetch it from a CDN: the lab must work
 * offline and make no request the user did not start.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';

/** The build transformers.js picks by default (asyncify, for WASM and WebGPU alike). */
export const ORT_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'] as const;
export const ORT_BASE = 'ort/';

function ortDist(): string {
  const require = createRequire(import.meta.url);
  // The package exports no package.json; its main entry lives in dist/ beside the WASM files.
  return dirname(require.resolve('onnxruntime-web'));
}

export function ortAssets(): Plugin {
  const dir = ortDist();
  const type = (f: string) => (f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
  return {
    name: 'ort-assets',
    configureServer(server) {
      server.middlewares.use(`/${ORT_BASE}`, (req, res, next) => {
        const file = ORT_FILES.find((f) => req.url?.split('?')[0] === `/${f}`);
        if (!file) return next();
        res.setHeader('Content-Type', type(file));
        res.end(readFileSync(join(dir, file)));
      });
    },
    generateBundle() {
      for (const f of ORT_FILES) this.emitFile({ type: 'asset', fileName: `${ORT_BASE}${f}`, source: readFileSync(join(dir, f)) });
    },
  };
}
