// The command-line twins of a spec's `resources:` keys; each one given replaces the file's.
import { InvalidArgumentError, type Command } from 'commander';
import { isLabelName, LABEL_NAME_RULE } from '../sweep-spec/resource-rules.js';
import type { Resources } from '../sweep-spec/spec-types.js';
import { parseCount, parseFractionOption, parsePositive, parseSize } from './option-parsers.js';

/** The options as commander names them. */
export interface ResourceOptions {
  gpus?: number;
  gpuMemory?: number;
  gpuShare?: boolean;
  gpuUtilization?: number;
  cpus?: number;
  memory?: number;
  reserveHost?: boolean;
  label?: Record<string, string>;
}

/** For the repeatable `--label KEY=VALUE`: the labels so far, this one added (a repeated key: the last wins). */
export function parseLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('expected KEY=VALUE, e.g. gpu_model=A100.');
  const name = value.slice(0, at);
  if (!isLabelName(name)) throw new InvalidArgumentError(`"${name}" is not a label name: ${LABEL_NAME_RULE}.`);
  return { ...previous, [name]: value.slice(at + 1) };
}

export function addResourceOptions(command: Command): Command {
  return command
    .option('--gpus <n>', 'GPUs per trial, all on one host; 0: CPU only (overrides resources: gpus)', parseCount(0))
    .option('--gpu-memory <size>', 'free memory each of its GPUs must have, e.g. 10GiB', parseSize)
    .option('--gpu-share', 'other trials may share its GPUs while memory allows (needs a GPU memory figure)')
    .option('--gpu-utilization <x>', 'the most a GPU may already be busy: 0 < x <= 1, or N%', parseFractionOption)
    .option('--cpus <n>', 'CPU cores per trial', parsePositive)
    .option('--memory <size>', 'host memory per trial, e.g. 16GiB', parseSize)
    .option('--reserve-host', "the whole host: nothing else of Sweep's runs on it meanwhile")
    .option('--label <key=value>', 'a label the worker must have, e.g. gpu_model=A100 (repeatable)', parseLabel);
}

/** The flags given, as spec overrides; `{}` when none was. */
export function resourceOverrides(options: ResourceOptions): Resources {
  return {
    ...(options.gpus === undefined ? {} : { gpus: options.gpus }),
    ...(options.gpuMemory === undefined ? {} : { gpuMemoryMb: options.gpuMemory }),
    ...(options.gpuShare ? { gpuShare: true } : {}),
    ...(options.gpuUtilization === undefined ? {} : { gpuUtilization: options.gpuUtilization }),
    ...(options.cpus === undefined ? {} : { cpus: options.cpus }),
    ...(options.memory === undefined ? {} : { memoryMb: options.memory }),
    ...(options.reserveHost ? { reserveHost: true } : {}),
    ...(options.label ? { labels: options.label } : {}),
  };
}
