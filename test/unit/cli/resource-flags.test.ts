import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { addResourceOptions, resourceOverrides, type ResourceOptions } from '../../../src/cli/resource-flags.js';

/** The overrides `sweep start … ARGS` builds, or the one-line error commander prints. */
function overridesOf(args: readonly string[]) {
  let error = '';
  const command = addResourceOptions(new Command('start'))
    .exitOverride()
    .configureOutput({ writeErr: (text) => (error += text) });
  try {
    command.parse(args, { from: 'user' });
  } catch (thrown) {
    if (!(thrown instanceof CommanderError)) throw thrown;
    return { error: error.trim() };
  }
  return { overrides: resourceOverrides(command.opts<ResourceOptions>()) };
}

test('no resource flags: no overrides', () => {
  assert.deepEqual(overridesOf([]), { overrides: {} });
});

test('every resource flag becomes its override', () => {
  const args = [
    ['--gpus', '2'],
    ['--gpu-memory', '10GiB'],
    ['--gpu-share'],
    ['--gpu-utilization', '75%'],
    ['--cpus', '0.5'],
    ['--memory', '16GB'],
    ['--reserve-host'],
    ['--label', 'gpu_model=A100'],
    ['--label', 'zone=eu=west'],
    ['--label', 'gpu_model=H100'],
  ].flat();
  assert.deepEqual(overridesOf(args), {
    overrides: {
      gpus: 2,
      gpuMemoryMb: 10737,
      gpuShare: true,
      gpuUtilization: 0.75,
      cpus: 0.5,
      memoryMb: 16000,
      reserveHost: true,
      labels: { gpu_model: 'H100', zone: 'eu=west' },
    },
  });
  assert.deepEqual(overridesOf(['--gpus', '0']), { overrides: { gpus: 0 } });
});

const badFlags: { args: string[]; error: string }[] = [
  {
    args: ['--gpus', 'two'],
    error: "error: option '--gpus <n>' argument 'two' is invalid. expected a whole number >= 0.",
  },
  {
    args: ['--gpus', '1.5'],
    error: "error: option '--gpus <n>' argument '1.5' is invalid. expected a whole number >= 0.",
  },
  {
    args: ['--gpu-memory', 'lots'],
    error:
      "error: option '--gpu-memory <size>' argument 'lots' is invalid. expected a size like 10GiB, 512MB or 8000 (MB).",
  },
  {
    args: ['--gpu-utilization', '120%'],
    error:
      "error: option '--gpu-utilization <x>' argument '120%' is invalid. expected a fraction 0 < x <= 1 or a percentage like 75%.",
  },
  {
    args: ['--cpus', '0'],
    error: "error: option '--cpus <n>' argument '0' is invalid. expected a number > 0, e.g. 4 or 0.5.",
  },
  {
    args: ['--memory', '16 bananas'],
    error:
      "error: option '--memory <size>' argument '16 bananas' is invalid. expected a size like 10GiB, 512MB or 8000 (MB).",
  },
  {
    args: ['--label', 'A100'],
    error: "error: option '--label <key=value>' argument 'A100' is invalid. expected KEY=VALUE, e.g. gpu_model=A100.",
  },
  {
    args: ['--label', '=A100'],
    error: "error: option '--label <key=value>' argument '=A100' is invalid. expected KEY=VALUE, e.g. gpu_model=A100.",
  },
  {
    args: ['--label', 'gpu model=A100'],
    error:
      "error: option '--label <key=value>' argument 'gpu model=A100' is invalid. \"gpu model\" is not a label name: " +
      'expected a letter, then up to 62 letters, digits, "_", "." or "-".',
  },
];

for (const { args, error } of badFlags) {
  test(`bad flag value: ${args.join(' ')}`, () => {
    assert.deepEqual(overridesOf(args), { error });
  });
}
