import cliProgress from 'cli-progress';
import { duration } from './format.js';

export interface ProgressState {
  loss: number;
  acc: string;
  tps: number;
}

/**
 * The live progress line of long commands (on stderr, so `--json` stdout stays clean): step, loss, accuracy at
 * the last evaluation, tokens/s, time left. Off a terminal it prints a plain line every few seconds instead.
 */
export function createProgress(total: number, label: string): { update(step: number, s: ProgressState): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {bar} step {value}/{total} | loss {loss} | acc {acc} | {tps} tok/s | left {left}`,
      barsize: 20,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 2_000, // off a terminal (a study worker's log): a line every 2 s
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  let started = false;
  return {
    update(step, s) {
      const elapsed = (Date.now() - start) / 1000;
      const left = step > 0 ? (elapsed / step) * (total - step) : Infinity;
      const payload = { loss: s.loss.toFixed(4), acc: s.acc, tps: Math.round(s.tps), left: duration(left) };
      if (!started) {
        bar.start(total, step, payload);
        started = true;
      } else bar.update(step, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
