// The README's two commands (`npm run example`, `npm test`) start here on a fresh clone: install the
// locked dependencies when they are missing or stale, then run the task with tsx. Plain JS: nothing is
// installed yet when it runs.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const tasks = {
  test: 'scripts/run-tests.ts',
  check: 'scripts/check.ts',
  example: 'scripts/example.ts',
  bench: 'bench/run.ts',
};
const [task, ...args] = process.argv.slice(2);
if (!(task in tasks)) {
  process.stderr.write(`bootstrap: unknown task ${task}; expected one of ${Object.keys(tasks).join(', ')}\n`);
  process.exit(2);
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 9)) {
  process.stderr.write(`Sweep needs Node.js 20.9 or newer; this is ${process.version}.\n`);
  process.exit(2);
}

const lockHash = createHash('sha256').update(readFileSync('package-lock.json')).digest('hex');
const stamp = 'node_modules/.sweep-lock-hash';
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
  // `npm install` rather than `npm ci`: with a lock file it installs the locked versions too, and it tolerates
  // registries that carry only this platform's optional binaries (the lock then lists no others, which `npm ci`
  // rejects as out of sync). `--no-save` because it is an install, not an edit: without it npm writes into the
  // lock every optional platform package (@swc/core-*, @unrs/resolver-binding-*) the registry has and the lock
  // lacks, and a fresh clone is dirty after its first command. Changing dependencies stays `npm install <pkg>`.
  process.stderr.write('Installing dependencies (npm install)…\n');
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save'], { stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
  writeFileSync(stamp, lockHash);
}

const child = spawn(process.execPath, ['--import', 'tsx', tasks[task], ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
