const UNITS = ['kB', 'MB', 'GB', 'TB'] as const;

/** Decimal units, like the sizes specs take: three significant figures at most (`999 B`, `1.3 MB`, `130 MB`). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  let value = bytes;
  for (const unit of UNITS) {
    value /= 1000;
    // Rounded before the unit is chosen, so 999,960 bytes reads `1.0 MB`, not `1000 kB`.
    const text = value < 99.95 ? value.toFixed(1) : value.toFixed(0);
    if (Number(text) < 1000 || unit === 'TB') return `${text} ${unit}`;
  }
  return `${bytes} B`;
}
