import { setTimeout as delay } from 'node:timers/promises';
import { explainConnectFailure, type ConnectionConfig } from './connection-config.js';
import { isTransportFailure, TemporalUnreachableError, transportReason } from './connection-errors.js';

export const RETRY_EVERY_MS = 2000;

/**
 * Says once that the server stopped answering and once that it answers again, however many calls fail in
 * between: the long-running commands (worker, watch, start --wait) share one per process, so an outage is two
 * lines on stderr, not a stack trace or a line per call.
 */
export class OutageReporter {
  private downSince: number | undefined;

  constructor(
    readonly address: string,
    readonly retryEveryMs = RETRY_EVERY_MS,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`sweep: ${line}\n`),
  ) {}

  down(reason: string): void {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.write(
      `Temporal at ${this.address} is not answering (${reason}); retrying every ${this.retryEveryMs / 1000} s`,
    );
  }

  up(): void {
    if (this.downSince === undefined) return;
    const seconds = Math.round((Date.now() - this.downSince) / 1000);
    this.downSince = undefined;
    this.write(`Temporal at ${this.address} answers again (after ${seconds} s)`);
  }

  /** Runs `operation` until it succeeds or fails for a reason other than the server not answering. */
  async retry<T>(operation: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const value = await operation();
        this.up();
        return value;
      } catch (error) {
        if (!isTransportFailure(error)) throw error;
        this.down(error instanceof TemporalUnreachableError ? error.reason : transportReason(error));
        await delay(this.retryEveryMs);
      }
    }
  }
}

/**
 * Connects with `connect` (a client or a worker's native connection), waiting for a server that is down or
 * not started yet with one line saying so; a TLS or authentication failure is thrown at once, one line too.
 */
export async function connectRetrying<T>(
  config: ConnectionConfig,
  connect: () => Promise<T>,
  reporter = new OutageReporter(config.address),
): Promise<T> {
  return reporter.retry(async () => {
    try {
      return await connect();
    } catch (error) {
      throw await explainConnectFailure(config, error);
    }
  });
}
