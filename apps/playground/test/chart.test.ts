import { describe, expect, it } from 'vitest';
import { domains, niceTicks, pathData, renderChart, thin } from '../src/chart.js';

describe('chart', () => {
  it('picks round ticks', () => {
    expect(niceTicks(0, 1, 4)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(0, 600, 5)).toEqual([0, 200, 400, 600]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('thins long series but keeps the last point', () => {
    const pts = Array.from({ length: 1001 }, (_, i) => i);
    const t = thin(pts, 100);
    expect(t.length).toBeLessThanOrEqual(101);
    expect(t.at(-1)).toBe(1000);
    expect(thin([1, 2, 3], 100)).toEqual([1, 2, 3]);
  });

  it('renders a path per series and counts the plotted points', () => {
    const svg = renderChart({
      width: 200,
      height: 100,
      label: 'loss',
      series: [
        {
          name: 'a',
          color: '#000',
          points: [
            { x: 1, y: 2 },
            { x: 2, y: 1 },
            { x: 3, y: NaN },
          ],
        },
      ],
    });
    expect(svg).toContain('data-points="3"');
    expect(svg.match(/<path /g)).toHaveLength(1);
    expect(domains({ series: [], xMax: 50 })).toEqual({ x: [0, 50], y: [0, 1] });
    expect(
      pathData([
        { x: 0, y: 1 },
        { x: 2.25, y: 3 },
      ]),
    ).toBe('M0.0,1.0L2.3,3.0');
  });
});
