// Which of the user's project files `sweep hosts up/sync` copies to each host, with their hashes so that only
// changed files travel. Patterns follow gitignore(5), matched by a small matcher of our own:
// - blank lines and `#` comments are ignored, trailing spaces are dropped unless escaped (`\ `), `\` escapes a
//   character (`\#x`, `\!x`);
// - `!pattern` re-includes; the last matching rule wins;
// - a trailing `/` matches directories only;
// - a `/` at the start or in the middle anchors the pattern to its base (the root, or the directory of the
//   `.sweepignore` it came from); otherwise it matches at any depth;
// - `*` and `?` do not cross `/`, `[abc]`, `[a-z]` and `[!abc]` are classes; `**/x` matches at any depth, `x/**`
//   everything inside x (not x itself), `a/**/b` zero or more directories between.
// Rules apply in this order: DEFAULT_EXCLUDES, hosts.yml `exclude`, the `.sweepignore` files from the root down
// (a deeper one wins over the root's), then hosts.yml `include`, which re-include whatever they match.
//
// As in git, an excluded directory is not descended into, so a `!` rule for something inside it does nothing.
// `include` is the way in: an include pattern that names a path from the root (a `/` before its end, and not
// starting with `**`: `job_results/baseline/**`, `.git/config`) opens each excluded directory on that path;
// inside an excluded directory only what an include matches is synced, and a directory an include matches itself
// (`job_results/baseline/`) is synced like any other. An include without such a path (`*.ckpt`, `**/x`)
// re-includes only where the walk goes anyway: otherwise it would open every node_modules and .git in the tree.
//
// Symlinks are not followed as directories (which also rules out cycles): a link to a regular file inside the
// root is synced under the link's own path with the target's content and mode; a link to a directory, to
// anything outside the root, or that is broken is skipped, as are sockets, fifos and devices. Where a link's
// path is matched against the rules, it is the link's path, not the target's.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ConfigError } from '../errors.js';
import { formatBytes } from './byte-size.js';

export interface ProjectFile {
  /** Relative to the project root, `/`-separated. */
  readonly path: string;
  /** Bytes, of the content hashed. */
  readonly size: number;
  /** Permission bits (`mode & 0o777`), so an executable script stays executable on the host. */
  readonly mode: number;
  /** Hex sha256 of the content, as `sha256sum` prints it. */
  readonly sha256: string;
}

/** hosts.yml's `exclude` and `include`: gitignore patterns relative to the project root. */
export interface ProjectFileRules {
  readonly exclude?: readonly string[];
  readonly include?: readonly string[];
}

/** Excluded before any other rule; an `include` can still bring any of them back. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  // Version-control data: often larger than the project, and the host's own checkout (if any) is its business.
  '.git/',
  // Sweep's local state belongs to this machine.
  '.sweep/',
  // Results come back from the hosts: large, and sending them out again could overwrite a host's newer ones.
  'job_results/',
  // Bytecode is rebuilt on the host for its own interpreter.
  '__pycache__/',
  '*.pyc',
  // Environments hold platform-specific binaries and absolute paths: each host builds its own.
  '.venv/',
  'node_modules/',
];

/** Per-directory ignore files; synced themselves, which is harmless and shows on the host why files are missing. */
const IGNORE_FILE = '.sweepignore';

interface Rule {
  /** Directory the pattern is relative to: '' for the root. */
  readonly base: string;
  /** Glob per path segment; `**` as a whole segment spans any number of them. */
  readonly segments: readonly string[];
  readonly negated: boolean;
  readonly dirOnly: boolean;
}

function parseRule(line: string, base: string): Rule | undefined {
  let text = line.replace(/\r$/, '').replace(/(?<!\\) +$/, '');
  if (text === '' || text.startsWith('#')) return undefined;
  const negated = text.startsWith('!');
  if (negated) text = text.slice(1);
  const dirOnly = text.endsWith('/');
  text = text.replace(/\/+$/, '');
  const anchored = text.includes('/');
  const segments = text.split('/').filter((segment) => segment !== '');
  if (segments.length === 0) return undefined;
  if (!anchored) segments.unshift('**');
  // `**/**` means no more than `**`, and collapsing it keeps matching linear in the common cases.
  const collapsed = segments.filter((segment, index) => segment !== '**' || segments[index - 1] !== '**');
  return { base, segments: collapsed, negated, dirOnly };
}

function parseRules(lines: readonly string[], base: string): Rule[] {
  return lines.flatMap((line) => parseRule(line, base) ?? []);
}

const segmentRegexes = new Map<string, RegExp>();

function segmentRegex(glob: string): RegExp {
  const cached = segmentRegexes.get(glob);
  if (cached) return cached;
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob.charAt(index);
    if (char === '\\' && index + 1 < glob.length) {
      source += escapeRegex(glob.charAt(++index));
    } else if (char === '*') {
      while (glob.charAt(index + 1) === '*') index++;
      source += '.*';
    } else if (char === '?') {
      source += '.';
    } else if (char === '[') {
      const parsed = parseClass(glob, index);
      if (parsed) {
        source += parsed.source;
        index = parsed.end;
      } else {
        source += '\\[';
      }
    } else {
      source += escapeRegex(char);
    }
  }
  const regex = new RegExp(`^${source}$`, 's');
  segmentRegexes.set(glob, regex);
  return regex;
}

function escapeRegex(char: string): string {
  return /[.*+?^${}()|[\]\\]/.test(char) ? `\\${char}` : char;
}

/**
 * `[...]` starting at `start`, or undefined when it has no closing `]` or is not a valid class (`[z-a]`): then
 * `[` is a literal character, as in git.
 */
function parseClass(glob: string, start: number): { source: string; end: number } | undefined {
  let index = start + 1;
  const negated = glob.charAt(index) === '!' || glob.charAt(index) === '^';
  if (negated) index++;
  let body = '';
  // A `]` straight after the opening (or `[!`) is a member, not the end.
  for (let first = true; index < glob.length; index++, first = false) {
    let char = glob.charAt(index);
    if (char === ']' && !first) {
      const source = `[${negated ? '^' : ''}${body}]`;
      try {
        new RegExp(source);
      } catch {
        return undefined;
      }
      return { source, end: index };
    }
    if (char === '-') {
      body += '-';
      continue;
    }
    if (char === '\\' && index + 1 < glob.length) char = glob.charAt(++index);
    body += /[\]\\^[-]/.test(char) ? `\\${char}` : char;
  }
  return undefined;
}

function matchSegments(pattern: readonly string[], pi: number, path: readonly string[], si: number): boolean {
  const segment = pattern[pi];
  if (segment === undefined) return si === path.length;
  if (segment === '**') {
    // A trailing `**` needs at least one segment: `x/**` is what is inside x, not x.
    if (pi === pattern.length - 1) return si < path.length;
    for (let next = si; next <= path.length; next++) if (matchSegments(pattern, pi + 1, path, next)) return true;
    return false;
  }
  const name = path[si];
  return name !== undefined && segmentRegex(segment).test(name) && matchSegments(pattern, pi + 1, path, si + 1);
}

function ruleMatches(rule: Rule, path: string, isDir: boolean): boolean {
  if (rule.dirOnly && !isDir) return false;
  if (rule.base !== '' && !path.startsWith(`${rule.base}/`)) return false;
  const relativePath = rule.base === '' ? path : path.slice(rule.base.length + 1);
  return matchSegments(rule.segments, 0, relativePath.split('/'), 0);
}

/** Whether something strictly inside `dir` could match the include `rule`: the walk must open `dir` for it. */
function couldMatchBelow(rule: Rule, dir: readonly string[]): boolean {
  if (rule.segments[0] === '**') return false;
  for (let index = 0; index < dir.length; index++) {
    const segment = rule.segments[index];
    const name = dir[index];
    if (segment === undefined || name === undefined) return false;
    if (segment === '**') return true;
    if (!segmentRegex(segment).test(name)) return false;
  }
  return rule.segments.length > dir.length;
}

function isExcluded(rules: readonly Rule[], path: string, isDir: boolean): boolean {
  for (let index = rules.length - 1; index >= 0; index--) {
    const rule = rules[index];
    if (rule && ruleMatches(rule, path, isDir)) return !rule.negated;
  }
  return false;
}

type Entry =
  | { readonly name: string; readonly path: string; readonly kind: 'dir' }
  | {
      readonly name: string;
      readonly path: string;
      readonly kind: 'file';
      readonly source: string;
      readonly stats: Stats;
    };

function errorCode(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : String(error);
}

/**
 * The files under `root` that a host gets, sorted by path (code-unit order, the same on every machine).
 * Throws a ConfigError listing every path that could not be read, or when `root` is not a directory or an
 * `include` pattern starts with `!`.
 */
export function selectProjectFiles(root: string, rules: ProjectFileRules = {}): ProjectFile[] {
  const problems: string[] = [];
  (rules.include ?? []).forEach((pattern, index) => {
    if (pattern.startsWith('!'))
      problems.push(`include[${index}]: "${pattern}" cannot start with "!": put the pattern in exclude instead`);
  });
  let realRoot = root;
  try {
    realRoot = realpathSync(root);
    if (!statSync(realRoot).isDirectory()) problems.push(`${root}: the project directory is not a directory`);
  } catch (error) {
    problems.push(`${root}: cannot read the project directory (${errorCode(error)})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const excludes = [...parseRules(DEFAULT_EXCLUDES, ''), ...parseRules(rules.exclude ?? [], '')];
  const includes = parseRules(rules.include ?? [], '').map((rule) => ({ ...rule, negated: true }));
  const files: ProjectFile[] = [];

  const insideRoot = (target: string): boolean => {
    const fromRoot = relative(realRoot, target);
    return fromRoot !== '' && fromRoot !== '..' && !fromRoot.startsWith(`..${sep}`) && !isAbsolute(fromRoot);
  };

  const entryOf = (dir: string, name: string): Entry | undefined => {
    const path = dir === '' ? name : `${dir}/${name}`;
    const absolute = join(realRoot, path);
    try {
      const stats = lstatSync(absolute);
      if (stats.isDirectory()) return { name, path, kind: 'dir' };
      if (stats.isFile()) return { name, path, kind: 'file', source: absolute, stats };
      if (!stats.isSymbolicLink()) return undefined;
      const target = realpathSync(absolute);
      const targetStats = statSync(target);
      return insideRoot(target) && targetStats.isFile()
        ? { name, path, kind: 'file', source: target, stats: targetStats }
        : undefined;
    } catch (error) {
      // Gone since the directory was listed, or a broken or looping link: nothing to sync.
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ELOOP') return undefined;
      problems.push(`${absolute}: cannot read it (${errorCode(error)})`);
      return undefined;
    }
  };

  const readEntry = (entry: Entry & { kind: 'file' }): Buffer | undefined => {
    try {
      return readFileSync(entry.source);
    } catch (error) {
      problems.push(`${join(realRoot, entry.path)}: cannot read the file (${errorCode(error)})`);
      return undefined;
    }
  };

  // `excluded`: entered only because an include may match below; there only includes decide.
  const visit = (dir: string, excluded: boolean, inherited: readonly Rule[]): void => {
    let names: string[];
    try {
      // Sorted so that problems are reported in the same order everywhere.
      names = readdirSync(join(realRoot, dir)).sort();
    } catch (error) {
      problems.push(`${join(realRoot, dir)}: cannot read the directory (${errorCode(error)})`);
      return;
    }
    const entries = names.flatMap((name) => entryOf(dir, name) ?? []);
    let ignoreRules = inherited;
    const ignoreFile = entries.find((entry) => entry.name === IGNORE_FILE);
    // Read at most once, for its rules and for syncing it, so that a failure is reported once.
    const contents = new Map<Entry, Buffer | undefined>();
    const read = (entry: Entry & { kind: 'file' }): Buffer | undefined => {
      if (!contents.has(entry)) contents.set(entry, readEntry(entry));
      return contents.get(entry);
    };
    // As in git, an excluded directory's ignore file is not read: only includes decide in there.
    if (!excluded && ignoreFile?.kind === 'file') {
      const content = read(ignoreFile);
      if (content) ignoreRules = [...inherited, ...parseRules(content.toString('utf8').split('\n'), dir)];
    }
    const allRules = [...excludes, ...ignoreRules, ...includes];
    for (const entry of entries) {
      const isDir = entry.kind === 'dir';
      const included = excluded
        ? includes.some((rule) => ruleMatches(rule, entry.path, isDir))
        : !isExcluded(allRules, entry.path, isDir);
      if (entry.kind === 'dir') {
        if (included) visit(entry.path, false, ignoreRules);
        else if (includes.some((rule) => couldMatchBelow(rule, entry.path.split('/'))))
          visit(entry.path, true, ignoreRules);
      } else if (included) {
        const content = read(entry);
        if (content) {
          const sha256 = createHash('sha256').update(content).digest('hex');
          files.push({ path: entry.path, size: content.length, mode: entry.stats.mode & 0o777, sha256 });
        }
      }
    }
  };

  visit('', false, []);
  if (problems.length > 0) throw new ConfigError(problems);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One line for progress and logs: `42 files, 1.3 MB`. */
export function describeSelection(files: readonly ProjectFile[]): string {
  const bytes = files.reduce((total, file) => total + file.size, 0);
  return `${files.length} ${files.length === 1 ? 'file' : 'files'}, ${formatBytes(bytes)}`;
}
