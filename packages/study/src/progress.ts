import cliProgress from 'cli-progress';
import { duration } from '@tarm/eval/internal';
import type { GridProgress, RunState } from './grid.js';

/** Shows a study's progress; `runStudy` calls `update` at every change and `stop` at the end. */
export interface GridRenderer {
  update(grid: GridProgress): void;
  stop(): void;
}

/** "study 5/21 runs finished (2 earlier), 1 failed, 2 running | elapsed 3m10s | left 12m30s". */
export function formatGridLine(g: GridProgress): string {
  const parts = [`${g.label} ${g.finished}/${g.total} runs finished${g.skipped ? ` (${g.skipped} earlier)` : ''}`];
  if (g.failed) parts[0] += `, ${g.failed} failed`;
  parts[0] += `, ${g.running.length} running`;
  return `${parts[0]} | elapsed ${duration(g.elapsedSeconds)} | left ${duration(g.etaSeconds)}`;
}

/** "dense-copy-s1337 step 120/600 | loss 0.1234 | acc 98.0". */
export function formatRunLine(r: RunState): string {
  let s = `${r.id} step ${r.step ?? 0}/${r.steps}`;
  if (r.loss !== undefined) s += ` | loss ${r.loss.toFixed(4)}`;
  s += ` | acc ${r.acc !== undefined ? r.acc.toFixed(1) : '-'}`;
  return s;
}

/** One line for a run that started, finished or failed. */
export function formatEvent(e: NonNullable<GridProgress['event']>): string {
  const r = e.run;
  if (e.kind === 'started') return `started ${r.id}${r.resumed ? ' (resuming)' : ''}`;
  if (e.kind === 'finished')
    return `finished ${r.id} in ${duration(r.wallSeconds)}${r.acc !== undefined ? ` (acc ${r.acc.toFixed(1)})` : ''}`;
  const how = r.signal ? `signal ${r.signal}` : `exit code ${r.exitCode}`;
  const last = (r.stderrTail ?? '').trim().split('\n').pop() ?? '';
  return `FAILED ${r.id} (${how})${last ? `: ${last}` : ''}`;
}

/**
 * The default renderer, on `stream` (stderr). On a terminal: a cli-progress MultiBar with one bar for the grid
 * and one per running run. Elsewhere (a log file, CI): one line per run event and the grid line with every
 * running run at most every `intervalMs`.
 */
export function createGridProgress(
  stream: NodeJS.WriteStream = process.stderr,
  opts: { intervalMs?: number } = {},
): GridRenderer {
  return stream.isTTY ? ttyRenderer(stream) : lineRenderer(stream, opts.intervalMs ?? 15_000);
}

function lineRenderer(stream: NodeJS.WritableStream, intervalMs: number): GridRenderer {
  let last = 0;
  let latest: GridProgress | undefined;
  let printed = '';
  const print = (g: GridProgress) => {
    printed = formatGridLine(g);
    stream.write(`${printed}\n`);
    for (const r of g.running) stream.write(`  ${formatRunLine(r)}\n`);
    last = Date.now();
  };
  return {
    update(g) {
      latest = g;
      if (g.event?.kind === 'started') return;
      if (g.event) {
        stream.write(`${formatEvent(g.event)}\n`);
        print(g);
      } else if (Date.now() - last >= intervalMs) print(g);
    },
    stop() {
      if (latest && formatGridLine(latest) !== printed) stream.write(`${formatGridLine(latest)}\n`);
    },
  };
}

function ttyRenderer(stream: NodeJS.WriteStream): GridRenderer {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 20,
      autopadding: true,
      forceRedraw: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let main: cliProgress.SingleBar | undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  const runPayload = (r: RunState) => ({
    id: r.id,
    loss: r.loss !== undefined ? r.loss.toFixed(4) : '-',
    acc: r.acc !== undefined ? r.acc.toFixed(1) : '-',
  });
  return {
    update(g) {
      const gridPayload = {
        label: g.label,
        failed: g.failed,
        elapsed: duration(g.elapsedSeconds),
        left: duration(g.etaSeconds),
        running: g.running.length,
      };
      if (!main) {
        main = multi.create(g.total, g.finished + g.failed, gridPayload, {
          format:
            '{label} {bar} {value}/{total} runs | {running} running | {failed} failed | elapsed {elapsed} | left {left}',
        });
      } else {
        if (main.getTotal() !== g.total) main.setTotal(g.total);
        main.update(g.finished + g.failed, gridPayload);
      }
      if (g.event && g.event.kind !== 'started') multi.log(`${formatEvent(g.event)}\n`);
      const live = new Set(g.running.map((r) => r.id));
      for (const [id, bar] of bars) {
        if (!live.has(id)) {
          multi.remove(bar);
          bars.delete(id);
        }
      }
      for (const r of g.running) {
        const bar = bars.get(r.id);
        if (bar) bar.update(r.step ?? 0, runPayload(r));
        else
          bars.set(
            r.id,
            multi.create(r.steps, r.step ?? 0, runPayload(r), {
              format: '  {bar} step {value}/{total} | loss {loss} | acc {acc} | {id}',
            }),
          );
      }
    },
    stop() {
      multi.stop();
    },
  };
}
