import type { Command } from 'commander';
import { resolveConnectionConfig, type ConnectionConfig, type ConnectionFlags } from '../temporal/connection-config.js';

/** The same connection flags on every command that talks to Temporal; each overrides its TEMPORAL_* variable. */
export function addConnectionOptions(command: Command): Command {
  return command
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS; default 127.0.0.1:7233)')
    .option('--namespace <name>', 'Temporal namespace (env TEMPORAL_NAMESPACE; default "default")')
    .option('--api-key <key>', 'API key, e.g. for Temporal Cloud (env TEMPORAL_API_KEY)')
    .option('--tls', 'use TLS (env TEMPORAL_TLS)')
    .option('--no-tls', 'force plaintext even with an API key')
    .option('--tls-ca <file>', 'CA certificate of the server (env TEMPORAL_TLS_SERVER_CA_CERT_PATH)')
    .option('--tls-cert <file>', 'mTLS client certificate (env TEMPORAL_TLS_CLIENT_CERT_PATH)')
    .option('--tls-key <file>', 'mTLS client key (env TEMPORAL_TLS_CLIENT_KEY_PATH)')
    .option('--tls-server-name <name>', 'server name for TLS verification (env TEMPORAL_TLS_SERVER_NAME)');
}

interface ConnectionOptionValues {
  address?: string;
  namespace?: string;
  apiKey?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
}

export function connectionFromOptions(options: ConnectionOptionValues): ConnectionConfig {
  const flags: ConnectionFlags = {
    ...(options.address ? { address: options.address } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.tlsCa ? { tlsCaPath: options.tlsCa } : {}),
    ...(options.tlsCert ? { tlsCertPath: options.tlsCert } : {}),
    ...(options.tlsKey ? { tlsKeyPath: options.tlsKey } : {}),
    ...(options.tlsServerName ? { tlsServerName: options.tlsServerName } : {}),
  };
  return resolveConnectionConfig(flags);
}
