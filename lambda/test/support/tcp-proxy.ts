/**
 * A TCP proxy between a client and a server on this host, for faults a real network causes: it
 * forwards both ways until `close()`, which drops every open connection and stops listening, as a
 * store that goes away does (the next connection is refused); `holdNextResponse(ms)` keeps the
 * server's next answer (optionally: the next answer to one DynamoDB operation, by its
 * X-Amz-Target) from the client for that long, as a slow network does: the server has done the
 * work, the client sees nothing until its own timeout.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** http://127.0.0.1:<port> of the proxy. */
  endpoint: string;
  /** Connections accepted so far. */
  connections(): number;
  /**
   * Holds the server's next HTTP response for `ms` (then forwards it, if the client is still
   * there); with `operation` (e.g. TransactWriteItems), the next response to that operation.
   */
  holdNextResponse(ms: number, operation?: string): void;
  /** Responses held so far. */
  held(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let accepted = 0;
  let holdMs: number | undefined;
  let holdOperation: string | undefined;
  let heldCount = 0;
  const server = createServer((client) => {
    accepted += 1;
    const upstream = connect(target.port, target.host);
    for (const [socket, peer] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(socket);
      socket.on('error', () => peer.destroy());
      socket.on('close', () => {
        open.delete(socket);
        peer.destroy();
      });
    }
    client.pipe(upstream);
    // HTTP/1.1 answers in order: the operations asked on this connection, oldest first.
    const asked: string[] = [];
    client.on('data', (chunk: Buffer) => {
      for (const match of chunk.toString('latin1').matchAll(/x-amz-target:\s*DynamoDB_\d+\.(\w+)/gi)) asked.push(match[1] ?? '');
    });
    upstream.on('data', (chunk: Buffer) => {
      // A chunk that starts a response; the rest of a response follows on the same (paused) socket.
      const startsResponse = chunk.subarray(0, 7).toString('latin1') === 'HTTP/1.';
      const answering = startsResponse ? asked.shift() : undefined;
      if (holdMs !== undefined && startsResponse && (holdOperation === undefined || holdOperation === answering)) {
        const delay = holdMs;
        holdMs = undefined;
        holdOperation = undefined;
        heldCount += 1;
        upstream.pause();
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
          upstream.resume();
        }, delay).unref();
        return;
      }
      if (!client.destroyed) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the proxy has no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    connections: () => accepted,
    holdNextResponse: (ms, operation) => {
      holdMs = ms;
      holdOperation = operation;
    },
    held: () => heldCount,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
