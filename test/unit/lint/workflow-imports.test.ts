import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// The project's own config, globs and ban. Type information is off, so that files that do not exist can be linted
// without a type-checked program, and so is import-x/no-cycle, which would parse every package a probe names.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [
    { files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked },
    { files: ['**/*.ts'], rules: { 'import-x/no-cycle': 'off' } },
  ],
});

const WORKFLOW = 'src/workflows/lint-probe.ts';
const PURE_SPEC = 'src/sweep-spec/lint-probe.ts';
const LOADER = 'src/sweep-spec/load-probe.ts';

/** The no-restricted-imports messages for `code` as if it were the file at `filePath`. */
async function restricted(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result, 'no lint result');
  const fatal = result.messages.filter((message) => message.fatal);
  assert.deepEqual(fatal, [], `${filePath} did not parse`);
  return result.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const forbidden: { code: string; in?: string }[] = [
  { code: "import { readFileSync } from 'fs';" },
  { code: "import { readFileSync } from 'node:fs';" },
  { code: "import { readFile } from 'fs/promises';" },
  { code: "import { setTimeout } from 'node:timers/promises';" },
  { code: "import { randomUUID } from 'crypto';" },
  { code: "import { test } from 'node:test';" },
  { code: "import type { Stats } from 'node:fs';" },
  { code: "import { Context } from '@temporalio/activity';" },
  { code: "import { Client } from '@temporalio/client';" },
  { code: "import { Worker } from '@temporalio/worker';" },
  { code: "import { bundleWorkflowCode } from '@temporalio/worker/lib/bundler';" },
  { code: "import { TestWorkflowEnvironment } from '@temporalio/testing';" },
  { code: "import yaml from 'js-yaml';" },
  { code: "import { Client } from 'ssh2';" },
  { code: "import { Command } from 'commander';" },
  { code: "import { printJson } from '../cli/output.js';" },
  { code: "import { createTrialActivities } from '../activities/run-trial.js';" },
  { code: "import { type RunTrialDeps, createTrialActivities } from '../activities/run-trial.js';" },
  { code: "import { connectionOptions } from '../temporal/connection-config.js';" },
  { code: "import { ConfigError } from '../errors.js';" },
  { code: "import { startDevServer } from '../server/dev-server.js';" },
  { code: "import { lock } from '../host/exclusive-lock.js';" },
  { code: "import { helper } from '../../test/helpers/spec.js';" },
  { code: "import { loadYaml } from '../sweep-spec/load-yaml.js';" },
  { code: "import { parseSpec } from '../sweep-spec/load-spec.js';" },
  { code: "export { parseSpec } from '../sweep-spec/load-spec.js';" },
  { code: "import { loadYaml } from './load-yaml.js';", in: PURE_SPEC },
  { code: "import { readFileSync } from 'node:fs';", in: PURE_SPEC },
  { code: "import { printJson } from '../cli/output.js';", in: PURE_SPEC },
];

for (const { code, in: filePath = WORKFLOW } of forbidden) {
  test(`lint: ${code} fails in ${filePath}`, async () => {
    const messages = await restricted(code, filePath);
    assert.equal(messages.length, 1, messages.join('\n'));
  });
}

const pureSpecModules = readdirSync(`${root}src/sweep-spec`).filter(
  (name) => name.endsWith('.ts') && !name.startsWith('load-'),
);

const allowed: { code: string; in?: string }[] = [
  { code: "import { proxyActivities, sleep } from '@temporalio/workflow';" },
  { code: "import { ApplicationFailure } from '@temporalio/common';" },
  { code: "import type { createTrialActivities } from '../activities/run-trial.js';" },
  { code: "import { type createTrialActivities } from '../activities/run-trial.js';" },
  { code: "import type { Context } from '@temporalio/activity';" },
  { code: "import type { SpecResult } from '../sweep-spec/load-spec.js';" },
  { code: "import { poolQueue } from '../temporal/names.js';" },
  { code: "import { trialStateKey } from '../temporal/search-attributes.js';" },
  { code: "import { sweepUpdateSignal } from './messages.js';" },
  ...pureSpecModules.map((name) => ({ code: `import * as m from '../sweep-spec/${name.replace(/\.ts$/, '.js')}';` })),
  { code: "import { round12 } from './number-format.js';", in: PURE_SPEC },
  { code: "import { z } from 'zod';", in: PURE_SPEC },
  { code: "import yaml from 'js-yaml';\nimport { readFileSync } from 'node:fs';", in: LOADER },
];

for (const { code, in: filePath = WORKFLOW } of allowed) {
  test(`lint: ${code} passes in ${filePath}`, async () => {
    assert.deepEqual(await restricted(code, filePath), []);
  });
}

test('lint: the pure sweep-spec modules are the ones found', () => {
  assert.ok(
    pureSpecModules.includes('render.ts') && pureSpecModules.includes('spec-schema.ts'),
    pureSpecModules.join(', '),
  );
});
