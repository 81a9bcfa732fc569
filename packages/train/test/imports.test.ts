/** No import circle in packages/train/src (issue 29), node/ included. */
import { describe, expect, it } from 'vitest';
import { importCircles, importGraph } from '@tarm/test-utils';

const graph = importGraph(new URL('../src/', import.meta.url));

describe('imports of packages/train/src', () => {
  it('reads the local imports of every file, across folders', () => {
    expect(graph.get('adamw.ts')).toEqual(expect.arrayContaining(['adamw-config.ts', 'adamw-state.ts']));
    expect(graph.get('node/run.ts')).toEqual(expect.arrayContaining(['adamw.ts', 'loop.ts', 'node/metrics-line.ts']));
  });

  it('has no circle', () => {
    expect(importCircles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });
});
