// Which file a `module:Class` comes from, and its version: the sha256 of that file. `sweep start` finds it under
// the sweep's project directory; a worker asks Python which file it imported. Same bytes, same version, so a
// changed class never receives trials meant for the old one.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { SweepSpec } from '../sweep-spec/spec-types.js';

export function fileVersion(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
}

/** `lab.models:Trainer` under `/proj`: `/proj/lab/models.py` or `/proj/lab/models/__init__.py`. */
export function classModuleFile(ref: string, root: string): string | undefined {
  const parts = (ref.split(':')[0] ?? '').split('.');
  return [join(root, ...parts) + '.py', join(root, ...parts, '__init__.py')].find((file) => existsSync(file));
}

/**
 * The spec with its worker class's version, read from its project directory (its `workdir`, relative to where the
 * sweep starts); a command sweep, or one already pinned, as it is.
 */
export function withClassVersion(spec: SweepSpec, startDir: string): SweepSpec {
  const workerClass = spec.workerClass;
  if (!workerClass || workerClass.version) return spec;
  const projectDir = resolve(startDir, spec.workdir ?? '.');
  const file = classModuleFile(workerClass.ref, projectDir);
  if (!file) {
    const module = workerClass.ref.split(':')[0] ?? '';
    const path = module.replaceAll('.', '/');
    throw new ConfigError([
      `worker_class ${workerClass.ref}: no ${path}.py or ${path}/__init__.py under ${projectDir}: start the sweep from the project directory the workers run (or set workdir:)`,
    ]);
  }
  return { ...spec, workerClass: { ...workerClass, version: fileVersion(file) } };
}
