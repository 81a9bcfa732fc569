import { describe, expect, it } from 'vitest';
import { buildGrid, gridRows, showChar } from '../src/grid.js';
import type { ModelSummary, PositionTrace } from '../src/protocol.js';

const dualUt: Pick<ModelSummary, 'rung' | 'schedule'> = {
  rung: { tied: true, dualStream: true, nested: false, halting: 'act' },
  schedule: { steps: 3, H: 1, L: 1, passesPerStep: 2, blockPasses: 6 },
};
const nested: Pick<ModelSummary, 'rung' | 'schedule'> = {
  rung: { tied: true, dualStream: true, nested: true, halting: 'binary' },
  schedule: { steps: 2, H: 2, L: 2, passesPerStep: 6, blockPasses: 12 },
};
const dense: Pick<ModelSummary, 'rung' | 'schedule'> = {
  rung: { tied: false, dualStream: false, nested: false, halting: 'none' },
  schedule: { steps: 2, H: 1, L: 0, passesPerStep: 1, blockPasses: 2 },
};

/** A trace whose y passes read `chars` in order (dual-ut: y pass of step k has index 2k + 1). */
function trace(position: number, final: string, chars: string[], stepsRun = chars.length): PositionTrace {
  return {
    position,
    char: final,
    readouts: chars.map((c, k) => ({ passIndex: 2 * k + 1, step: k, cycle: 0, char: c })),
    stepsRun,
    passesRun: 2 * stepsRun,
  };
}

describe('gridRows', () => {
  it('has one row per y/h pass, labelled by step, cycle or block', () => {
    expect(gridRows(dualUt).map((r) => r.label)).toEqual(['step 1', 'step 2', 'step 3']);
    expect(gridRows(nested).map((r) => r.label)).toEqual([
      'step 1 · cycle 1',
      'step 1 · cycle 2',
      'step 2 · cycle 1',
      'step 2 · cycle 2',
    ]);
    expect(gridRows(dense).map((r) => r.label)).toEqual(['block 1', 'block 2']);
  });
});

describe('buildGrid', () => {
  it('marks cells equal to the emitted answer and where each column settled', () => {
    const g = buildGrid(dualUt, [trace(0, '5', ['3', '5', '5']), trace(1, '7', ['7', '2', '7'])], '57');
    expect(g.rows.map((r) => r.cells.map((c) => c.char))).toEqual([
      ['3', '7'],
      ['5', '2'],
      ['5', '7'],
    ]);
    expect(g.rows.map((r) => r.cells.map((c) => c.matchesFinal))).toEqual([
      [false, true],
      [true, false],
      [true, true],
    ]);
    expect(g.columns.map((c) => c.settledRow)).toEqual([1, 2]);
    expect(g.columns.map((c) => c.expected)).toEqual(['5', '7']);
    expect(g.columns.every((c) => !c.haltedEarly && c.haltRow === 2 && c.usedSteps === 3)).toBe(true);
    expect(g.rows.flatMap((r) => r.cells).some((c) => c.afterHalt)).toBe(false);
  });

  it('leaves passes after the loop stopped empty and marks the row where halting stopped', () => {
    const g = buildGrid(dualUt, [trace(0, '4', ['4'], 1)]);
    expect(g.rows.map((r) => r.cells[0])).toEqual([
      { char: '4', matchesFinal: true, afterHalt: false },
      { char: null, matchesFinal: false, afterHalt: false },
      { char: null, matchesFinal: false, afterHalt: false },
    ]);
    expect(g.columns[0]).toMatchObject({
      haltedEarly: true,
      haltRow: 0,
      stepsRun: 1,
      usedSteps: 1,
      settledRow: 0,
      expected: undefined,
    });
  });

  it("uses the position's own halting step: later passes ran for other positions but are marked as ignored", () => {
    const g = buildGrid(dualUt, [{ ...trace(0, '8', ['8', '1', '2']), haltStep: 1 }]);
    expect(g.rows.map((r) => r.cells[0]!.afterHalt)).toEqual([false, true, true]);
    expect(g.columns[0]).toMatchObject({ haltedEarly: true, usedSteps: 1, haltRow: 0, settledRow: 0, stepsRun: 3 });
  });

  it('has no settled row when the last pass disagrees with the emitted answer (ACT mixes the steps)', () => {
    const g = buildGrid(dualUt, [trace(0, '9', ['9', '9', '1'])]);
    expect(g.columns[0]!.settledRow).toBeNull();
  });

  it('places nested readouts by (step, cycle) and maps the end of the answer to the newline', () => {
    const t: PositionTrace = {
      position: 2,
      char: '\n',
      readouts: [
        { passIndex: 2, step: 0, cycle: 0, char: '1' },
        { passIndex: 5, step: 0, cycle: 1, char: '\n' },
        { passIndex: 8, step: 1, cycle: 0, char: '\n' },
        { passIndex: 11, step: 1, cycle: 1, char: '\n' },
      ],
      stepsRun: 2,
      passesRun: 12,
    };
    const g = buildGrid(nested, [t], '12');
    expect(g.rows.map((r) => r.cells[0]!.char)).toEqual(['1', '\n', '\n', '\n']);
    expect(g.columns[0]).toMatchObject({ expected: '\n', settledRow: 1, haltedEarly: false, haltRow: 3 });
    expect(showChar('\n')).toBe('⏎');
  });
});
