import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SpecOverrides } from '../../../src/sweep-spec/load-spec.js';
import type { Resources } from '../../../src/sweep-spec/spec-types.js';
import { problemsOf, specOf } from '../../helpers/spec.js';

/** A sweep document with this `resources:` mapping (flow style, on line 2). */
const documentWith = (resources: string) => `command: t\nresources: ${resources}\nparameters: {x: 1}\n`;

const normalised: { resources: string; expected: Resources }[] = [
  { resources: '{}', expected: {} },
  { resources: '{gpus: 2}', expected: { gpus: 2 } },
  { resources: '{gpus: 0}', expected: { gpus: 0 } },
  { resources: '{gpu_memory: 10GiB}', expected: { gpuMemoryMb: 10737 } },
  { resources: '{gpu_memory: 8000, gpu_share: true}', expected: { gpuMemoryMb: 8000, gpuShare: true } },
  { resources: '{gpu_share: false}', expected: {} },
  { resources: '{gpu_utilization: 0.75}', expected: { gpuUtilization: 0.75 } },
  { resources: '{gpu_utilization: 75%}', expected: { gpuUtilization: 0.75 } },
  { resources: '{gpu_utilization: "12.5%"}', expected: { gpuUtilization: 0.125 } },
  { resources: '{gpu_utilization: 100%}', expected: { gpuUtilization: 1 } },
  { resources: '{gpu_utilization: 1}', expected: { gpuUtilization: 1 } },
  { resources: '{cpus: 0.5}', expected: { cpus: 0.5 } },
  { resources: '{memory: 16GB}', expected: { memoryMb: 16000 } },
  { resources: '{reserve: host}', expected: { reserveHost: true } },
  { resources: '{labels: {gpu_model: A100, nvlink: 4}}', expected: { labels: { gpu_model: 'A100', nvlink: '4' } } },
  { resources: '{labels: {}}', expected: {} },
];

for (const { resources, expected } of normalised) {
  test(`resources: ${resources} normalises`, () => {
    assert.deepEqual(specOf(documentWith(resources), {}).resources, expected);
  });
}

test('normalised resources have a fixed key order, whatever the file order', () => {
  const spec = specOf(
    documentWith(
      '{labels: {zone: eu}, reserve: host, memory: 1GB, cpus: 2, gpu_utilization: 50%, gpu_memory: 2GB, gpus: 1}',
    ),
    {},
  );
  assert.equal(
    JSON.stringify(spec.resources),
    '{"gpus":1,"gpuMemoryMb":2000,"gpuUtilization":0.5,"cpus":2,"memoryMb":1000,"reserveHost":true,"labels":{"zone":"eu"}}',
  );
  const shared = specOf(documentWith('{gpu_share: true, gpu_memory: 2GB, gpus: 1}'), {});
  assert.deepEqual(Object.keys(shared.resources), ['gpus', 'gpuMemoryMb', 'gpuShare']);
});

const invalid: { name: string; resources: string; overrides?: SpecOverrides; problems: string[] }[] = [
  {
    name: 'gpu_share without gpu_memory',
    resources: '{gpu_share: true}',
    problems: [
      'parameters.yml:2:24 resources.gpu_share: needs gpu_memory (or --gpu-memory): how much each trial takes, so that packing knows when a GPU is full',
    ],
  },
  {
    name: 'gpus: 0 with each GPU key',
    resources: '{gpus: 0, gpu_memory: 10GiB, gpu_share: true, gpu_utilization: 0.5}',
    problems: [
      'parameters.yml:2:34 resources.gpu_memory: not with gpus: 0, which asks for no GPU',
      'parameters.yml:2:52 resources.gpu_share: not with gpus: 0, which asks for no GPU',
      'parameters.yml:2:75 resources.gpu_utilization: not with gpus: 0, which asks for no GPU',
    ],
  },
  {
    name: 'reserve: host with gpu_share',
    resources: '{gpu_memory: 1GB, gpu_share: true, reserve: host}',
    problems: [
      'parameters.yml:2:41 resources.gpu_share: not with reserve: host, which keeps the whole host to one trial',
    ],
  },
  {
    name: 'misspelt resource keys',
    resources: '{gpu_memroy: 10GiB, labls: {a: b}}',
    problems: [
      'parameters.yml:2:13 resources.gpu_memroy: unknown key; did you mean "gpu_memory"?',
      'parameters.yml:2:32 resources.labls: unknown key; did you mean "labels"?',
    ],
  },
  {
    name: 'values out of range',
    resources: '{gpus: 1.5, gpu_utilization: 150%, cpus: 0, reserve: gpu}',
    problems: [
      'parameters.yml:2:19 resources.gpus: expected a whole number, got 1.5',
      'parameters.yml:2:41 resources.gpu_utilization: expected a fraction 0 < x <= 1 or a percentage like 75%, got "150%"',
      'parameters.yml:2:53 resources.cpus: must be > 0, got 0',
      'parameters.yml:2:65 resources.reserve: expected one of: host, got "gpu"',
    ],
  },
  {
    name: 'negative GPUs and a zero utilisation',
    resources: '{gpus: -1, gpu_utilization: 0}',
    problems: [
      'parameters.yml:2:19 resources.gpus: must be >= 0, got -1',
      'parameters.yml:2:40 resources.gpu_utilization: expected a fraction 0 < x <= 1 or a percentage like 75%, got 0',
    ],
  },
  {
    name: 'a label that is neither string nor number',
    resources: '{labels: {gpu_model: [A100]}}',
    problems: ['parameters.yml:2:33 resources.labels.gpu_model: expected a string or a number, got a list of 1'],
  },
  {
    name: 'a bad label name',
    resources: '{labels: {9gpu: A100, ok: 1}}',
    problems: [
      'parameters.yml:2:22 resources.labels.9gpu: not a valid label name: expected a letter, then up to 62 letters, digits, "_", "." or "-"',
    ],
  },
  {
    name: 'a flag conflicting with the file is located at the file key',
    resources: '{gpu_memory: 10GiB}',
    overrides: { resources: { gpus: 0 } },
    problems: ['parameters.yml:2:25 resources.gpu_memory: not with --gpus 0, which asks for no GPU'],
  },
  {
    name: 'a flag that conflicts is named',
    resources: '{gpus: 0}',
    overrides: { resources: { gpuUtilization: 0.5 } },
    problems: ['parameters.yml: --gpu-utilization: not with gpus: 0, which asks for no GPU'],
  },
  {
    name: 'two flags in conflict',
    resources: '{}',
    overrides: { resources: { gpuMemoryMb: 1000, gpuShare: true, reserveHost: true } },
    problems: ['parameters.yml: --gpu-share: not with --reserve-host, which keeps the whole host to one trial'],
  },
  {
    name: '--gpu-share without any GPU memory figure',
    resources: '{gpus: 1}',
    overrides: { resources: { gpuShare: true } },
    problems: [
      'parameters.yml: --gpu-share: needs gpu_memory (or --gpu-memory): how much each trial takes, so that packing knows when a GPU is full',
    ],
  },
  {
    name: 'a malformed resources: is reported alone, not with rules on what the flags say',
    resources: '{gpu_memory: lots}',
    overrides: { resources: { gpuShare: true } },
    problems: ['parameters.yml:2:25 resources.gpu_memory: expected a size like 16GiB, 512MB or 8000 (MB), got "lots"'],
  },
];

for (const { name, resources, overrides = {}, problems } of invalid) {
  test(`resources error: ${name}`, () => {
    assert.deepEqual(problemsOf(documentWith(resources), overrides), problems);
  });
}

test('flags replace the fields they give, one by one; labels label by label', () => {
  const spec = specOf(
    documentWith('{gpus: 1, gpu_memory: 10GiB, cpus: 4, memory: 16GB, labels: {gpu_model: A100, zone: eu}}'),
    { resources: { gpus: 2, memoryMb: 32000, gpuShare: true, gpuUtilization: 0.75, labels: { gpu_model: 'H100' } } },
  );
  assert.deepEqual(spec.resources, {
    gpus: 2,
    gpuMemoryMb: 10737,
    gpuShare: true,
    gpuUtilization: 0.75,
    cpus: 4,
    memoryMb: 32000,
    labels: { gpu_model: 'H100', zone: 'eu' },
  });
});

test("a flag may settle the file's own conflict: the rules apply to the merged result", () => {
  const spec = specOf(documentWith('{gpus: 0, gpu_memory: 10GiB}'), { resources: { gpus: 1 } });
  assert.deepEqual(spec.resources, { gpus: 1, gpuMemoryMb: 10737 });
});

test('a bare mapping of parameters takes its resources from the flags alone', () => {
  const spec = specOf('x: [1, 2]', { command: ['t'], resources: { gpus: 0, cpus: 2, reserveHost: true } });
  assert.deepEqual(spec.resources, { gpus: 0, cpus: 2, reserveHost: true });
});
