// GPUs for tests on machines without any: test/fixtures/fake-nvidia-smi, first on PATH as `nvidia-smi`, prints
// a state file that the test rewrites while it runs (free memory, utilisation, other users' processes).
import { mkdtempSync, renameSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_NVIDIA_SMI = fileURLToPath(new URL('../fixtures/fake-nvidia-smi', import.meta.url));

/** A figure as the fake prints it: a number, a literal such as `[Not Supported]`, or null for `[N/A]`. */
export type FakeFigure = number | string | null;

export interface FakeGpu {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly memoryTotalMib: FakeFigure;
  readonly memoryFreeMib: FakeFigure;
  readonly utilizationPercent: FakeFigure;
  readonly busId?: string;
}

export interface FakeComputeApp {
  readonly gpuUuid: string;
  readonly pid: number;
  readonly usedMemoryMib: FakeFigure;
  readonly name?: string;
}

/** What the fake nvidia-smi reads on every call. */
export interface FakeNvidiaSmiState {
  readonly gpus?: readonly FakeGpu[];
  readonly apps?: readonly FakeComputeApp[];
  /** Printed to stdout before the table, as a driver's warnings are. */
  readonly lines?: readonly string[];
  /** Fail with this exit code (after printing `stderr`). */
  readonly exitCode?: number;
  readonly stderr?: string;
  /** Take this long before answering, as a hung driver does. */
  readonly hangMs?: number;
}

/** A GPU with its memory all free; `uuid` is `GPU-fake-<index>`. */
export function fakeGpu(index: number, fields: Partial<FakeGpu> = {}): FakeGpu {
  return {
    index,
    uuid: `GPU-fake-${index}`,
    name: 'NVIDIA A100-SXM4-80GB',
    memoryTotalMib: 81920,
    memoryFreeMib: 81920,
    utilizationPercent: 0,
    ...fields,
  };
}

/** One fake host's nvidia-smi: pass `env` to whatever should see these GPUs; `remove()` when done. */
export class FakeGpus {
  readonly dir: string;
  readonly statePath: string;
  /** process.env with the fake first on PATH (and this node last, for the fake's `#!/usr/bin/env node`). */
  readonly env: NodeJS.ProcessEnv;
  private current: FakeNvidiaSmiState;

  constructor(state: FakeNvidiaSmiState = { gpus: [fakeGpu(0)] }) {
    this.dir = mkdtempSync(join(tmpdir(), 'sweep-fake-gpus-'));
    const bin = join(this.dir, 'bin');
    mkdirSync(bin);
    symlinkSync(FAKE_NVIDIA_SMI, join(bin, 'nvidia-smi'));
    this.statePath = join(this.dir, 'state.json');
    this.env = {
      ...process.env,
      PATH: [bin, process.env.PATH, dirname(process.execPath)].filter(Boolean).join(delimiter),
      FAKE_NVIDIA_SMI_STATE: this.statePath,
    };
    this.current = state;
    this.write(state);
  }

  get state(): FakeNvidiaSmiState {
    return this.current;
  }

  /** Replaces the state; written whole and renamed into place, so the fake never reads half a file. */
  write(state: FakeNvidiaSmiState): void {
    this.current = state;
    const partial = `${this.statePath}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(state, null, 2));
    renameSync(partial, this.statePath);
  }

  update(change: Partial<FakeNvidiaSmiState>): void {
    this.write({ ...this.current, ...change });
  }

  /** Changes one GPU's figures, e.g. `setGpu(0, { memoryFreeMib: 1024, utilizationPercent: 95 })`. */
  setGpu(index: number, fields: Partial<Omit<FakeGpu, 'index'>>): void {
    const gpus = this.current.gpus ?? [];
    if (!gpus.some((gpu) => gpu.index === index)) throw new Error(`fake nvidia-smi has no GPU ${index}`);
    this.update({ gpus: gpus.map((gpu) => (gpu.index === index ? { ...gpu, ...fields } : gpu)) });
  }

  /** Another user's process appears on a GPU. */
  addApp(app: FakeComputeApp): void {
    this.update({ apps: [...(this.current.apps ?? []), app] });
  }

  removeApp(pid: number): void {
    this.update({ apps: (this.current.apps ?? []).filter((app) => app.pid !== pid) });
  }

  /** From now on nvidia-smi fails as with a broken driver (exit 9), until the next `write`. */
  breakDriver(): void {
    rmSync(this.statePath, { force: true });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
