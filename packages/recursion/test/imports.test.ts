/** No import circle in packages/recursion/src (issue 29): no file imports, directly or through others, a file that imports it. */
import { describe, expect, it } from 'vitest';
import { importCircles, importGraph } from '@tarm/test-utils';

const graph = importGraph(new URL('../src/', import.meta.url));

describe('imports of packages/recursion/src', () => {
  it('reads the local imports of every file', () => {
    expect(graph.get('index.ts')).toEqual(
      expect.arrayContaining(['rungs.ts', 'model.ts', 'accounting.ts', 'types.ts']),
    );
    expect(graph.get('forward.ts')).toEqual(expect.arrayContaining(['halting.ts', 'types.ts']));
  });

  it('has no circle', () => {
    expect(importCircles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });
});
