/** HTML for the refinement grid (pure string building; every dynamic text goes through `esc`). */
import { showChar, type RefinementGrid } from './grid.js';

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * Rows: refinement steps / cycles; columns: answer positions; a cell shows what the readout of y (or h) after
 * that pass would answer at that position, highlighted when it equals the emitted answer. Passes after halting
 * stopped the loop are empty and the last row that ran is underlined.
 */
export function renderGrid(grid: RefinementGrid): string {
  const { rows, columns } = grid;
  const head =
    `<tr><th scope="col" class="corner">pass \\ position</th>` +
    columns.map((c) => `<th scope="col">${c.position + 1}</th>`).join('') +
    `</tr>`;
  const body = rows
    .map((row, i) => {
      const cells = row.cells
        .map((cell, j) => {
          const col = columns[j]!;
          const cls = [
            cell.char === null ? 'skipped' : cell.matchesFinal ? 'match' : 'differs',
            cell.afterHalt ? 'after-halt' : '',
            i === col.haltRow && col.haltedEarly ? 'halt' : '',
            col.settledRow === i ? 'settled' : '',
          ]
            .filter(Boolean)
            .join(' ');
          const title =
            cell.char === null
              ? 'not run: every position had halted'
              : `after ${row.label}: ${showChar(cell.char)}${cell.afterHalt ? ' (this position had already halted)' : ''}`;
          return `<td class="${cls}" title="${esc(title)}">${esc(showChar(cell.char))}</td>`;
        })
        .join('');
      return `<tr><th scope="row">${esc(row.label)}</th>${cells}</tr>`;
    })
    .join('');
  const answer =
    `<tr class="final"><th scope="row">answer</th>` +
    columns
      .map(
        (c) =>
          `<td class="${c.expected === undefined ? '' : c.final === c.expected ? 'right' : 'wrong'}">${esc(showChar(c.final))}</td>`,
      )
      .join('') +
    `</tr>`;
  const expected = columns.some((c) => c.expected !== undefined)
    ? `<tr class="expected"><th scope="row">expected</th>` +
      columns.map((c) => `<td>${esc(showChar(c.expected))}</td>`).join('') +
      `</tr>`
    : '';
  const halts =
    `<tr class="halts"><th scope="row">steps used</th>` +
    columns
      .map(
        (c) =>
          `<td class="${c.haltedEarly ? 'early' : ''}" title="halted after ${c.usedSteps} step(s); the loop ran ${c.stepsRun} (${c.passesRun} block passes)">${c.usedSteps}</td>`,
      )
      .join('') +
    `</tr>`;
  return `<table class="grid" data-rows="${rows.length}" data-columns="${columns.length}"><thead>${head}</thead><tbody>${body}</tbody><tfoot>${answer}${expected}${halts}</tfoot></table>`;
}
