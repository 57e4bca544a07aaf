// jobdispatcher's `create_shell_script`, made safe: one `#!/bin/sh` launcher per trial whose command runs with
// exactly the trial's argv, however its values are spelled. Pure: the text only, no files.
import type { RenderedTrial, RunContext } from './render.js';
import { shellQuote } from './shell-words.js';

/**
 * Render the trial with this context for a script: `{trial_dir}` and `{sweep_id}` are known only where the script
 * runs, so they come out as marks that `launcherScript` turns into `"$SWEEP_TRIAL_DIR"` and `"$SWEEP_SWEEP_ID"`.
 * NUL cannot occur in an argv element, so a mark cannot be confused with a value.
 */
export const SCRIPT_CONTEXT = {
  trialDir: '\u0000trial_dir\u0000',
  sweepId: '\u0000sweep_id\u0000',
} as const satisfies RunContext;

const MARKS: ReadonlyMap<string, string> = new Map([
  [SCRIPT_CONTEXT.trialDir, 'SWEEP_TRIAL_DIR'],
  [SCRIPT_CONTEXT.sweepId, 'SWEEP_SWEEP_ID'],
]);
// The marks are NUL and letters: no regex syntax to escape.
const MARK = new RegExp([...MARKS.keys()].join('|'), 'g');
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A first word that sh would read as an assignment or as syntax instead of running it as a program.
const RESERVED = new Set('if then else elif fi do done case esac while until for in'.split(' '));
const INDENT = '    ';

export interface LauncherOptions {
  /** The user's shell code, run before the command (`LOGDIR=../logs/mnist/`): written verbatim. */
  readonly header: readonly string[];
  /** Shell code that ends the command's line (`| tee $LOGDIR/log.out`): written verbatim, never quoted. */
  readonly footer?: string;
  /** Who wrote the script, for its comment: `sweep render from parameters.yml`. */
  readonly generatedBy: string;
  /** How many leading argv elements are the spec's `command:`; they share the first line (default 1). */
  readonly commandWords?: number;
}

/** Why the trial cannot become a script (a NUL in a value: no command line can carry one), or undefined. */
export function unscriptable(trial: RenderedTrial): string | undefined {
  const index = trial.argv.findIndex((element) => element.replace(MARK, '').includes('\u0000'));
  if (index >= 0) return `argument ${index + 1} contains a NUL character, which no command line can carry`;
  const key = Object.keys(trial.env).find((name) => (trial.env[name] ?? '').replace(MARK, '').includes('\u0000'));
  if (key !== undefined) return `env ${key} contains a NUL character, which no environment can carry`;
  return undefined;
}

/** One word: literal text single-quoted where it must be, each mark a double-quoted variable. */
function scriptWord(text: string, asCommand = false): string {
  if (text === '') return "''";
  const words: string[] = [];
  let last = 0;
  for (const match of text.matchAll(MARK)) {
    if (match.index > last) words.push(literalWord(text.slice(last, match.index), asCommand && last === 0));
    words.push(`"$${MARKS.get(match[0]) ?? ''}"`);
    last = match.index + match[0].length;
  }
  if (last < text.length) words.push(literalWord(text.slice(last), asCommand && last === 0));
  return words.join('');
}

function literalWord(text: string, asCommand: boolean): string {
  const quoted = shellQuote([text]);
  if (asCommand && quoted === text && (text.includes('=') || RESERVED.has(text))) return `'${text}'`;
  return quoted;
}

/** The variables a mark in the argv or env stands for, in order of first use. */
function markedVariables(trial: RenderedTrial): string[] {
  const used = new Set<string>();
  for (const text of [...trial.argv, ...Object.values(trial.env)]) {
    for (const match of text.matchAll(MARK)) used.add(MARKS.get(match[0]) ?? '');
  }
  return [...used];
}

/** `--name value` stays on one line; every other option starts its own, as jobdispatcher's scripts did. */
function commandLines(argv: readonly string[], commandWords: number): string[][] {
  const lines: string[][] = [[...argv.slice(0, Math.max(1, commandWords))]];
  for (const element of argv.slice(Math.max(1, commandWords))) {
    const line = lines.at(-1) ?? [];
    const takesValue = lines.length > 1 && line.length === 1 && /^--[^=]+$/.test(line[0] ?? '');
    if (takesValue && !element.startsWith('--')) line.push(element);
    else lines.push([element]);
  }
  return lines;
}

/** A comment stays one comment line whatever the file or trial is called. */
function commentText(text: string): string {
  return text.replace(/\p{Cc}/gu, '?');
}

/**
 * The launcher script of one trial, rendered with `SCRIPT_CONTEXT`. Deterministic (no date or user, unlike
 * jobdispatcher's), so rendering again gives the same bytes. No `set -e`, as jobdispatcher's scripts had none: a
 * header may run commands that fail harmlessly; a header that wants it writes it. The script's exit status is the
 * last command's: the trial's, or the footer's when the footer is a pipe (`| tee` hides the trial's failure).
 */
export function launcherScript(trial: RenderedTrial, options: LauncherOptions): string {
  const problem = unscriptable(trial);
  if (problem) throw new RangeError(`trial ${trial.name}: ${problem}`);
  const env: Record<string, string> = {
    ...trial.env,
    SWEEP_TRIAL_INDEX: String(trial.index),
    SWEEP_TRIAL_NAME: trial.name,
  };
  const lines = [
    '#!/bin/sh',
    `# generated by ${commentText(options.generatedBy)} (trial ${commentText(trial.name)})`,
    '',
    ...Object.entries(env).map(([key, value]) => {
      if (!VARIABLE.test(key)) throw new RangeError(`trial ${trial.name}: env ${key} is no variable name`);
      return `export ${key}=${scriptWord(value)}`;
    }),
    '',
  ];
  if (options.header.length > 0) lines.push(...options.header, '');
  // After the header, so that a header may set (or cd to decide) where trial directories go.
  const variables = markedVariables(trial);
  for (const variable of variables) {
    if (variable === 'SWEEP_TRIAL_DIR') {
      // A worker gives each trial its own directory (absolute); a script run by hand makes one where it runs.
      lines.push(
        `SWEEP_TRIAL_DIR=\${SWEEP_TRIAL_DIR:-"$PWD"/${shellQuote([trial.name])}}`,
        'export SWEEP_TRIAL_DIR',
        'mkdir -p "$SWEEP_TRIAL_DIR" || exit',
      );
    } else {
      // There is no sweep to name: the caller or the header must, rather than the script inventing an ID.
      lines.push(
        'SWEEP_SWEEP_ID=${SWEEP_SWEEP_ID:?is unset: the command uses sweep_id; set it in the environment or the header}',
        'export SWEEP_SWEEP_ID',
      );
    }
  }
  if (variables.length > 0) lines.push('');
  const command = commandLines(trial.argv, options.commandWords ?? 1).map((words, line) =>
    words.map((word, index) => scriptWord(word, line === 0 && index === 0)).join(' '),
  );
  const footer = options.footer ?? '';
  if (footer !== '') command.push(footer);
  lines.push(command.map((line, index) => (index === 0 ? line : INDENT + line)).join(' \\\n'));
  return `${lines.join('\n')}\n`;
}
