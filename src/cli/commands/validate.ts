import type { Command } from 'commander';
import { axisSize, gridSize, trialCount } from '../../sweep-spec/expand.js';
import { renderTrial } from '../../sweep-spec/render.js';
import { shellQuote } from '../../sweep-spec/shell-words.js';
import type { ParameterSpec, SweepSpec } from '../../sweep-spec/spec-types.js';
import { describeRequest, resourceRequest } from '../../workflows/resource-request.js';
import { addResourceOptions } from '../resource-flags.js';
import { addSpecArguments, readSpecFile, type SpecCommandOptions } from '../spec-file.js';

export function describeParameter(parameter: ParameterSpec): string {
  if (parameter.type === 'random') return `${parameter.name} ~ ${parameter.distribution.kind}`;
  const size = axisSize(parameter.axis);
  return size === 1 ? `${parameter.name} (fixed)` : `${parameter.name} (${size} values)`;
}

export function describeSweep(file: string, spec: SweepSpec, show: number): string[] {
  const count = trialCount(spec);
  const shape =
    spec.method === 'random'
      ? `random search: ${spec.samples} sample(s) × ${gridSize(spec)} grid point(s), seed ${spec.seed}`
      : `grid`;
  const lines = [
    `${file}: valid; ${count.toLocaleString('en-US')} trial(s), ${shape}`,
    spec.trials
      ? `trials: listed one by one`
      : `parameters, first varying slowest: ${spec.parameters.map(describeParameter).join(', ') || '(none)'}`,
    `resources per trial: ${describeRequest(resourceRequest(spec.resources))}`,
  ];
  for (let index = 0; index < Math.min(show, count); index++) {
    const trial = renderTrial(spec, index);
    const call = Object.entries(trial.params)
      .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
      .join(', ');
    lines.push(
      `  ${trial.name}: ${spec.workerClass ? `${spec.workerClass.ref}.run(${call})` : shellQuote(trial.argv)}`,
    );
  }
  if (count > show) lines.push(`  … ${(count - show).toLocaleString('en-US')} more (sweep expand lists them all)`);
  return lines;
}

export function registerValidateCommand(program: Command): void {
  addResourceOptions(addSpecArguments(program.command('validate')))
    .description('check a spec and show its trial count and first commands; starts nothing')
    .option('--show <n>', 'how many rendered commands to show', (value) => Number.parseInt(value, 10), 5)
    .action((file: string, command: string[], options: SpecCommandOptions & { show: number }) => {
      const spec = readSpecFile(file, command, options);
      process.stdout.write(`${describeSweep(file, spec, options.show).join('\n')}\n`);
    });
}
