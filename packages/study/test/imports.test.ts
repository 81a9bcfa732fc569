/** No import circle in packages/study/src (issue 29). */
import { describe, expect, it } from 'vitest';
import { importCircles, importGraph } from '@tarm/test-utils';

const graph = importGraph(new URL('../src/', import.meta.url));

describe('imports of packages/study/src', () => {
  it('reads the local imports of every file', () => {
    expect(graph.get('results.ts')).toEqual(expect.arrayContaining(['results-csv.ts', 'results-schema.ts']));
  });

  it('has no circle', () => {
    expect(importCircles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });
});
