/**
 * How a gap Sweep reports between two trials compares with the gap the trials' own shells record. The clock is
 * read beside the command, just before it starts and just after it exits (trial-process.ts), so the reported
 * gap lies inside the recorded one, shorter at each end by a shell's start or exit: a few ms, 11 at most seen
 * with two test files running on a 2-core machine.
 */
const WITHIN_MS = 50;
/** `date +%s%3N` and Date.now() read the same clock, each rounded to the millisecond. */
const CLOCK_ROUNDING_MS = 2;

export function gapInsideRecord(reported: { start: number; end: number }, recorded: { from: number; to: number }) {
  return (
    reported.start >= recorded.from - CLOCK_ROUNDING_MS &&
    reported.start <= recorded.from + WITHIN_MS &&
    reported.end <= recorded.to + CLOCK_ROUNDING_MS &&
    reported.end >= recorded.to - WITHIN_MS
  );
}

/**
 * A reported gap that begins inside a recorded one: idle counts only while the sweep has trials waiting, and a
 * trial can start waiting mid-gap (a lost attempt's retry, queued once the server declares it lost). Its end is
 * still the next trial's start.
 */
export function gapEndsRecord(reported: { start: number; end: number }, recorded: { from: number; to: number }) {
  return (
    reported.start >= recorded.from - CLOCK_ROUNDING_MS &&
    reported.end <= recorded.to + CLOCK_ROUNDING_MS &&
    reported.end >= recorded.to - WITHIN_MS
  );
}

export function idleWithinRecord(reportedMs: number, recordedMs: number) {
  return reportedMs <= recordedMs + 2 * CLOCK_ROUNDING_MS && reportedMs >= recordedMs - WITHIN_MS;
}
