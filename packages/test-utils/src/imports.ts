import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The local import graph of a package's sources: every .ts file under `srcDir` (subfolders included) -> the local
 * files it imports or re-exports from, as paths relative to `srcDir`. Type-only imports count (a circle of types is
 * still a circle to read).
 */
export function importGraph(srcDir: URL): Map<string, string[]> {
  const root = fileURLToPath(srcDir);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.ts')) files.push(relative(root, p));
    }
  };
  walk(root);
  return new Map(
    files.map((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      const deps = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '(\.{1,2}\/[\w/.-]+)\.js';/gms)].map((m) =>
        normalize(join(dirname(f), `${m[1]}.ts`)),
      );
      return [f, [...new Set(deps)]];
    }),
  );
}

/** Every import circle of a graph, as the path of files that closes it (depth-first; each circle once per start). */
export function importCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (f: string) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      found.push([...path.slice(path.indexOf(f)), f]);
      return;
    }
    state.set(f, 'open');
    path.push(f);
    for (const d of graph.get(f) ?? []) visit(d);
    path.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f);
  return found;
}
