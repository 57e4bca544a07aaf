import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { trialCount } from '../../sweep-spec/expand.js';
import {
  launcherScript,
  SCRIPT_CONTEXT,
  unscriptable,
  type LauncherOptions,
} from '../../sweep-spec/launcher-script.js';
import { renderTrial } from '../../sweep-spec/render.js';
import type { SweepSpec } from '../../sweep-spec/spec-types.js';
import { parseCount } from '../option-parsers.js';
import { writeOut } from '../output.js';
import { addSpecArguments, readSpecFile, readTextFile, type SpecCommandOptions } from '../spec-file.js';

export interface RenderOptions extends SpecCommandOptions {
  scripts: string;
  header?: string;
  footer?: string;
  force?: boolean;
  maxScripts: number;
}

/**
 * A folder of one file per trial is not a sweep of a million trials: past this many scripts, `--max-scripts` must
 * say so (the spec's own max_trials still applies to both).
 */
export const DEFAULT_MAX_SCRIPTS = 10_000;
/** Enough refused files to see the pattern; the rest are counted. */
const SHOWN_PROBLEMS = 10;

function readHeader(file: string): string[] | string {
  const read = readTextFile(file, 'header');
  if ('problem' in read) return read.problem;
  const { text } = read;
  // A header saved with CRLF would leave a \r on every line, which sh keeps as part of the last word.
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** What the directory holds now, read once, so that checking 10,000 names does not stat 10,000 paths. */
function listDirectory(dir: string): Set<string> | string {
  try {
    return new Set(readdirSync(dir));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new Set();
    return `${dir}: cannot use it for scripts: ${code === 'ENOTDIR' ? 'not a directory' : (error as Error).message}`;
  }
}

type Existing = 'absent' | 'identical' | 'different' | 'not a regular file';

function existingScript(path: string, present: boolean, text: string): Existing {
  if (!present) return 'absent';
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return 'absent';
  if (!stat.isFile()) return 'not a regular file';
  return readFileSync(path, 'utf8') === text ? 'identical' : 'different';
}

function countProblems(problems: string[], total: number): string[] {
  return total > problems.length ? [...problems, `… and ${total - problems.length} more like these`] : problems;
}

/**
 * Writes `DIR/<trial name>.sh` for every trial, streamed: one pass checks every script against what is there (and
 * refuses before writing anything), a second writes; only a byte per trial is held between them.
 */
export async function renderScripts(file: string, command: string[], options: RenderOptions): Promise<void> {
  const problems: string[] = [];
  let spec: SweepSpec | undefined;
  try {
    spec = readSpecFile(file, command, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const header = options.header === undefined ? [] : readHeader(options.header);
  if (typeof header === 'string') problems.push(header);
  const existing = listDirectory(options.scripts);
  if (typeof existing === 'string') problems.push(existing);
  if (!spec || typeof header === 'string' || typeof existing === 'string') throw new ConfigError(problems);

  const count = trialCount(spec);
  if (count > options.maxScripts) {
    throw new ConfigError([
      `${file}: the sweep has ${count.toLocaleString('en-US')} trials, more than --max-scripts ` +
        `(${options.maxScripts.toLocaleString('en-US')}); raise --max-scripts or narrow the grid`,
    ]);
  }
  const sweep = spec;
  const launcher: LauncherOptions = {
    header,
    ...(options.footer === undefined ? {} : { footer: options.footer }),
    // The file's name, not its path: the same spec rendered from another directory gives the same scripts.
    generatedBy: `sweep render from ${basename(file)}`,
    commandWords: spec.command.length,
  };
  const script = (index: number) => {
    const trial = renderTrial(sweep, index, SCRIPT_CONTEXT);
    return { trial, path: join(options.scripts, `${trial.name}.sh`), fileName: `${trial.name}.sh` };
  };

  const state = new Uint8Array(count);
  const UNCHANGED = 1;
  let refused = 0;
  const refusals: string[] = [];
  const refuse = (line: string) => {
    if (++refused <= SHOWN_PROBLEMS) refusals.push(line);
  };
  // Only names already in DIR: the other .sh files there are worth a note, and the set stays the listing's size.
  const rendered = new Set<string>();
  let usesSweepId = false;
  for (let index = 0; index < count; index++) {
    const { trial, path, fileName } = script(index);
    if (existing.has(fileName)) rendered.add(fileName);
    usesSweepId ||= trial.argv.some((element) => element.includes(SCRIPT_CONTEXT.sweepId));
    const problem = unscriptable(trial);
    if (problem) {
      refuse(`${file}: trial ${trial.name}: ${problem}`);
      continue;
    }
    const found = existingScript(path, existing.has(fileName), launcherScript(trial, launcher));
    if (found === 'identical') state[index] = UNCHANGED;
    else if (found === 'not a regular file') refuse(`${path}: exists and is not a regular file`);
    else if (found === 'different' && !options.force) {
      refuse(`${path}: exists and differs from what this spec renders (--force overwrites)`);
    }
  }
  if (refused > 0) throw new ConfigError([...countProblems(refusals, refused), 'nothing was written']);

  mkdirSync(options.scripts, { recursive: true });
  let written = 0;
  for (let index = 0; index < count; index++) {
    const { trial, path, fileName } = script(index);
    if (state[index] === UNCHANGED) {
      if ((lstatSync(path).mode & 0o777) !== 0o755) chmodSync(path, 0o755);
    } else {
      // Renamed into place, so that a dispatcher watching DIR for *.sh never picks up half a script.
      const partial = join(options.scripts, `.${fileName}.${process.pid}.partial`);
      writeFileSync(partial, launcherScript(trial, launcher), { mode: 0o755 });
      chmodSync(partial, 0o755);
      renameSync(partial, path);
      written++;
    }
    await writeOut(`${path}\n`);
  }

  const others = [...existing].filter((name) => name.endsWith('.sh') && !rendered.has(name)).sort();
  const notes = [
    `${options.scripts}: ${count.toLocaleString('en-US')} launcher script(s): ${written.toLocaleString('en-US')} ` +
      `written, ${(count - written).toLocaleString('en-US')} unchanged`,
  ];
  if (others.length > 0) {
    notes.push(
      `note: ${options.scripts} also holds ${others.length} other .sh file(s) this spec does not render: ` +
        `${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}`,
    );
  }
  if (usesSweepId) {
    notes.push('note: the command uses {sweep_id}: the scripts read it from $SWEEP_SWEEP_ID (set it, or in --header)');
  }
  process.stderr.write(`${notes.join('\n')}\n`);
}

export function registerRenderCommand(program: Command): void {
  addSpecArguments(program.command('render'))
    .description('write one executable launcher script per trial (jobdispatcher-style), instead of running a sweep')
    .requiredOption('--scripts <dir>', 'where to write <trial name>.sh (created if missing)')
    .option('--header <file>', 'shell code to run before the command, copied into every script')
    .option('--footer <text>', 'shell code to end the command line with, e.g. "| tee log.out"')
    .option('--force', 'overwrite scripts that differ from what this spec renders')
    .option(
      '--max-scripts <n>',
      'refuse sweeps with more trials than this (one file per trial)',
      parseCount(1),
      DEFAULT_MAX_SCRIPTS,
    )
    .action(renderScripts);
}
