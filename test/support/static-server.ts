/**
 * A tiny static file server for browser tests: serves folders under URL
 * prefixes with the cross-origin isolation headers WASM threads need, and
 * records every request so tests can assert nothing else was asked for.
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.svg': 'image/svg+xml', '.png': 'image/png', '.webmanifest': 'application/manifest+json',
};

export interface StaticServer {
  url: string;
  requests: string[];
  /** Serve a JSON value at a path (overrides files). */
  setJson(path: string, value: unknown): void;
  close(): Promise<void>;
}

/** mounts: URL prefix ("/", "/models/") → folder. Longest prefix wins. */
export async function serveStatic(mounts: Record<string, string>, fallback = 'index.html'): Promise<StaticServer> {
  const requests: string[] = [];
  const json = new Map<string, string>();
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    requests.push(path);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (json.has(path)) {
      res.setHeader('Content-Type', 'application/json');
      return res.end(json.get(path));
    }
    const prefix = prefixes.find((p) => path.startsWith(p));
    if (!prefix) return void res.writeHead(404).end();
    const rel = normalize(path.slice(prefix.length)).replace(/^(\.\.[/\\])+/, '');
    let file = join(mounts[prefix], rel);
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
      // As static servers do (the lab's probe of a served folder reads build sizes from HEAD).
      if (req.method === 'HEAD') return void res.setHeader('Content-Length', (await stat(file)).size).end();
      const body = await readFile(file);
      res.setHeader('Content-Length', body.length);
      res.end(body);
    } catch {
      if (prefix === '/' && !extname(path)) {
        res.setHeader('Content-Type', 'text/html');
        return res.end(await readFile(join(mounts['/'], fallback)));
      }
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setJson: (p, v) => void json.set(p, JSON.stringify(v)),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
