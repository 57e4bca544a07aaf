/** Key path inside the document, e.g. ['parameters', 'lr', 'min']; empty for the document itself. */
export type KeyPath = readonly (string | number)[];

/** One thing wrong with a spec, located in its file when the position is known. */
export interface SpecProblem {
  readonly path: KeyPath;
  readonly message: string;
  /** 1-based line and column of the offending key or value. */
  readonly line?: number;
  readonly column?: number;
}

/** `epoch` or `parameters.lr.min` or `command[2]`. */
export function formatPath(path: KeyPath): string {
  return path.reduce<string>((text, part) => {
    if (typeof part === 'number') return `${text}[${part}]`;
    return text === '' ? part : `${text}.${part}`;
  }, '');
}

/** `parameters.yml:4:8 epoch: interval step must be > 0, got 0`. */
export function formatProblem(file: string, problem: SpecProblem): string {
  const where = problem.line === undefined ? `${file}:` : `${file}:${problem.line}:${problem.column ?? 1}`;
  const path = formatPath(problem.path);
  return path === '' ? `${where} ${problem.message}` : `${where} ${path}: ${problem.message}`;
}

/** A short, quoted rendering of a found value for "got …" in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return 'a mapping';
}
