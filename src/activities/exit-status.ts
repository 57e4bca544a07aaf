const SIGNAL_MEANINGS: Record<string, string> = {
  SIGKILL: 'killed (SIGKILL: out of memory, or killed by hand)',
  SIGTERM: 'terminated (SIGTERM)',
  SIGINT: 'interrupted (SIGINT)',
  SIGSEGV: 'crashed (segmentation fault)',
  SIGABRT: 'aborted (SIGABRT)',
  SIGBUS: 'crashed (bus error)',
  SIGFPE: 'crashed (floating-point exception)',
};
const SIGNAL_NUMBERS: Record<number, string> = {
  2: 'SIGINT',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  15: 'SIGTERM',
};

/** `exit 137: killed (SIGKILL: out of memory, or killed by hand)`; shells report a signal N as 128 + N. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  const name = signal ?? (code !== null && code > 128 ? SIGNAL_NUMBERS[code - 128] : undefined);
  const what = code === null ? `signal ${signal}` : `exit ${code}`;
  if (name) return `${what}: ${SIGNAL_MEANINGS[name] ?? name}`;
  if (code === 127) return `${what}: command not found`;
  if (code === 126) return `${what}: command not executable`;
  return what;
}

/** The exit code to record: a signal N counts as 128 + N, as a shell would report it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = Object.entries(SIGNAL_NUMBERS).find(([, name]) => name === signal)?.[0];
  return 128 + Number(number ?? 0);
}
