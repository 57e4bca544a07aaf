import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { ConfigError, ExitError } from '../errors.js';
import {
  TemporalRefusedError,
  TemporalUnreachableError,
  TlsHandshakeError,
  transportReason,
} from './connection-errors.js';
import { probeConnection, type ProbeTls } from './connection-probe.js';

/**
 * Where and how to reach Temporal. The same settings serve the dev server, a self-hosted cluster and
 * Temporal Cloud: they come from flags or from the TEMPORAL_* variables the Temporal CLI also reads.
 */
export const connectionConfigSchema = z.strictObject({
  address: z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port'),
  namespace: z.string().min(1),
  apiKey: z.string().min(1).optional(),
  tls: z.boolean(),
  tlsServerName: z.string().min(1).optional(),
  tlsCaPath: z.string().min(1).optional(),
  tlsCertPath: z.string().min(1).optional(),
  tlsKeyPath: z.string().min(1).optional(),
});
export type ConnectionConfig = z.infer<typeof connectionConfigSchema>;

/** Command-line flags; each overrides its environment variable. */
export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  apiKey?: string;
  tls?: boolean;
  tlsServerName?: string;
  tlsCaPath?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
}

export const DEFAULT_ADDRESS = '127.0.0.1:7233';

function envFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

export function resolveConnectionConfig(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionConfig {
  const tlsCertPath = flags.tlsCertPath ?? env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const tlsKeyPath = flags.tlsKeyPath ?? env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  const tlsCaPath = flags.tlsCaPath ?? env.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  const tlsServerName = flags.tlsServerName ?? env.TEMPORAL_TLS_SERVER_NAME;
  const apiKey = flags.apiKey ?? (env.TEMPORAL_API_KEY || undefined);
  // Any certificate or an API key implies TLS (as in Temporal Cloud) unless TLS is switched off explicitly.
  const impliedTls = Boolean(tlsCertPath || tlsCaPath || apiKey);
  const candidate = {
    address: flags.address ?? (env.TEMPORAL_ADDRESS || DEFAULT_ADDRESS),
    namespace: flags.namespace ?? (env.TEMPORAL_NAMESPACE || 'default'),
    apiKey,
    tls: flags.tls ?? envFlag(env.TEMPORAL_TLS) ?? impliedTls,
    tlsServerName,
    tlsCaPath,
    tlsCertPath,
    tlsKeyPath,
  };
  const parsed = connectionConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `connection ${issue.path.join('.')}: ${issue.message}`));
  }
  if (Boolean(parsed.data.tlsCertPath) !== Boolean(parsed.data.tlsKeyPath)) {
    throw new ConfigError(['connection: mTLS needs both a client certificate and its key (--tls-cert and --tls-key)']);
  }
  return parsed.data;
}

function readPem(label: string, path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError([`connection ${label}: cannot read ${path}: ${(error as Error).message}`]);
  }
}

/** Options shared by the client's Connection and the worker's NativeConnection. */
export function connectionOptions(config: ConnectionConfig) {
  const crt = readPem('tlsCertPath', config.tlsCertPath);
  const key = readPem('tlsKeyPath', config.tlsKeyPath);
  const tls = config.tls
    ? {
        serverNameOverride: config.tlsServerName,
        serverRootCACertificate: readPem('tlsCaPath', config.tlsCaPath),
        clientCertPair: crt && key ? { crt, key } : undefined,
      }
    : false;
  return { address: config.address, tls, apiKey: config.apiKey };
}

export async function connectClient(config: ConnectionConfig): Promise<Client> {
  const options = connectionOptions(config);
  // grpc-js waits out its whole connect timeout even when the port refuses at once or TLS cannot work, and
  // then says only "Failed to connect before the deadline": doing the first steps by hand first tells those
  // apart within milliseconds (one extra round trip).
  const problem = await probeConnection(config.address, probeTls(options.tls));
  if (problem) throw problem;
  const connection = await Connection.connect({ ...options, connectTimeout: '10s' }).catch(async (error: unknown) => {
    throw await explainConnectFailure(config, error);
  });
  return new Client({ connection, namespace: config.namespace });
}

function probeTls(tls: ReturnType<typeof connectionOptions>['tls']): ProbeTls | undefined {
  if (typeof tls !== 'object') return undefined;
  return {
    ...(tls.serverRootCACertificate ? { ca: tls.serverRootCACertificate } : {}),
    ...(tls.clientCertPair ? { cert: tls.clientCertPair.crt, key: tls.clientCertPair.key } : {}),
    ...(tls.serverNameOverride ? { serverName: tls.serverNameOverride } : {}),
  };
}

const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

/**
 * The one-line error for a failed connect, client or worker: unreachable (worth waiting for), a TLS handshake
 * that failed, or a server that refused us. grpc-js says only "Failed to connect before the deadline", so the
 * first steps of the connection are retried by hand to find out which.
 */
export async function explainConnectFailure(config: ConnectionConfig, error: unknown): Promise<Error> {
  if (error instanceof ExitError || error instanceof ConfigError) return error;
  const grpcCause = [error, (error as Error | undefined)?.cause].find(isGrpcServiceError);
  if (grpcCause && [GRPC_UNAUTHENTICATED, GRPC_PERMISSION_DENIED].includes(Number(grpcCause.code))) {
    return new TemporalRefusedError(config.address, grpcCause.details);
  }
  const probed = await probeConnection(config.address, probeTls(connectionOptions(config).tls));
  if (probed) return probed;
  const message = error instanceof Error ? error.message : String(error);
  // rustls (the worker's connection) can be stricter than OpenSSL: trust what it says about TLS.
  if (config.tls && /certificate|InvalidContentType|handshake|\btls\b/i.test(message)) {
    return new TlsHandshakeError(config.address, transportReason(error));
  }
  return new TemporalUnreachableError(config.address, transportReason(error));
}
