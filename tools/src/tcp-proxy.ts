import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL, so the test can make the database unreachable for the
 * service without touching the server other tests share.
 */
export interface TcpProxy {
  port: number;
  /** Stops listening and drops every open connection: new connections are refused. */
  cut: () => Promise<void>;
  /**
   * Cuts as soon as PostgreSQL has answered a statement containing `text`: the service gets the
   * answer, then loses the connection while it still holds it. Resolves once cut.
   */
  cutAfterReplyTo: (text: string) => Promise<void>;
  /** Listens again on the same port, unless it is listening. */
  restore: () => Promise<void>;
}

/** PostgreSQL ends every answer with ReadyForQuery: `Z`, length 5, the transaction status. */
function endsWithReadyForQuery(chunk: Buffer): boolean {
  return chunk.length >= 6 && chunk[chunk.length - 6] === 0x5a && chunk.readInt32BE(chunk.length - 5) === 5;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let armed: { text: string; cut: () => void } | undefined;

  const cut = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    if (closing === undefined) return;
    const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };

  const listen = async (): Promise<void> => {
    if (server !== undefined) return;
    const next = createServer((client) => {
      const upstream = connect(target.port, target.host);
      sockets.add(client);
      sockets.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      for (const socket of [client, upstream]) {
        socket.on('error', drop);
        socket.on('close', drop);
      }
      let answering: (() => void) | undefined;
      client.on('data', (chunk: Buffer) => {
        if (armed !== undefined && chunk.includes(armed.text)) {
          answering = armed.cut;
          armed = undefined;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (answering === undefined || !endsWithReadyForQuery(chunk)) {
          client.write(chunk);
          return;
        }
        // The whole answer reaches the service before the connection ends: its client is between statements.
        sockets.delete(client);
        client.end(chunk);
        answering();
      });
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    const address = next.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    port = address.port;
    server = next;
  };
  await listen();
  return {
    get port() {
      return port;
    },
    cut,
    cutAfterReplyTo: (text) =>
      new Promise<void>((resolve) => {
        armed = { text, cut: () => void cut().then(resolve) };
      }),
    restore: listen,
  };
}
