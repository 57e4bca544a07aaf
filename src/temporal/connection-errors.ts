import { isGrpcServiceError } from '@temporalio/client';
import { ExitError } from '../errors.js';

/** Thrown when nothing answers at `address` (refused, timed out, no such host): worth waiting for. */
export class TemporalUnreachableError extends ExitError {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      `cannot reach Temporal at ${address} (${reason}); is \`sweep server\` running there? ` +
        'Set TEMPORAL_ADDRESS or --address',
    );
  }
}

/** Thrown when `address` accepts TCP but the TLS handshake fails: a configuration problem, not an outage. */
export class TlsHandshakeError extends ExitError {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      `TLS handshake with ${address} failed (${reason}): check --tls-ca/--tls-server-name, ` +
        'or drop --tls for a plain server',
    );
  }
}

/** Thrown when Temporal answers but turns the connection down (API key, certificate, namespace): not an outage. */
export class TemporalRefusedError extends ExitError {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`Temporal at ${address} refused the connection (${reason})`);
  }
}

const GRPC_UNAVAILABLE = 14;

/**
 * True for errors that mean "the server did not answer" rather than "the server said no": gRPC UNAVAILABLE
 * (the client's own retries gave up), the native worker's TransportError, and our own unreachable error.
 */
export function isTransportFailure(error: unknown): boolean {
  for (let cause = error, depth = 0; cause !== undefined && depth < 5; depth++) {
    if (cause instanceof TemporalUnreachableError) return true;
    if (isGrpcServiceError(cause)) return Number(cause.code) === GRPC_UNAVAILABLE;
    if (cause instanceof Error && cause.name === 'TransportError') return true;
    // grpc-js's waitForReady, when the connect deadline passes without a channel.
    if (cause instanceof Error && cause.message === 'Failed to connect before the deadline') return true;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return false;
}

const GRPC_DEADLINE_EXCEEDED = 4;

/** A transport failure, or a call of ours that ran out its deadline: the server did not answer in time. */
export function isNoAnswer(error: unknown): boolean {
  return isTransportFailure(error) || (isGrpcServiceError(error) && Number(error.code) === GRPC_DEADLINE_EXCEEDED);
}

/** `connection refused` from grpc-js's `No connection established. Last error: Error: connect ECONNREFUSED …`. */
export function transportReason(error: unknown): string {
  const text = isGrpcServiceError(error)
    ? error.details
    : error instanceof Error
      ? `${error.message} ${error.cause instanceof Error ? error.cause.message : ''}`
      : String(error);
  if (/ECONNREFUSED|Connection refused|ConnectionRefused/i.test(text)) return 'connection refused';
  if (/ENOTFOUND|EAI_AGAIN|dns error|failed to lookup/i.test(text)) return 'no such host';
  if (/EHOSTUNREACH|ENETUNREACH|No route to host/i.test(text)) return 'no route to host';
  if (/ECONNRESET|connection reset|broken pipe/i.test(text)) return 'connection reset';
  if (/deadline|timed? ?out/i.test(text)) return 'no answer in time';
  return text.split('\n')[0]?.trim().slice(0, 160) || 'no answer';
}

/**
 * One line for a failure of the environment rather than of Sweep, or undefined: a server that stopped
 * answering, or an address where something other than Temporal's gRPC port answers (often the Web UI's port).
 */
export function environmentProblem(error: unknown, address?: string): string | undefined {
  const at = address ? ` at ${address}` : '';
  if (isTransportFailure(error)) return `Temporal${at} stopped answering (${transportReason(error)})`;
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++, cause = cause.cause) {
    const http = isGrpcServiceError(cause) ? /Received HTTP status code (\d+)/.exec(cause.details) : null;
    if (http) {
      return (
        `the server${at} answered HTTP ${http[1]}, not gRPC: is that Temporal's gRPC port ` +
        "(7233 by default) and not its Web UI's?"
      );
    }
  }
  return undefined;
}
