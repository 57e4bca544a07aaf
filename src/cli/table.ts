/** Left-aligned columns separated by two spaces; numbers right-aligned. For terminals and logs. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const numeric = header.map(
    (_, column) => rows.length > 0 && rows.every((row) => /^(?:-?[\d.e+-]*|nan|-?inf)$/.test(row[column] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

/** How `fitTable` may narrow a column: cut its cells, or leave it out. */
export interface ColumnFit {
  /** Its cells may be cut to this many characters, the last of them `…`. */
  readonly minWidth?: number;
  /** Left out, the lowest first, when cutting cells is not enough; never when unset. */
  readonly dropOrder?: number;
}

/** The text in at most `width` characters: cut, ending in `…`, when longer. */
export function elide(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 0 ? '' : `${text.slice(0, width - 1)}…`;
}

/** A line's width: the columns' and two spaces between each. */
function lineWidth(widths: readonly number[]): number {
  return widths.reduce((sum, width) => sum + width, 0) + 2 * Math.max(0, widths.length - 1);
}

/** The kept columns' widths: the widest one that may be cut loses a character until the line fits or none may. */
function narrowed(kept: readonly number[], natural: readonly number[], fits: readonly ColumnFit[], width: number) {
  const widths = kept.map((column) => natural[column] ?? 0);
  for (;;) {
    if (lineWidth(widths) <= width) return widths;
    let widest: number | undefined;
    for (const [at, column] of kept.entries()) {
      const cell = widths[at] ?? 0;
      const floor = fits[column]?.minWidth;
      if (floor !== undefined && cell > floor && (widest === undefined || cell > (widths[widest] ?? 0))) widest = at;
    }
    if (widest === undefined) return widths;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
}

/**
 * `formatTable` in at most `width` characters a line: cells are cut first (the widest column that may be, down to
 * its `minWidth`), then columns left out in their `dropOrder`, the others widening again into the room. Lines
 * still too wide, with nothing left to cut or leave out, are cut themselves.
 */
export function fitTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  fits: readonly ColumnFit[],
  width: number,
): { readonly text: string; readonly leftOut: readonly string[] } {
  const natural = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const order = (column: number) => fits[column]?.dropOrder ?? Infinity;
  let kept = header.map((_, column) => column);
  let widths = narrowed(kept, natural, fits, width);
  while (lineWidth(widths) > width) {
    const next = kept.reduce((lowest, column) => (order(column) < order(lowest) ? column : lowest));
    if (order(next) === Infinity) break;
    kept = kept.filter((column) => column !== next);
    widths = narrowed(kept, natural, fits, width);
  }
  const cut = (cells: readonly string[]) => kept.map((column, at) => elide(cells[column] ?? '', widths[at] ?? 0));
  const text = formatTable(cut(header), rows.map(cut))
    .split('\n')
    .map((line) => elide(line, width))
    .join('\n');
  return { text, leftOut: header.filter((_, column) => !kept.includes(column)) };
}
