import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../errors.js';
import { parseCount } from './option-parsers.js';
import { resourceOverrides, type ResourceOptions } from './resource-flags.js';
import { parseSpec, type SpecOverrides } from '../sweep-spec/load-spec.js';
import { formatProblem } from '../sweep-spec/problems.js';
import type { ArgStyle, SweepSpec } from '../sweep-spec/spec-types.js';

export interface SpecCommandOptions extends ResourceOptions {
  args?: ArgStyle;
  seed?: number;
  samples?: number;
  maxTrials?: number;
  pool?: string;
  priority?: number;
  weight?: number;
}

/** A file's text, or the one line that says why it cannot be read (`jobs.sh: cannot read the spec: no such file`). */
export function readTextFile(file: string, what: string): { text: string } | { problem: string } {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    return { problem: `${file}: cannot read the ${what}: ${reason}` };
  }
}

/** Reads and checks a spec file; every problem becomes one `file:line:column key: message` line. */
export function readSpecFile(file: string, command: readonly string[], options: SpecCommandOptions): SweepSpec {
  const read = readTextFile(file, 'spec');
  if ('problem' in read) throw new ConfigError([read.problem]);
  const { text } = read;
  const resources = resourceOverrides(options);
  const overrides: SpecOverrides = {
    ...(command.length > 0 ? { command } : {}),
    ...(options.args ? { args: options.args } : {}),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.samples === undefined ? {} : { samples: options.samples }),
    ...(options.maxTrials === undefined ? {} : { maxTrials: options.maxTrials }),
    ...(options.pool ? { pool: options.pool } : {}),
    ...(options.priority === undefined ? {} : { priority: options.priority }),
    ...(options.weight === undefined ? {} : { weight: options.weight }),
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
  };
  const result = parseSpec(text, overrides);
  if (!result.ok) throw new ConfigError(result.problems.map((problem) => formatProblem(file, problem)));
  return result.spec;
}

function argStyle(value: string): ArgStyle {
  if (!['equals', 'space', 'hydra', 'none'].includes(value)) {
    throw new InvalidArgumentError('expected equals (--lr=0.1), space (--lr 0.1), hydra (lr=0.1) or none.');
  }
  return value as ArgStyle;
}

/** The spec file argument, the command after `--`, and the overrides every spec-reading command accepts. */
export function addSpecArguments(command: Command): Command {
  return command
    .argument('<spec>', 'parameters.yml: a mapping of parameters, or a sweep document')
    .argument('[command...]', 'the trial command, after "--" (overrides command: in the file)')
    .option('--args <style>', 'how parameters become arguments: equals, space, hydra or none', argStyle)
    .option('--seed <n>', 'random-search seed (overrides seed: in the file)', parseCount(0))
    .option('--samples <n>', 'random draws per grid point (overrides samples:)', parseCount(1))
    .option('--max-trials <n>', 'refuse sweeps with more trials than this (overrides max_trials:)', parseCount(1));
}
