/**
 * @tarm/queue: a study spread over many machines. Its runs become BullMQ jobs on Redis (job id = run id);
 * `startWorker` trains them on each machine; `runStudyOnQueue` enqueues a study and follows it; `studyStatus` shows
 * where it stands. Run folders live on storage every machine sees. docs/distributed.md has the recipe. The jobs,
 * the lock and the queue's bookkeeping stay inside the package.
 */
export { QueueError } from './errors.js';
export { parseQueueUrl, type QueueLocation } from './url.js';
export { startWorker, type WorkerOptions, type QueueWorker, type StallSettings } from './worker.js';
export { runStudyOnQueue, type QueueStudyOptions, type QueueStudyOutcome, type QueuedRun } from './study.js';
export type { EnqueueReport } from './jobs.js';
export { studyStatus, formatStatus, type StudyStatus } from './status.js';
