import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { TemporalUnreachableError, TlsHandshakeError } from './connection-errors.js';

export interface ProbeTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly serverName?: string;
}

/**
 * Why a connection to `address` failed, found by doing its first steps by hand: grpc-js reports every failure
 * as "Failed to connect before the deadline", which cannot tell a stopped server from a TLS mismatch. Resolves
 * with undefined when TCP (and the TLS handshake, with `tls`) succeed: the problem is further on.
 */
export async function probeConnection(
  address: string,
  tls: ProbeTls | undefined,
  timeoutMs = 3000,
): Promise<TemporalUnreachableError | TlsHandshakeError | undefined> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  const tcp = await settle(tcpConnect({ host, port }), 'connect', timeoutMs);
  if (tcp) return new TemporalUnreachableError(address, describeSocketError(tcp));
  if (!tls) return undefined;
  const handshake = await settle(
    tlsConnect({
      host,
      port,
      // Node warns when an IP is sent as SNI (RFC 6066); the certificate is then checked against the IP.
      ...(tls.serverName || !isIP(host) ? { servername: tls.serverName ?? host } : {}),
      ALPNProtocols: ['h2'],
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    }),
    'secureConnect',
    timeoutMs,
  );
  if (!handshake) return undefined;
  if (handshake.code === 'ETIMEDOUT') return new TlsHandshakeError(address, 'no answer to the TLS hello');
  if (/^E(CONNRESET|PIPE)$/.test(handshake.code ?? '')) {
    return new TlsHandshakeError(address, 'the server closed the connection during the handshake');
  }
  return new TlsHandshakeError(address, describeTlsError(handshake));
}

type SocketError = NodeJS.ErrnoException & { reason?: string };

/** Resolves with undefined once `event` fires, or with the error (ETIMEDOUT after `timeoutMs`); always closes. */
function settle(socket: Socket, event: string, timeoutMs: number): Promise<SocketError | undefined> {
  return new Promise((resolve) => {
    const done = (error?: SocketError) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(error);
    };
    const timer = setTimeout(
      () => done(Object.assign(new Error(`timed out after ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    socket.once(event, () => done());
    socket.once('error', (error: SocketError) => done(error));
  });
}

function describeSocketError(error: SocketError): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'no such host';
    case 'ETIMEDOUT':
      return `no answer within ${error.message.replace(/^timed out after /, '')}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    default:
      return error.message;
  }
}

/** OpenSSL's reason (`wrong version number`, `self-signed certificate`) rather than its whole error stack. */
function describeTlsError(error: SocketError): string {
  if (error.reason) return error.reason;
  return error.message.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:/, '');
}
