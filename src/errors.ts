/** Thrown for a bad command line (unknown command, missing argument, a port already taken): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Thrown for invalid input or configuration; `problems` holds one located line each: exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** Thrown when a command ran but did not succeed (a sweep failed, a server died): exit with `code`. */
export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}
