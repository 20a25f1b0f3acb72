/**
 * A UDP socket standing in for the X-Ray daemon, with the environment Lambda gives an on-demand
 * function with active tracing. Start it before the handlers are imported: xray.ts decides the
 * cold start when it is loaded.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

export interface Datagram {
  header: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parsed JSON segment document the tracer sent: the tests' assertions check its shape
  doc: Record<string, any>;
}

export interface Trace {
  root: string;
  parent: string;
  /** The value of _X_AMZN_TRACE_ID for an invocation of this trace. */
  header: string;
}

export function newTrace(sampled = true): Trace {
  const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  const parent = randomBytes(8).toString('hex');
  return { root, parent, header: `Root=${root};Parent=${parent};Sampled=${sampled ? 1 : 0}` };
}

export interface XRayDaemon {
  port: number;
  /** Every datagram received so far, in order. */
  received: Datagram[];
  ofTrace(trace: Trace): Datagram[];
  close(): void;
}

export async function startXRayDaemon(): Promise<XRayDaemon> {
  const socket = createSocket('udp4');
  const received: Datagram[] = [];
  socket.on('message', (message: Buffer) => {
    const text = message.toString('utf8');
    const newline = text.indexOf('\n');
    received.push({ header: text.slice(0, newline), doc: JSON.parse(text.slice(newline + 1)) as Datagram['doc'] });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  Object.assign(process.env, {
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${port}`,
    AWS_LAMBDA_FUNCTION_NAME: 'users-service-test',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  });
  return {
    port,
    received,
    ofTrace: (trace) => received.filter((datagram) => datagram.doc.trace_id === trace.root),
    close: () => socket.close(),
  };
}
