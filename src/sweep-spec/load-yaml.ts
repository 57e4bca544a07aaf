import yaml from 'js-yaml';
import type { SpecProblem } from './problems.js';
import { PythonTuple, UnknownTag } from './yaml-values.js';

// js-yaml's core schema (no timestamps: `2024-01-01` stays a string) plus merge keys and the tuple tag: nothing
// in a spec can construct any other object.
const pythonTupleType = new yaml.Type('tag:yaml.org,2002:python/tuple', {
  kind: 'sequence',
  construct: (items: unknown[] | null) => new PythonTuple(items ?? []),
  instanceOf: PythonTuple,
});
const unknownTagTypes = (['scalar', 'sequence', 'mapping'] as const).flatMap((kind) =>
  ['!', 'tag:yaml.org,2002:'].map(
    (prefix) =>
      new yaml.Type(prefix, {
        kind,
        multi: true,
        construct: (value: unknown, tag?: string) => new UnknownTag(tag ?? prefix, value),
      }),
  ),
);

// `types` is public in js-yaml 4 but missing from its type definitions.
const mergeType = (yaml as unknown as { types: { merge: yaml.Type } }).types.merge;
const specSchema = yaml.CORE_SCHEMA.extend({ implicit: [mergeType], explicit: [pythonTupleType, ...unknownTagTypes] });

interface SourceNode {
  start: number;
  kind?: string;
  /** The scalar a key node holds, for matching mapping keys. */
  result?: unknown;
  children: SourceNode[];
}

export type Position = { readonly line: number; readonly column: number };

export interface LoadedYaml {
  readonly value: unknown;
  /** Where the value (or, with `key`, the key) at `path` starts; the nearest enclosing node if it is missing. */
  locate(path: readonly (string | number)[], options?: { key?: boolean }): Position;
}

export type YamlResult = { ok: true; document: LoadedYaml } | { ok: false; problem: SpecProblem };

/**
 * Parses YAML with js-yaml, and records where every node starts through its `listener` hook so that
 * schema errors can point at a line and column, not only at a key path.
 */
export function loadYaml(text: string): YamlResult {
  const stack: SourceNode[] = [{ start: 0, children: [] }];
  let value: unknown;
  try {
    value = yaml.load(text, {
      schema: specSchema,
      listener(event, state) {
        if (event === 'open') {
          stack.push({ start: state.position, children: [] });
          return;
        }
        const node = stack.pop();
        if (!node) return;
        node.kind = state.kind ?? undefined;
        if (state.kind === 'scalar') node.result = state.result;
        stack.at(-1)?.children.push(node);
      },
    });
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      const mark = error.mark as { line: number; column: number } | undefined;
      const reason = error.reason.replace(/^duplicated mapping key$/, 'duplicate key');
      return {
        ok: false,
        problem: {
          path: [],
          message: `invalid YAML: ${reason}`,
          ...(mark ? { line: mark.line + 1, column: mark.column + 1 } : {}),
        },
      };
    }
    throw error;
  }
  const root = stack[0]?.children[0];
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);

  const toPosition = (offset: number): Position => {
    let index = offset;
    // Nodes open before the whitespace and comments that precede them: skip to the first real character.
    for (;;) {
      while (index < text.length && ' \t\r\n'.includes(text[index] ?? '')) index++;
      if (text[index] !== '#') break;
      while (index < text.length && text[index] !== '\n') index++;
    }
    let line = 0;
    while (line + 1 < lineStarts.length && (lineStarts[line + 1] ?? Infinity) <= index) line++;
    return { line: line + 1, column: index - (lineStarts[line] ?? 0) + 1 };
  };

  const locate = (path: readonly (string | number)[], options: { key?: boolean } = {}): Position => {
    let node = root;
    if (!node) return { line: 1, column: 1 };
    for (const [depth, part] of path.entries()) {
      const last = depth === path.length - 1;
      if (node.kind === 'mapping') {
        const keyIndex = node.children.findIndex((child, i) => i % 2 === 0 && String(child.result) === String(part));
        if (keyIndex < 0) break;
        const next: SourceNode | undefined = node.children[last && options.key ? keyIndex : keyIndex + 1];
        if (!next) break;
        node = next;
      } else if (node.kind === 'sequence' && typeof part === 'number') {
        const next: SourceNode | undefined = node.children[part];
        if (!next) break;
        node = next;
      } else {
        break;
      }
    }
    return toPosition(node.start);
  };

  return { ok: true, document: { value, locate } };
}
