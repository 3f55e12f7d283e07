/**
 * src/lib keeps one-way imports: no module imports one that (through others)
 * imports it back. The graph is built with TypeScript's own parser and
 * resolver under tsconfig.lib.json, type-only imports included — a circle of
 * types is still a circle for the reader.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(root, 'src/lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Each src/lib module → the src/lib modules it imports (paths relative to src/lib). */
export function importGraph(): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.lib.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!config) throw new Error('tsconfig.lib.json could not be read');
  const graph = new Map<string, string[]>();
  for (const file of sources(lib)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = importedFiles.flatMap(({ fileName }) => {
      const target = ts.resolveModuleName(fileName, file, config.options, ts.sys).resolvedModule?.resolvedFileName;
      return target && target.startsWith(lib + '/') && !target.endsWith('.d.ts') ? [relative(lib, target)] : [];
    });
    graph.set(relative(lib, file), [...new Set(deps)]);
  }
  return graph;
}

/** The modules tangled in circles: strongly connected components (Tarjan) that hold a circle. */
export function tangles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(c);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((c) => c.sort());
}

/** One concrete circle per tangle, written a → b → … → a: breadth-first from its first module back to it. */
export function importCycles(graph: Map<string, string[]>): string[][] {
  return tangles(graph).map((c) => {
    const inC = new Set(c);
    const start = c[0];
    const prev = new Map<string, string>();
    const queue = [start];
    while (queue.length) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!inC.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let u: string | undefined = v; u !== start && u !== undefined; u = prev.get(u)) path.splice(1, 0, u);
          return [...path, start];
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [...c, c[0]];
  });
}

describe('src/lib import graph', () => {
  const graph = importGraph();

  it('sees the modules and their imports', () => {
    // Guards the check itself: a resolver that found nothing would pass vacuously.
    expect(graph.size).toBeGreaterThan(40);
    expect([...graph.values()].flat().length).toBeGreaterThan(graph.size);
  });

  it('has no import circle', () => {
    const found = tangles(graph);
    const cycles = importCycles(graph).map((c, i) => `${c.join(' → ')}${found[i].length > 2 ? ` (tangled: ${found[i].join(', ')})` : ''}`);
    expect(cycles, `import circles in src/lib:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('finds a circle when there is one', () => {
    const toy = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']], ['e.ts', ['e.ts']]]);
    expect(importCycles(toy)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts'], ['e.ts', 'e.ts']]);
  });
});
