/**
 * @tarm/queue: a study spread over many machines. Its runs become BullMQ jobs on Redis (job id = run id);
 * `startWorker` trains them on each machine; `runStudyOnQueue` enqueues a study and follows it; `studyStatus` shows
 * where it stands. Run folders live on storage every machine sees. docs/distributed.md has the recipe.
 */
export { QueueError } from './errors.js';
export { parseQueueUrl, DEFAULT_QUEUE_NAME, type QueueLocation } from './url.js';
export {
  connect,
  enqueueStudy,
  openQueue,
  type EnqueueOptions,
  type EnqueueReport,
  type RunJobData,
  type RunJobProgress,
  type RunJobResult,
} from './jobs.js';
export { takeLock } from './lock.js';
export { startWorker, type WorkerOptions, type QueueWorker, type StallSettings } from './worker.js';
export {
  runStudyOnQueue,
  readQueuedRuns,
  type QueueStudyOptions,
  type QueueStudyOutcome,
  type QueuedRun,
} from './study.js';
export { studyStatus, formatStatus, type StudyStatus } from './status.js';
