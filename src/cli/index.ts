#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ConfigError, ExitError, UsageError } from '../errors.js';
import { environmentProblem } from '../temporal/connection-errors.js';
import { buildProgram } from './program.js';

/** The only place that turns outcomes into exit codes: 0 ok, 1 failed, 2 bad usage or invalid input. */
async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    if (argv.length === 0) {
      process.stderr.write(program.helpInformation());
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its one-line message (or the help / version text).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`sweep: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.problems.join('\n')}\n`);
      return 2;
    }
    if (error instanceof ExitError) {
      process.stderr.write(`sweep: ${error.message}\n`);
      return error.code;
    }
    // The environment, not Sweep: a server that stopped answering, or something else at its address.
    const problem = environmentProblem(error);
    if (problem) {
      process.stderr.write(`sweep: ${problem}\n`);
      return 1;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${detail}\nsweep: this is a bug in Sweep; please report it with the output above.\n`);
    return 1;
  }
}

// A reader that stops early (`sweep expand … | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});
process.exitCode = await main(process.argv.slice(2));
