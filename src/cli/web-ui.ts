import type { ConnectionConfig } from '../temporal/connection-config.js';

/**
 * The sweep's page in the Temporal Web UI: SWEEP_UI_URL when set (a cluster's UI), else the dev server's
 * convention of gRPC port + 1000 on a loopback address; nothing for a remote server without SWEEP_UI_URL.
 */
export function webUiLink(connection: ConnectionConfig, workflowId: string, env = process.env): string | undefined {
  const path = `/namespaces/${encodeURIComponent(connection.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  if (env.SWEEP_UI_URL) return `${env.SWEEP_UI_URL.replace(/\/$/, '')}${path}`;
  const [host, port] = connection.address.split(':');
  if (!host || !port || !/^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/.test(host)) return undefined;
  return `http://${host}:${Number(port) + 1000}${path}`;
}
