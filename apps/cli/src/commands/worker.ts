import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { BACKEND_CHOICES } from '@tarm/core';
import { configDefiner } from '@tarm/core/internal';
import { StudyError } from '@tarm/study';
import { UsageError } from '../errors.js';
import { loadQueue, queueUrl } from '../queue.js';

const int = z.coerce.number().int().min(1);
const WorkerFlags = z.strictObject({
  queue: z.string().min(1),
  concurrency: int.default(1),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  lockDuration: int.optional(),
  stalledInterval: int.optional(),
  maxStalled: int.optional(),
});

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'train the runs of studies put on a queue (BullMQ on Redis), on this machine, until stopped (SIGINT/SIGTERM)',
    )
    .option(
      '--queue [url]',
      'redis://[:password@]host:port[/db][?queue=name] or rediss:// (TLS); --queue alone or none: the URL in $TARM_QUEUE',
    )
    .option('--concurrency <n>', 'runs trained at once on this machine', '1')
    .option(
      '--backend <name>',
      `${BACKEND_CHOICES.join(' | ')} (auto: node when @tensorflow/tfjs-node loads, else wasm)`,
      'auto',
    )
    .option(
      '--lock-duration <ms>',
      "a run's lock; a dead worker's run goes to another worker after about this (default 30000)",
    )
    .option('--stalled-interval <ms>', 'how often to look for runs of dead workers (default 30000)')
    .option(
      '--max-stalled <n>',
      'times a run may be taken back from a dead worker before it is marked failed (default 5)',
    )
    .action(async (raw: Record<string, unknown>) => {
      const url = queueUrl(raw.queue);
      if (!url) throw new UsageError('give --queue redis://host:port (or set TARM_QUEUE)');
      try {
        const f = configDefiner(WorkerFlags)({ ...raw, queue: url } as never);
        const q = await loadQueue();
        const location = q.parseQueueUrl(f.queue);
        const cliEntry = fileURLToPath(new URL('../main.js', import.meta.url));
        const worker = await q.startWorker({
          location,
          cliEntry,
          concurrency: f.concurrency,
          backend: f.backend,
          lockDuration: f.lockDuration,
          stalledInterval: f.stalledInterval,
          maxStalledCount: f.maxStalled,
          log: (line) => console.error(`tarm worker: ${line}`),
        });
        await new Promise<void>((done) => {
          const stop = () => {
            console.error(`tarm worker: stopping; running runs are checkpointed and put back on the queue`);
            worker.close().then(done, done);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      } catch (e) {
        throw e instanceof StudyError ? new UsageError(e.message) : e;
      }
    });
}
