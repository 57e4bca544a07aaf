import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes make sweeps and trials findable in the Web UI and by `sweep list`.
// The dev server registers them at start (SQLite visibility has 10 Keyword and 3 Int slots);
// a production namespace needs them created once with `temporal operator search-attribute create`.
export const sweepIdKey = defineSearchAttributeKey('SweepId', SearchAttributeType.KEYWORD);
export const sweepStateKey = defineSearchAttributeKey('SweepState', SearchAttributeType.KEYWORD);
export const trialIndexKey = defineSearchAttributeKey('TrialIndex', SearchAttributeType.INT);
export const trialStateKey = defineSearchAttributeKey('TrialState', SearchAttributeType.KEYWORD);
export const gpuQueueKey = defineSearchAttributeKey('GpuQueue', SearchAttributeType.KEYWORD);
/** Whose sweep (or trial of a sweep) it is: `sweep list` shows one's own, `status --by-owner` everyone's. */
export const sweepOwnerKey = defineSearchAttributeKey('SweepOwner', SearchAttributeType.KEYWORD);

export const sweepSearchAttributes = [
  sweepIdKey,
  sweepStateKey,
  trialIndexKey,
  trialStateKey,
  gpuQueueKey,
  sweepOwnerKey,
] as const;

const typeNames: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** `Name=Type` pairs as `temporal server start-dev --search-attribute` and `operator search-attribute create` take them. */
export function searchAttributeDeclarations(): string[] {
  return sweepSearchAttributes.map((key) => `${key.name}=${typeNames[key.type]}`);
}
