/**
 * X-Ray (lambda/src/lib/xray.ts): the handlers, run against DynamoDB Local as Lambda runs them
 * with active tracing, send their subsegments to a UDP socket standing in for the daemon. Every
 * invocation gets a fresh trace header; datagrams are told apart by their trace id.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiEvent } from '../support/events.ts';
import { invoke, startTestEnvironment, type TestEnvironment } from '../support/environment.ts';
import { newTrace, startXRayDaemon, type Datagram, type Trace, type XRayDaemon } from '../support/xray-daemon.ts';

let env: TestEnvironment;
let daemon: XRayDaemon;
// What before() got to start: after() runs even when before() failed, and stops only that.
let startedDaemon: XRayDaemon | undefined;
let startedEnv: TestEnvironment | undefined;

before(async () => {
  daemon = startedDaemon = await startXRayDaemon();
  env = startedEnv = await startTestEnvironment();
  // startTestEnvironment turns tracing off, as every other test file wants it.
  process.env.POWERTOOLS_TRACE_ENABLED = 'true';
});
after(async () => {
  startedDaemon?.close();
  await startedEnv?.stop();
});

const ofTrace = (trace: Trace): Datagram[] => daemon.ofTrace(trace);

/** Waits (at most 3 s) for `count` datagrams of the trace, then a little longer for any extra. */
async function datagramsOf(trace: Trace, count: number): Promise<Datagram[]> {
  const deadline = Date.now() + 3_000;
  while (ofTrace(trace).length < count && Date.now() < deadline) await sleep(5);
  await sleep(50);
  const found = ofTrace(trace);
  assert.equal(found.length, count, `datagrams of ${trace.root}: ${JSON.stringify(found.map((d) => d.doc))}`);
  return found;
}

function createUser(trace: Trace, email = `trace-${randomBytes(4).toString('hex')}@example.com`) {
  process.env._X_AMZN_TRACE_ID = trace.header;
  return invoke(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: { email, name: 'Traced User' } }));
}

/** A successful createUser with some variables changed (undefined: unset) for its duration. */
async function createUserWith(trace: Trace, variables: Record<string, string | undefined>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- deleting is how a variable is unset: process.env is the environment the handlers read, and a copy without the key would leave it set there
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(variables);
  try {
    assert.equal((await createUser(trace)).status, 201, JSON.stringify(variables));
  } finally {
    apply(saved);
  }
}

function split(datagrams: Datagram[], operation: string): { op: Datagram['doc']; calls: Array<Datagram['doc']> } {
  const op = datagrams.find((d) => d.doc.name === `## ${operation}`)?.doc;
  assert.ok(op, `no ## ${operation} subsegment in ${JSON.stringify(datagrams.map((d) => d.doc))}`);
  return { op, calls: datagrams.filter((d) => d.doc !== op).map((d) => d.doc) };
}

/**
 * Runs `action` with no sampled trace expected, then a sampled createUser as a sentinel: once the
 * sentinel's datagrams have arrived, anything `action` sent would have arrived before them.
 */
async function assertNothingSent(action: () => Promise<Trace>): Promise<void> {
  const silent = await action();
  const sentinel = newTrace();
  const before = daemon.received.length;
  assert.equal((await createUser(sentinel)).status, 201);
  await datagramsOf(sentinel, 2);
  assert.deepEqual(ofTrace(silent), []);
  assert.equal(daemon.received.length - before, 2, 'datagrams other than the sentinel\'s arrived');
}

describe('X-Ray subsegments', () => {
  // First in the file: the first invocation of the process is the cold start.
  it('sends ## createUser under the function segment and its transaction under it, cold on the first invocation only', async () => {
    const trace = newTrace();
    const startedAt = Date.now() / 1000;
    const reply = await createUser(trace);
    const endedAt = Date.now() / 1000;
    assert.equal(reply.status, 201);

    const datagrams = await datagramsOf(trace, 2);
    for (const d of datagrams) assert.equal(d.header, '{"format":"json","version":1}');
    const { op, calls } = split(datagrams, 'createUser');
    assert.equal(op.type, 'subsegment');
    assert.equal(op.trace_id, trace.root);
    assert.equal(op.parent_id, trace.parent);
    assert.match(op.id, /^[0-9a-f]{16}$/);
    assert.deepEqual(op.annotations, { ColdStart: true, Service: 'users-service', operation: 'createUser' });
    assert.ok(op.start_time >= startedAt - 0.001 && op.start_time <= op.end_time && op.end_time <= endedAt + 0.001, JSON.stringify(op));
    assert.equal(op.fault, undefined);
    assert.equal(op.error, undefined);

    const [put] = calls;
    assert.ok(put);
    assert.equal(put.type, 'subsegment');
    assert.equal(put.trace_id, trace.root);
    assert.equal(put.parent_id, op.id);
    assert.match(put.id, /^[0-9a-f]{16}$/);
    assert.notEqual(put.id, op.id);
    assert.equal(put.name, 'DynamoDB');
    assert.equal(put.namespace, 'aws');
    assert.equal(put.aws.operation, 'TransactWriteItems');
    assert.deepEqual(put.aws.table_names, [env.tableNames.users, env.tableNames.emails]);
    assert.equal(put.aws.region, 'eu-west-1');
    assert.equal(typeof put.aws.request_id, 'string');
    assert.equal(put.aws.retries, 0);
    assert.deepEqual(put.http, { response: { status: 200 } });
    assert.ok(op.start_time <= put.start_time && put.start_time <= put.end_time && put.end_time <= op.end_time, JSON.stringify([op, put]));
    for (const flag of ['error', 'fault', 'throttle', 'cause']) assert.equal(put[flag], undefined, flag);

    const second = newTrace();
    process.env._X_AMZN_TRACE_ID = second.header;
    const userId: string = reply.body.userId;
    const read = await invoke(env.handlers.getUser, apiEvent({ method: 'GET', path: '/users/{userId}', pathParameters: { userId } }));
    assert.equal(read.status, 200);
    const next = split(await datagramsOf(second, 2), 'getUser');
    assert.deepEqual(next.op.annotations, { ColdStart: false, Service: 'users-service', operation: 'getUser' });
    assert.equal(next.op.parent_id, second.parent);
    assert.equal(next.calls[0]?.aws.operation, 'GetItem');
    assert.equal(next.calls[0].parent_id, next.op.id);
  });

  it('marks a failed conditional write as a client error with its cause, the operation itself as fine', async () => {
    const trace = newTrace();
    process.env._X_AMZN_TRACE_ID = trace.header;
    const taken = { email: 'taken-for-xray@example.com', name: 'Taken', status: 'active' };
    process.env._X_AMZN_TRACE_ID = newTrace().header;
    assert.equal((await invoke(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: taken }))).status, 201);
    process.env._X_AMZN_TRACE_ID = trace.header;
    const reply = await invoke(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: taken }));
    assert.equal(reply.status, 409);
    const { op, calls } = split(await datagramsOf(trace, 2), 'createUser');
    assert.equal(op.fault, undefined);
    assert.equal(op.cause, undefined);
    const [update] = calls;
    assert.equal(update?.aws.operation, 'TransactWriteItems');
    assert.equal(update.error, true);
    assert.equal(update.fault, undefined);
    assert.equal(update.throttle, undefined);
    assert.deepEqual(update.http, { response: { status: 400 } });
    assert.equal(update.cause.exceptions.length, 1);
    assert.equal(update.cause.exceptions[0].type, 'TransactionCanceledException');
    assert.equal(update.cause.exceptions[0].remote, true);
    assert.equal(typeof update.cause.exceptions[0].message, 'string');
  });

  it('sends nothing for an invocation that is not sampled', async () => {
    await assertNothingSent(async () => {
      const trace = newTrace(false);
      assert.equal((await createUser(trace)).status, 201);
      return trace;
    });
  });

  it('sends nothing when POWERTOOLS_TRACE_ENABLED is false', async () => {
    await assertNothingSent(async () => {
      const trace = newTrace();
      await createUserWith(trace, { POWERTOOLS_TRACE_ENABLED: 'false' });
      return trace;
    });
  });

  it('sends nothing outside Lambda (no AWS_LAMBDA_INITIALIZATION_TYPE)', async () => {
    await assertNothingSent(async () => {
      const trace = newTrace();
      await createUserWith(trace, { AWS_LAMBDA_INITIALIZATION_TYPE: undefined });
      return trace;
    });
  });

  it('uses the UDP address of the "tcp:host:port udp:host:port" form', async () => {
    const { port } = daemon;
    for (const value of [`tcp:127.0.0.1:1 udp:127.0.0.1:${port}`, `udp:127.0.0.1:${port} tcp:127.0.0.1:1`]) {
      const trace = newTrace();
      await createUserWith(trace, { AWS_XRAY_DAEMON_ADDRESS: value });
      await datagramsOf(trace, 2);
    }
    // Imported here, not at the top: xray.ts decides the cold start when it is loaded.
    const { parseDaemonAddress } = await import('../../src/lib/xray.ts');
    assert.deepEqual(parseDaemonAddress('169.254.79.129:2000'), { host: '169.254.79.129', port: 2000 });
    assert.deepEqual(parseDaemonAddress(' tcp:10.0.0.1:2000  udp:10.0.0.2:2001 '), { host: '10.0.0.2', port: 2001 });
    assert.deepEqual(parseDaemonAddress('udp:10.0.0.2:2001'), { host: '10.0.0.2', port: 2001 });
    for (const bad of ['', 'localhost', ':2000', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:x', 'tcp:127.0.0.1:2000']) {
      assert.equal(parseDaemonAddress(bad), undefined, bad);
    }
  });

  it('answers normally when the daemon address is unusable or sending fails', async () => {
    // '::1' on the IPv4 socket makes the send itself fail (EINVAL); the reserved .invalid name
    // makes its lookup fail (ENOTFOUND, an 'error' event when nothing else takes it).
    for (const value of ['not an address', '127.0.0.1:99999', 'udp:::1:2000', 'no-such-host.invalid:2000']) {
      await createUserWith(newTrace(), { AWS_XRAY_DAEMON_ADDRESS: value });
    }
    // Let the failures arrive inside this test, where an uncaught error would fail it.
    await sleep(200);
  });
});

describe('X-Ray subsegments of failures (a process of their own each)', () => {
  /** createUser in a fresh process; resolves once the process has exited by itself. */
  async function createInChild(trace: Trace, overrides: Record<string, string>): Promise<{ status: number; datagrams: Datagram[] }> {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, '..', 'support', 'invoke-once.ts')], {
      env: { ...process.env, ...overrides, _X_AMZN_TRACE_ID: trace.header },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // A socket or timer left referenced would keep it alive: kill it after 20 s and fail.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c, s) => { resolve([c, s]); }));
    clearTimeout(timer);
    assert.equal(signal, null, `the process did not exit by itself (killed): ${stderr}`);
    assert.equal(code, 0, stderr);
    const { status } = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { status: number };
    return { status, datagrams: await datagramsOf(trace, 2) };
  }

  it('an unreachable DynamoDB: the transaction is a fault with its cause, the 503 is not', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => { resolve(); }));

    const trace = newTrace();
    const { status, datagrams } = await createInChild(trace, { DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}` });
    assert.equal(status, 503);
    const { op, calls } = split(datagrams, 'createUser');
    assert.deepEqual(op.annotations, { ColdStart: true, Service: 'users-service', operation: 'createUser' });
    assert.equal(op.fault, undefined);
    const [put] = calls;
    assert.equal(put?.aws.operation, 'TransactWriteItems');
    assert.equal(put.parent_id, op.id);
    assert.equal(put.fault, true);
    assert.equal(put.error, undefined);
    assert.equal(put.http, undefined);
    assert.equal(put.aws.retries, 1, 'two attempts');
    assert.equal(put.cause.exceptions.length, 1);
    assert.equal(typeof put.cause.exceptions[0].type, 'string');
    assert.equal(put.cause.exceptions[0].remote, undefined);
  });

  it('an unexpected error: the operation is a fault with the cause, the DynamoDB call a client error', async () => {
    const trace = newTrace();
    const { status, datagrams } = await createInChild(trace, { TABLE_NAME: 'no-such-table' });
    assert.equal(status, 500);
    const { op, calls } = split(datagrams, 'createUser');
    assert.equal(op.fault, true);
    assert.equal(op.cause.exceptions[0].type, 'ResourceNotFoundException');
    assert.equal(typeof op.cause.exceptions[0].message, 'string');
    const [put] = calls;
    assert.ok(put?.aws.table_names.includes('no-such-table'), JSON.stringify(put?.aws));
    assert.equal(put?.error, true);
    assert.equal(put.fault, undefined);
    assert.deepEqual(put.http, { response: { status: 400 } });
    assert.equal(put.cause.exceptions[0].type, 'ResourceNotFoundException');
    assert.equal(put.cause.exceptions[0].remote, true);
  });
});
