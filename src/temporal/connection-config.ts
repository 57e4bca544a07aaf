import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Client, Connection } from '@temporalio/client';
import { ConfigError, ExitError } from '../errors.js';

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
  const connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: '10s' }).catch(
    (error: unknown) => {
      throw new ExitError(
        `cannot reach Temporal at ${config.address} (${(error as Error).message.split('\n')[0]}); ` +
          'is `sweep server` running there? Set TEMPORAL_ADDRESS or --address',
      );
    },
  );
  return new Client({ connection, namespace: config.namespace });
}
