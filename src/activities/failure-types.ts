/** Failure types of `runTrial` that the trial workflow tells apart (pure: workflows import it). */
export const FAILURE_TYPES = {
  commandFailed: 'TrialCommandFailed',
  metricMissing: 'TrialMetricMissing',
  workerShutdown: 'WorkerShutdown',
  fenced: 'WorkerFenced',
  /** A trial held ready on a busy worker went back to the pool before its process started: not an attempt. */
  handedBack: 'TrialHandedBack',
} as const;
