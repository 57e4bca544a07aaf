import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';

/** The problems of the ConfigError `run` throws; fails the test when it throws anything else, or nothing. */
export function thrownProblems(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  return assert.fail('expected a ConfigError');
}
