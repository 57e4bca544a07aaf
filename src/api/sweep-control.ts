// Steering running sweeps from TypeScript, as `sweep pause | resume | edit | stop` do from the shell: each call
// is a validated Update on the sweep, recorded with who asked; a refused one throws a ConfigError saying why.
import type { Client } from '@temporalio/client';
import { changeSweep, sweepChanges, type ChangeOptions } from '../cli/sweep-steering.js';
import { connectClient, resolveConnectionConfig, type ConnectionConfig } from '../temporal/connection-config.js';
import type { GridStep } from '../workflows/grid-growth.js';
import type { SweepChange, SweepChangeRecord, SweepSettings } from '../workflows/sweep-changes.js';

export type { GridStep } from '../workflows/grid-growth.js';
export type { SweepChangeRecord, SweepSettings } from '../workflows/sweep-changes.js';

export interface SweepEdit {
  readonly maxParallel?: number;
  readonly retries?: number;
  /** Seconds per attempt; null: no timeout. */
  readonly timeoutSeconds?: number | null;
  /** 1 (most urgent) … 5, and the owner's share, for the trials the sweep hands out from now on. */
  readonly priority?: number;
  readonly weight?: number;
}

export class SweepControl {
  private constructor(
    private readonly client: Client,
    private readonly options: ChangeOptions,
  ) {}

  /** Default connection: TEMPORAL_ADDRESS and the other TEMPORAL_* variables, as the CLI reads them. */
  static async connect(connection?: ConnectionConfig, options: ChangeOptions = {}): Promise<SweepControl> {
    return new SweepControl(await connectClient(connection ?? resolveConnectionConfig({})), options);
  }

  /** `hold`: running trials also go back to the queue at their next checkpoint (`sweep pause --hold`). */
  pause(sweepId: string, options: { hold?: boolean } = {}): Promise<SweepChangeRecord> {
    return this.change(sweepId, { kind: 'pause', ...(options.hold ? { hold: true } : {}) });
  }

  resume(sweepId: string): Promise<SweepChangeRecord> {
    return this.change(sweepId, { kind: 'resume' });
  }

  /** For trials not started yet; a lower max parallel lets the running ones finish. */
  edit(sweepId: string, edit: SweepEdit): Promise<SweepChangeRecord> {
    return this.change(sweepId, { kind: 'set', ...edit });
  }

  /**
   * More trials, in one change: `{ kind: 'add-values', parameter: 'lr', values: [0.3] }` and the like. Only the
   * combinations they make new run; the trials so far keep their indices and names.
   */
  grow(sweepId: string, ...steps: GridStep[]): Promise<SweepChangeRecord> {
    return this.change(sweepId, { kind: 'grow', steps });
  }

  /** A trial that has ended, by index, runs again from scratch as a new trial of the running sweep. */
  rerun(sweepId: string, trial: number): Promise<SweepChangeRecord> {
    return this.change(sweepId, { kind: 'rerun-trial', index: trial });
  }

  /** One trial, by index: recorded as stopped by the user (cancelled, not failed). */
  stop(sweepId: string, trial: number): Promise<SweepChangeRecord> {
    return this.change(sweepId, { kind: 'stop-trial', index: trial });
  }

  /** The sweep's settings now and every change that made them, oldest first. */
  changes(sweepId: string): Promise<{ settings: SweepSettings; changes: SweepChangeRecord[] }> {
    return sweepChanges(this.client, sweepId);
  }

  close(): Promise<void> {
    return this.client.connection.close();
  }

  private change(sweepId: string, change: SweepChange): Promise<SweepChangeRecord> {
    return changeSweep(this.client, sweepId, change, this.options);
  }
}
