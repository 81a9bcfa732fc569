/**
 * The refinement grid: for every answer position (column), what the model would answer after each refinement
 * row (a y or h pass: a step, or a cycle of a step for the nested rungs). Pure data; view.ts draws it.
 */
import type { ModelSummary, PositionTrace } from './protocol.js';

/** One row of the grid: one y/h pass of the schedule. */
export interface GridRow {
  /** Outer step k (0-based). */
  readonly step: number;
  /** Cycle within the step (nested rungs), else 0. */
  readonly cycle: number;
  readonly label: string;
}

export interface GridCell {
  /** The readout's character, or null where this pass did not run (the loop stopped earlier). */
  readonly char: string | null;
  /** The pass ran and its readout equals the emitted character. */
  readonly matchesFinal: boolean;
  /** The pass ran after this position had halted (other positions kept going): it cannot change the answer. */
  readonly afterHalt: boolean;
}

export interface GridColumn {
  readonly position: number;
  /** The emitted character. */
  readonly final: string;
  /** The correct character, when the prompt is a well-formed problem of the task. */
  readonly expected?: string;
  readonly stepsRun: number;
  readonly passesRun: number;
  /** Steps this position used: where it halted (halting rungs), else the steps the loop ran. */
  readonly usedSteps: number;
  /** This position halted before the schedule's last step. */
  readonly haltedEarly: boolean;
  /** Index of the last row this position used (the row it halted at), -1 before any. */
  readonly haltRow: number;
  /** First row from which every used row reads the final character; null if the halt row differs. */
  readonly settledRow: number | null;
}

export interface RefinementGrid {
  readonly rows: readonly (GridRow & { readonly cells: readonly GridCell[] })[];
  readonly columns: readonly GridColumn[];
}

/** The rows a schedule produces: one per y pass (dual rungs) or h pass (single-stream rungs). */
export function gridRows(summary: Pick<ModelSummary, 'rung' | 'schedule'>): GridRow[] {
  const { rung, schedule } = summary;
  const rows: GridRow[] = [];
  const H = rung.nested ? schedule.H : 1;
  for (let k = 0; k < schedule.steps; k++) {
    for (let c = 0; c < H; c++) {
      const label = !rung.tied ? `block ${k + 1}` : rung.nested ? `step ${k + 1} · cycle ${c + 1}` : `step ${k + 1}`;
      rows.push({ step: k, cycle: c, label });
    }
  }
  return rows;
}

/** Builds the grid from the traces of the positions decoded so far. */
export function buildGrid(
  summary: Pick<ModelSummary, 'rung' | 'schedule'>,
  traces: readonly PositionTrace[],
  expected?: string,
): RefinementGrid {
  const rows = gridRows(summary);
  const rowIndex = new Map(rows.map((r, i) => [`${r.step}:${r.cycle}`, i]));
  const perColumn = traces.map((t) => {
    const chars: (string | null)[] = rows.map(() => null);
    for (const r of t.readouts) {
      const i = rowIndex.get(`${r.step}:${r.cycle}`);
      if (i !== undefined) chars[i] = r.char;
    }
    return chars;
  });
  const columns: GridColumn[] = traces.map((t, j) => {
    const chars = perColumn[j]!;
    const usedSteps = Math.min(t.haltStep ?? t.stepsRun, t.stepsRun);
    let haltRow = -1;
    rows.forEach((r, i) => {
      if (r.step < usedSteps && chars[i] !== null) haltRow = i;
    });
    let settledRow: number | null = null;
    if (haltRow >= 0 && chars[haltRow] === t.char) {
      settledRow = haltRow;
      while (settledRow > 0 && chars[settledRow - 1] === t.char) settledRow--;
    }
    return {
      position: t.position,
      final: t.char,
      expected: expected?.[t.position] ?? (expected !== undefined && t.position === expected.length ? '\n' : undefined),
      stepsRun: t.stepsRun,
      passesRun: t.passesRun,
      usedSteps,
      haltedEarly: usedSteps < summary.schedule.steps,
      haltRow,
      settledRow,
    };
  });
  return {
    rows: rows.map((r, i) => ({
      ...r,
      cells: traces.map((t, j) => {
        const char = perColumn[j]![i] ?? null;
        return {
          char,
          matchesFinal: char !== null && char === t.char,
          afterHalt: char !== null && r.step >= columns[j]!.usedSteps,
        };
      }),
    })),
    columns,
  };
}

/** How a character is shown in the grid (the end-of-answer newline as ⏎). */
export function showChar(c: string | null | undefined): string {
  if (c === null || c === undefined) return '';
  return c === '\n' ? '⏎' : c;
}
