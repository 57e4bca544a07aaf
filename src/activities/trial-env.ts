// The environment every process that runs trial code starts with: a command trial's supervisor and a worker
// class's Python process alike.
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Sweep's Python modules (sweep_helper, sweep_pool, the class adapter): on every trial's PYTHONPATH. */
export const PYTHON_DIR = fileURLToPath(new URL('../../python/', import.meta.url));

/**
 * The worker's environment plus what trial code relies on: the GPUs it may see, fixed before any user code loads
 * so no framework can grab another; unbuffered Python prints; `import sweep_helper` with nothing to install
 * (`pythonPath` goes after it, before the worker's own PYTHONPATH).
 */
export function trialProcessEnv(
  visibleDevices: string,
  extra: Readonly<Record<string, string>>,
  pythonPath: readonly string[] = [],
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    CUDA_VISIBLE_DEVICES: visibleDevices,
    CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
    PYTHONUNBUFFERED: '1',
    PYTHONPATH: [PYTHON_DIR, ...pythonPath, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
  };
}
