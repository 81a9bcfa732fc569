/**
 * An error a person can act on: a study folder made with another configuration, an unknown model name, a
 * results.json that does not validate. The CLI prints its message as is.
 */
export class StudyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StudyError';
  }
}
