import { InvalidArgumentError, type Command } from 'commander';
import { trialCount } from '../../sweep-spec/expand.js';
import { formatValue, renderTrial } from '../../sweep-spec/render.js';
import { shellQuote } from '../../sweep-spec/shell-words.js';
import { csvField, writeOut } from '../output.js';
import { addSpecArguments, readSpecFile, type SpecCommandOptions } from '../spec-file.js';

type Format = 'json' | 'csv';

/** Streams every trial: JSON Lines ({index, name, params, argv}) or CSV with one column per parameter. */
export async function expandTrials(file: string, command: string[], options: SpecCommandOptions & { format: Format }) {
  const spec = readSpecFile(file, command, options);
  const names = spec.parameters.map((parameter) => parameter.name);
  if (options.format === 'csv') await writeOut(`${['index', 'name', ...names, 'command'].map(csvField).join(',')}\n`);
  const count = trialCount(spec);
  for (let index = 0; index < count; index++) {
    const trial = renderTrial(spec, index);
    const line =
      options.format === 'json'
        ? JSON.stringify({ index, name: trial.name, params: trial.params, argv: trial.argv })
        : [
            String(index),
            trial.name,
            ...names.map((name) => formatValue(trial.params[name] ?? null)),
            shellQuote(trial.argv),
          ]
            .map(csvField)
            .join(',');
    await writeOut(`${line}\n`);
  }
}

export function registerExpandCommand(program: Command): void {
  addSpecArguments(program.command('expand'))
    .description('print every trial of a spec (streamed), as JSON Lines or CSV')
    .option(
      '--format <format>',
      'json (one JSON object per line) or csv',
      (value: string): Format => {
        if (value !== 'json' && value !== 'csv') throw new InvalidArgumentError('expected json or csv.');
        return value;
      },
      'json',
    )
    .action(expandTrials);
}
