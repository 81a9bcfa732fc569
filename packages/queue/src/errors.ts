import { StudyError } from '@tarm/study';

/** A queue URL or option the user must fix, or a Redis that cannot be reached. The CLI prints it and exits 2. */
export class QueueError extends StudyError {
  constructor(message: string, field?: string) {
    super(message, field);
    this.name = 'QueueError';
  }
}
