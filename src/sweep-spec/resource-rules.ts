// What a trial asks of a worker: the document's `resources:` with the command line's flags over it, then the
// rules across its keys (a shared GPU needs a memory figure, no GPU takes no GPU options, a reserved host is not
// shared), checked on the merged result so that a flag conflicting with the file is reported too. Pure.
import type { Problems } from './diagnostics.js';
import type { DocumentFields } from './spec-schema.js';
import type { Resources } from './spec-types.js';

const LABEL_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
export const LABEL_NAME_RULE = 'expected a letter, then up to 62 letters, digits, "_", "." or "-"';

/** Whether `name` may name a worker label: `gpu_model`, `zone`, `team.a`. */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/** The fields the rules across keys are about. */
type Field = 'gpus' | 'gpuMemoryMb' | 'gpuShare' | 'gpuUtilization' | 'reserveHost';

/** Each of them as the document and the command line spell it, for messages. */
const SPELLING: Record<Field, { readonly key: string; readonly flag: string }> = {
  gpus: { key: 'gpus', flag: '--gpus' },
  gpuMemoryMb: { key: 'gpu_memory', flag: '--gpu-memory' },
  gpuShare: { key: 'gpu_share', flag: '--gpu-share' },
  gpuUtilization: { key: 'gpu_utilization', flag: '--gpu-utilization' },
  reserveHost: { key: 'reserve', flag: '--reserve-host' },
};

function fromDocument(raw: NonNullable<DocumentFields['resources']>, problems: Problems): Resources {
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.labels ?? {})) {
    if (isLabelName(name)) labels[name] = value;
    else problems.add(['resources', 'labels', name], `not a valid label name: ${LABEL_NAME_RULE}`, { key: true });
  }
  return {
    ...(raw.gpus === undefined ? {} : { gpus: raw.gpus }),
    ...(raw.gpu_memory === undefined ? {} : { gpuMemoryMb: raw.gpu_memory }),
    ...(raw.gpu_share ? { gpuShare: true } : {}),
    ...(raw.gpu_utilization === undefined ? {} : { gpuUtilization: raw.gpu_utilization }),
    ...(raw.cpus === undefined ? {} : { cpus: raw.cpus }),
    ...(raw.memory === undefined ? {} : { memoryMb: raw.memory }),
    ...(raw.reserve === 'host' ? { reserveHost: true } : {}),
    labels,
  };
}

/** The key order is fixed (the spec is sent as JSON); absent fields and an empty `labels` are left out. */
function ordered(merged: Resources): Resources {
  return {
    ...(merged.gpus === undefined ? {} : { gpus: merged.gpus }),
    ...(merged.gpuMemoryMb === undefined ? {} : { gpuMemoryMb: merged.gpuMemoryMb }),
    ...(merged.gpuShare ? { gpuShare: true } : {}),
    ...(merged.gpuUtilization === undefined ? {} : { gpuUtilization: merged.gpuUtilization }),
    ...(merged.cpus === undefined ? {} : { cpus: merged.cpus }),
    ...(merged.memoryMb === undefined ? {} : { memoryMb: merged.memoryMb }),
    ...(merged.reserveHost ? { reserveHost: true } : {}),
    ...(merged.labels && Object.keys(merged.labels).length > 0 ? { labels: merged.labels } : {}),
  };
}

/**
 * The trial's resources: each field the command line gives replaces the document's (labels label by label).
 * `checkRules` is false when `resources:` itself was malformed: its fields are unknown, and rules on the rest
 * would report conflicts that are not there.
 */
export function resolveResources(
  raw: DocumentFields['resources'],
  overrides: Resources | undefined,
  checkRules: boolean,
  problems: Problems,
): Resources {
  const document = raw ? fromDocument(raw, problems) : {};
  const flags = overrides ?? {};
  const merged = ordered({
    gpus: flags.gpus ?? document.gpus,
    gpuMemoryMb: flags.gpuMemoryMb ?? document.gpuMemoryMb,
    gpuShare: flags.gpuShare ?? document.gpuShare,
    gpuUtilization: flags.gpuUtilization ?? document.gpuUtilization,
    cpus: flags.cpus ?? document.cpus,
    memoryMb: flags.memoryMb ?? document.memoryMb,
    reserveHost: flags.reserveHost ?? document.reserveHost,
    labels: { ...document.labels, ...flags.labels },
  });
  if (checkRules) checkResourceRules(merged, (field) => flags[field] !== undefined, problems);
  return merged;
}

function checkResourceRules(resources: Resources, flagged: (field: Field) => boolean, problems: Problems): void {
  // A problem is about one field: located at its key in the file, or naming its flag when a flag gave it.
  const report = (field: Field, message: string) => {
    if (flagged(field)) problems.add([], `${SPELLING[field].flag}: ${message}`);
    else problems.add(['resources', SPELLING[field].key], message);
  };
  const noGpu = flagged('gpus') ? '--gpus 0' : 'gpus: 0';
  if (resources.gpus === 0) {
    for (const field of ['gpuMemoryMb', 'gpuShare', 'gpuUtilization'] as const) {
      if (resources[field] !== undefined) report(field, `not with ${noGpu}, which asks for no GPU`);
    }
  }
  if (resources.gpuShare && resources.reserveHost) {
    const wholeHost = flagged('reserveHost') ? '--reserve-host' : 'reserve: host';
    report('gpuShare', `not with ${wholeHost}, which keeps the whole host to one trial`);
  }
  // Asking for gpu_memory would not help a share that is refused anyway.
  const shareRefused = resources.gpus === 0 || resources.reserveHost === true;
  if (resources.gpuShare && resources.gpuMemoryMb === undefined && !shareRefused) {
    report(
      'gpuShare',
      'needs gpu_memory (or --gpu-memory): how much each trial takes, so that packing knows when a GPU is full',
    );
  }
}
