/** Names every trial's command may use besides its parameters; trial_dir and sweep_id are known at run time. */
export const BUILTIN_PLACEHOLDERS = ['trial_index', 'trial_name', 'trial_dir', 'sweep_id'] as const;

export type TemplatePart = string | { readonly placeholder: string };

const PLACEHOLDER = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

/**
 * Splits one argv element into literal text and `{name}` placeholders; `{{` and `}}` are literal braces.
 * Any other brace stays literal, so `python -c "print({'a': 1})"` needs no escaping.
 */
export function parseTemplate(element: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let last = 0;
  for (const match of element.matchAll(PLACEHOLDER)) {
    literal += element.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[1] === undefined) {
      literal += match[0][0];
      continue;
    }
    if (literal) parts.push(literal);
    literal = '';
    parts.push({ placeholder: match[1] });
  }
  literal += element.slice(last);
  if (literal || parts.length === 0) parts.push(literal);
  return parts;
}

export function placeholderNames(command: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const element of command) {
    for (const part of parseTemplate(element)) if (typeof part !== 'string') names.add(part.placeholder);
  }
  return names;
}
