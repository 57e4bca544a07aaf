import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  describeSelection,
  selectProjectFiles,
  type ProjectFile,
  type ProjectFileRules,
} from '../../../src/hosts/project-files.js';
import { thrownProblems } from '../../helpers/config-error.js';
import { tempDir } from '../../helpers/temporal.js';

/** Paths ending in `/` are empty directories; the others files with the given content. */
function makeTree(files: Readonly<Record<string, string>>): string {
  const root = tempDir('project-files');
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith('/')) {
      mkdirSync(join(root, path), { recursive: true });
    } else {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
  }
  return root;
}

interface SelectionCase {
  readonly name: string;
  readonly tree: Readonly<Record<string, string>>;
  readonly rules?: ProjectFileRules;
  readonly expected: readonly string[];
}

const cases: readonly SelectionCase[] = [
  {
    name: 'defaults: VCS data, Sweep state, results, bytecode and environments stay home, at any depth',
    tree: {
      'train.py': '',
      '.sweepignore': '',
      '.git/config': '',
      '.git/objects/ab/cd': '',
      '.sweep/state.json': '',
      'job_results/a/out.txt': '',
      'nested/job_results/r.txt': '',
      'src/m.py': '',
      'src/old.pyc': '',
      'src/__pycache__/m.cpython-311.pyc': '',
      '.venv/bin/python': '',
      'web/node_modules/x/index.js': '',
      'empty/': '',
    },
    expected: ['.sweepignore', 'src/m.py', 'train.py'],
  },
  {
    name: 'a leading or middle / anchors to the root; a bare name matches at any depth, files and directories',
    tree: {
      '.sweepignore': '/data\nlogs\nsub/tmp\n',
      'data/x': '',
      'src/data/y': '',
      logs: '',
      'src/logs/z': '',
      'sub/tmp/a': '',
      'other/sub/tmp/b': '',
    },
    expected: ['.sweepignore', 'other/sub/tmp/b', 'src/data/y'],
  },
  {
    name: 'a trailing / matches directories only',
    tree: { '.sweepignore': 'build/\n', 'build/out.o': '', 'src/build': '', 'lib/build/x': '' },
    expected: ['.sweepignore', 'src/build'],
  },
  {
    name: 'blank lines, comments, trailing spaces and escapes',
    tree: {
      '.sweepignore': '\n# a comment\n  \n\\#hash\n\\!bang\nspaced   \nkept\\ \r\n',
      '#hash': '',
      '!bang': '',
      spaced: '',
      'kept ': '',
      '# a comment': '',
    },
    expected: ['# a comment', '.sweepignore'],
  },
  {
    name: '! re-includes and the last matching rule wins, but not inside an excluded directory (as in git)',
    tree: {
      '.sweepignore': '*.log\n!keep.log\ncache/\n!cache/keep.txt\nlate.txt\n!late.txt\nlate.txt\n',
      'a.log': '',
      'keep.log': '',
      'sub/keep.log': '',
      'sub/b.log': '',
      'cache/keep.txt': '',
      'late.txt': '',
    },
    expected: ['.sweepignore', 'keep.log', 'sub/keep.log'],
  },
  {
    name: '**/x at any depth, x/** inside x (not x, so ! reaches in), a/**/b with zero or more directories between',
    tree: {
      '.sweepignore': '**/tmp\nout/**\n!out/keep\na/**/b\n',
      'out/keep': '',
      tmp: '',
      'x/y/tmp': '',
      'x/tmpfile': '',
      'out/1': '',
      'out/d/2': '',
      'a/b': '',
      'a/x/y/b': '',
      'a/c': '',
      ab: '',
    },
    expected: ['.sweepignore', 'a/c', 'ab', 'out/keep', 'x/tmpfile'],
  },
  {
    name: '* and ? stay within a segment; [abc], [a-z] and [!x] classes',
    tree: {
      '.sweepignore': 'run?.txt\n[ab]*.csv\n[!x]y\nd*/f\n[0-9]\n',
      'run1.txt': '',
      'run10.txt': '',
      'a1.csv': '',
      'b.csv': '',
      'c.csv': '',
      xy: '',
      zy: '',
      'dir/f': '',
      'dir/sub/f': '',
      '7': '',
    },
    expected: ['.sweepignore', 'c.csv', 'dir/sub/f', 'run10.txt', 'xy'],
  },
  {
    name: 'a nested .sweepignore is anchored to its directory and wins over the root one',
    tree: {
      '.sweepignore': '*.tmp\n',
      'sub/.sweepignore': '!keep.tmp\n/local\n',
      'a.tmp': '',
      'keep.tmp': '',
      'sub/keep.tmp': '',
      'sub/x.tmp': '',
      'sub/local/f': '',
      'sub/deeper/local/g': '',
      'local/h': '',
    },
    expected: ['.sweepignore', 'local/h', 'sub/.sweepignore', 'sub/deeper/local/g', 'sub/keep.tmp'],
  },
  {
    name: 'hosts.yml exclude comes after the defaults and before .sweepignore',
    tree: { '.sweepignore': '!model.bin\n', 'model.bin': '', 'other.bin': '', 'job_results/r': '' },
    rules: { exclude: ['*.bin', '!job_results/'] },
    expected: ['.sweepignore', 'job_results/r', 'model.bin'],
  },
  {
    name: 'an include with a path opens excluded directories on it, and only what it matches comes through',
    tree: {
      'job_results/baseline/m.json': '',
      'job_results/baseline/sub/n.json': '',
      'job_results/other/o.json': '',
      '.git/config': '',
      '.git/HEAD': '',
      '.git/hooks/pre-commit': '',
      'main.py': '',
    },
    rules: { include: ['job_results/baseline/**', '.git/config'] },
    expected: ['.git/config', 'job_results/baseline/m.json', 'job_results/baseline/sub/n.json', 'main.py'],
  },
  {
    name: 'an include that matches an excluded directory itself syncs it like any other, rules included',
    tree: {
      'job_results/baseline/m.json': '',
      'job_results/baseline/m.pyc': '',
      'job_results/other/o.json': '',
    },
    rules: { include: ['job_results/baseline/'] },
    expected: ['job_results/baseline/m.json'],
  },
  {
    name: 'includes win over exclude and .sweepignore; one without a path does not open excluded directories',
    tree: {
      '.sweepignore': '*.json\ndata/\n',
      'config.json': '',
      'node_modules/p/package.json': '',
      'data/keep.csv': '',
      'data/drop.csv': '',
      'notes.txt': '',
    },
    rules: { exclude: ['notes.txt'], include: ['*.json', '**/keep.csv', 'notes.txt'] },
    expected: ['.sweepignore', 'config.json', 'notes.txt'],
  },
];

for (const { name, tree, rules, expected } of cases) {
  test(`selectProjectFiles: ${name}`, () => {
    const root = makeTree(tree);
    assert.deepEqual(
      selectProjectFiles(root, rules).map((file) => file.path),
      expected,
    );
  });
}

test('selectProjectFiles: sorted by path, with sizes, permission bits and the hashes sha256sum prints', () => {
  const root = makeTree({ 'b.txt': 'bee\n', 'a/z.txt': 'zed', 'a.txt': '', 'A.txt': 'upper', 'run.sh': '#!/bin/sh\n' });
  for (const path of ['A.txt', 'a.txt', 'a/z.txt']) chmodSync(join(root, path), 0o644);
  chmodSync(join(root, 'run.sh'), 0o755);
  chmodSync(join(root, 'b.txt'), 0o600);
  const files = selectProjectFiles(root);
  const paths = ['A.txt', 'a.txt', 'a/z.txt', 'b.txt', 'run.sh'];
  assert.deepEqual(
    files.map((file) => file.path),
    paths,
  );
  const sums = execFileSync('sha256sum', paths, { cwd: root, encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.split('  ')[0]);
  assert.deepEqual(
    files.map((file) => file.sha256),
    sums,
  );
  assert.equal(files[0]?.sha256.length, 64);
  assert.deepEqual(
    files.map((file) => [file.size, file.mode]),
    [
      [5, 0o644],
      [0, 0o644],
      [3, 0o644],
      [4, 0o600],
      [10, 0o755],
    ],
  );
});

test('selectProjectFiles: a link to a file inside is synced as that file; other links and special files are not', () => {
  const outside = makeTree({ 'secret.txt': 'outside' });
  const root = makeTree({ 'real/data.txt': 'inside\n', 'dir/f': '' });
  chmodSync(join(root, 'real/data.txt'), 0o640);
  chmodSync(join(root, 'dir/f'), 0o644);
  symlinkSync('real/data.txt', join(root, 'link.txt'));
  symlinkSync('link.txt', join(root, 'link-to-link.txt'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'outside.txt'));
  symlinkSync('dir', join(root, 'dir-link'));
  symlinkSync('.', join(root, 'dir/loop'));
  symlinkSync('missing', join(root, 'broken'));
  symlinkSync('self', join(root, 'self'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  const files = selectProjectFiles(root);
  const data: Omit<ProjectFile, 'path'> = {
    size: 7,
    mode: 0o640,
    sha256: execFileSync('sha256sum', ['real/data.txt'], { cwd: root, encoding: 'utf8' }).slice(0, 64),
  };
  assert.deepEqual(files, [
    { path: 'dir/f', size: 0, mode: 0o644, sha256: files[0]?.sha256 },
    { path: 'link-to-link.txt', ...data },
    { path: 'link.txt', ...data },
    { path: 'real/data.txt', ...data },
  ]);
});

test('selectProjectFiles: a link is matched by its own path, not its target', () => {
  const root = makeTree({ 'data/big.bin': 'x', '.sweepignore': 'data/\n' });
  symlinkSync('data/big.bin', join(root, 'model.bin'));
  assert.deepEqual(
    selectProjectFiles(root).map((file) => file.path),
    ['.sweepignore', 'model.bin'],
  );
});

test('selectProjectFiles: a bad root or include is a ConfigError naming it', () => {
  const root = makeTree({ 'a.txt': '' });
  assert.deepEqual(
    thrownProblems(() => selectProjectFiles(join(root, 'missing'))),
    [`${join(root, 'missing')}: cannot read the project directory (ENOENT)`],
  );
  assert.deepEqual(
    thrownProblems(() => selectProjectFiles(join(root, 'a.txt'))),
    [`${join(root, 'a.txt')}: the project directory is not a directory`],
  );
  assert.deepEqual(
    thrownProblems(() => selectProjectFiles(root, { include: ['ok', '!x'] })),
    ['include[1]: "!x" cannot start with "!": put the pattern in exclude instead'],
  );
});

/** The problems selectProjectFiles reports for `root`, seen as a user without root's right to read anything. */
function unprivilegedProblems(root: string): readonly string[] {
  if (process.getuid?.() !== 0) return thrownProblems(() => selectProjectFiles(root));
  // Root reads whatever the permission bits say: run the selection as nobody, which cannot.
  chmodSync(root, 0o755);
  const module = new URL('../../../src/hosts/project-files.ts', import.meta.url).href;
  const script =
    `const { selectProjectFiles } = await import(${JSON.stringify(module)});` +
    `try { selectProjectFiles(${JSON.stringify(root)}); console.log('[]'); }` +
    'catch (error) { console.log(JSON.stringify(error.problems ?? [String(error)])); }';
  const child = spawnSync(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8', cwd: fileURLToPath(new URL('../../..', import.meta.url)) },
  );
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as string[];
}

test('selectProjectFiles: every unreadable file and directory, .sweepignore included, in one ConfigError', () => {
  const root = makeTree({ 'secret.txt': 'x', 'locked/f': '', 'sub/.sweepignore': '', 'ok.txt': '' });
  for (const path of ['secret.txt', 'locked', 'sub/.sweepignore']) chmodSync(join(root, path), 0);
  const real = realpathSync(root);
  assert.deepEqual(unprivilegedProblems(root), [
    `${real}/locked: cannot read the directory (EACCES)`,
    `${real}/secret.txt: cannot read the file (EACCES)`,
    `${real}/sub/.sweepignore: cannot read the file (EACCES)`,
  ]);
});

const descriptions: readonly (readonly [readonly number[], string])[] = [
  [[], '0 files, 0 B'],
  [[12], '1 file, 12 B'],
  [[999], '1 file, 999 B'],
  [[1000], '1 file, 1.0 kB'],
  [[99_949], '1 file, 99.9 kB'],
  [[99_950], '1 file, 100 kB'],
  [[999_499], '1 file, 999 kB'],
  [[999_500], '1 file, 1.0 MB'],
  [[...Array<number>(41).fill(30_000), 70_000], '42 files, 1.3 MB'],
  [[2_500_000_000], '1 file, 2.5 GB'],
  [[5_000_000_000_000_000], '1 file, 5000 TB'],
];

for (const [sizes, expected] of descriptions) {
  test(`describeSelection: sizes [${sizes.length > 3 ? `${sizes.length} sizes` : sizes.join(', ')}] → ${expected}`, () => {
    const files = sizes.map((size, index) => ({ path: `f${index}`, size, mode: 0o644, sha256: '' }));
    assert.equal(describeSelection(files), expected);
  });
}
