/**
 * No import circle in packages/recursion/src (issue 29): no file imports, directly or through others, a file that
 * imports it. Type-only imports count (a circle of types is still a circle to read).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../src/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
/** file -> the local files it imports or re-exports from. */
const graph = new Map(
  files.map((f) => {
    const text = readFileSync(new URL(f, dir), 'utf8');
    const deps = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '\.\/([\w-]+)\.js';/gms)].map((m) => `${m[1]}.ts`);
    return [f, [...new Set(deps)]];
  }),
);

/** Every circle, as the path of files that closes it (depth-first search, each circle reported once per start). */
function circles(): string[][] {
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
  for (const f of files) visit(f);
  return found;
}

describe('imports of packages/recursion/src', () => {
  it('reads the local imports of every file', () => {
    expect(graph.get('index.ts')).toEqual(expect.arrayContaining(['rungs.ts', 'model.ts', 'forward.ts', 'types.ts']));
    expect(graph.get('forward.ts')).toEqual(expect.arrayContaining(['halting.ts', 'types.ts']));
  });

  it('has no circle', () => {
    expect(circles().map((c) => c.join(' -> '))).toEqual([]);
  });
});
