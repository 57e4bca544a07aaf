/** Failure types of `runTrial` that the trial workflow tells apart (pure: workflows import it). */
export const FAILURE_TYPES = {
  commandFailed: 'TrialCommandFailed',
  metricMissing: 'TrialMetricMissing',
  workerShutdown: 'WorkerShutdown',
  fenced: 'WorkerFenced',
} as const;
