// Turns what the checks find into located problems: zod issues as plain sentences, unknown keys with a
// "did you mean", each placed at its line and column. Pure: positions come from whoever loaded the source.
import type { z } from 'zod';
import { describeValue, type KeyPath, type SpecProblem } from './problems.js';

/** Where the value (or, with `key`, the key) at a path starts in the source; the YAML loader provides it. */
export interface SourceLocator {
  locate(path: KeyPath, options?: { key?: boolean }): { readonly line: number; readonly column: number };
}

const TYPE_NAMES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  tuple: 'a list',
};

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** `; did you mean "seed"?` for a near miss, else the list of what `key` could have been. */
export function suggestion(key: string, known: readonly string[]): string {
  const best = known
    .map((candidate) => ({ candidate, distance: editDistance(key, candidate) }))
    .sort((a, b) => a.distance - b.distance)[0];
  if (best && best.distance <= Math.max(1, Math.floor(best.candidate.length / 3)))
    return `; did you mean "${best.candidate}"?`;
  return `; expected one of: ${known.join(', ')}`;
}

/** Collects problems and locates each one in the source. */
export class Problems {
  readonly list: SpecProblem[] = [];
  constructor(private readonly source: SourceLocator | undefined) {}

  /** In file order, so the list reads top to bottom. */
  sorted(): SpecProblem[] {
    return [...this.list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  }

  add(path: KeyPath, message: string, options: { key?: boolean } = {}): void {
    // A problem of the whole file (no command, empty file) has no useful position.
    const position = path.length === 0 ? undefined : this.source?.locate(path, options);
    this.list.push({ path, message, ...position });
  }

  addZod(base: KeyPath, error: z.ZodError, schema: z.ZodType): void {
    for (const issue of error.issues) {
      const relative = issue.path as (string | number)[];
      const path = [...base, ...relative];
      if (issue.code === 'unrecognized_keys') {
        const known = objectKeysAt(schema, relative);
        for (const key of issue.keys) this.add([...path, key], `unknown key${suggestion(key, known)}`, { key: true });
        continue;
      }
      this.add(path, zodMessage(issue, path));
    }
  }
}

/** The keys a (possibly optional or defaulted) object schema allows at `path`, for "did you mean" hints. */
function objectKeysAt(schema: z.ZodType, path: KeyPath): string[] {
  const unwrap = (node: z.core.$ZodType | undefined): z.core.$ZodType | undefined => {
    let current = node;
    while (current && 'innerType' in current._zod.def) current = current._zod.def.innerType as z.core.$ZodType;
    return current;
  };
  let node = unwrap(schema);
  for (const part of path) {
    const def = node?._zod.def;
    node = unwrap(def && 'shape' in def ? (def.shape as Record<string, z.core.$ZodType>)[String(part)] : undefined);
  }
  const def = node?._zod.def;
  return def && 'shape' in def ? Object.keys(def.shape as object) : [];
}

function zodMessage(issue: z.core.$ZodIssue, path: KeyPath): string {
  const got = 'input' in issue ? `, got ${describeValue(issue.input)}` : '';
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'missing' : `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}${got}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} items${got}`;
      if (issue.origin === 'string') return `must not be empty`;
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}${got}`;
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${String(issue.maximum)} items${got}`;
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}${got}`;
    case 'invalid_value':
      return `expected one of: ${issue.values.map((value) => String(value)).join(', ')}${got}`;
    case 'invalid_union':
      return path.at(-1) === 'command' ? `expected a string or a list of strings${got}` : `invalid value${got}`;
    case 'custom':
      return issue.message;
    default:
      return `${issue.message}${got}`;
  }
}

/** `raw` checked against `schema`, its problems reported under `path`; undefined if it has any. */
export function parseAt<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  path: KeyPath,
  problems: Problems,
): z.output<S> | undefined {
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed.data;
  problems.addZod(path, parsed.error, schema);
  return undefined;
}

/**
 * Checks each key of a strict object schema on its own, so that one bad key neither hides the others'
 * problems nor the valid values that later checks (placeholders, counts) need.
 */
export function parseEachKey<S extends z.ZodObject>(
  schema: S,
  root: Record<string, unknown>,
  problems: Problems,
): Partial<z.output<S>> {
  const shape = schema.shape as Record<string, z.ZodType>;
  const known = Object.keys(shape);
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(root)) {
    if (!known.includes(key)) problems.add([key], `unknown key${suggestion(key, known)}`, { key: true });
  }
  for (const [key, keySchema] of Object.entries(shape)) {
    const parsed = keySchema.safeParse(root[key], { reportInput: true });
    if (parsed.success) fields[key] = parsed.data;
    else problems.addZod([key], parsed.error, keySchema);
  }
  return fields as Partial<z.output<S>>;
}
