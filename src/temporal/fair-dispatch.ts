import { TEMPORAL_PRIORITY_LEVELS } from '../workflows/sweep-share.js';

/**
 * The server settings (dynamic config, `key=value`) that make trials dispatch by priority and fairly between
 * owners; without them Temporal dispatches first in, first out and ignores both. The dev server gets them at
 * every start; a production cluster needs them in its dynamic config (deploy/README.md).
 */
export const FAIR_DISPATCH_CONFIG = [
  'matching.useNewMatcher=true',
  'matching.enableFairness=true',
  `matching.priorityLevels=${TEMPORAL_PRIORITY_LEVELS}`,
  'matching.numTaskqueueWritePartitions=1',
] as const;
