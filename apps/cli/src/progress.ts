import cliProgress from 'cli-progress';
import { duration } from '@tarm/eval/internal';
import type { TrainMessage } from '@tarm/study';

export interface ProgressState {
  loss: number;
  /** Character accuracy (percent) at the last evaluation at the training length; undefined before the first. */
  acc?: number;
  tps: number;
}

/** Sends a message to the parent when this process was forked with an IPC channel (a study's worker). */
function send(m: TrainMessage): void {
  if (process.send && process.connected) process.send(m);
}

const SEND_EVERY_MS = 250;

/**
 * The progress of long commands, to two consumers: a live bar on stderr for people (step, loss, accuracy at the
 * last evaluation, tokens/s, time left; off a terminal a plain line every few seconds), and, in a process forked
 * by a study, structured `tarm:progress` / `tarm:result` messages over IPC. The study reads only the messages:
 * the bar's text can change freely.
 */
export function createProgress(
  total: number,
  label: string,
): { update(step: number, s: ProgressState): void; result(record: Record<string, unknown>): void; stop(): void } {
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
  let before = 0; // steps done before this session (a resumed run's first update is past step 1)
  let sentAt = 0;
  let sentAcc: number | undefined;
  return {
    update(step, s) {
      const now = Date.now();
      if (now - sentAt >= SEND_EVERY_MS || step === total || s.acc !== sentAcc) {
        sentAt = now;
        sentAcc = s.acc;
        send({ type: 'tarm:progress', step, steps: total, loss: s.loss, acc: s.acc, tokensPerSecond: s.tps });
      }
      const elapsed = (now - start) / 1000;
      if (!started) before = Math.max(0, step - 1);
      const left = step > before ? (elapsed / (step - before)) * (total - step) : Infinity;
      const payload = {
        loss: s.loss.toFixed(4),
        acc: s.acc === undefined ? '-' : s.acc.toFixed(1),
        tps: Math.round(s.tps),
        left: duration(left),
      };
      if (!started) {
        bar.start(total, step, payload);
        started = true;
      } else bar.update(step, payload);
    },
    result(record) {
      send({ type: 'tarm:result', result: record });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
