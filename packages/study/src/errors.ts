/**
 * An error a person can act on: a study file with an unknown key, a study folder made with another study file, a
 * results.json that does not validate. `field` names the study-file field at fault when there is one. The CLI
 * prints the message as is and exits 2.
 */
export class StudyError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'StudyError';
  }
}
