/** Base class for every error tarm raises on purpose: the message is meant for a person. */
export class TarmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarmError';
  }
}

/** A configuration value is missing, unknown or out of range. `field` names it; `allowed` says what would do. */
export class ConfigError extends TarmError {
  constructor(
    readonly field: string,
    readonly allowed: string,
    readonly got?: unknown,
  ) {
    super(`invalid ${field}: ${got === undefined ? 'missing' : `got ${JSON.stringify(got)}`}; allowed: ${allowed}`);
    this.name = 'ConfigError';
  }
}

/** A checkpoint or run folder could not be read back: names the file and what is wrong. */
export class CheckpointError extends TarmError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot load checkpoint ${path}: ${reason}`);
    this.name = 'CheckpointError';
  }
}

/** A backend was asked for that cannot be loaded here; the message says how to fix it. */
export class BackendError extends TarmError {
  constructor(
    readonly backend: string,
    reason: string,
  ) {
    super(`backend "${backend}" is not available: ${reason}`);
    this.name = 'BackendError';
  }
}
