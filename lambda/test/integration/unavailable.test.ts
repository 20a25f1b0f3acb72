/**
 * DynamoDB unreachable: the functions answer 503 ServiceUnavailable with Retry-After within a
 * few seconds, whether the endpoint hangs (accepts connections, never answers) or refuses them.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { apiEvent } from '../support/events.ts';
import { importHandlers, invoke, setFunctionEnvironment, type Handlers, type Reply } from '../support/environment.ts';

const DEADLINE_MS = 5_000;
let server: Server;
const sockets = new Set<Socket>();
let handlers: Handlers;
let userId: string;

before(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  setFunctionEnvironment({ tableNames: { users: 'users', emails: 'emails', idempotency: 'idempotency' }, endpoint: `http://127.0.0.1:${address.port}` });
  handlers = await importHandlers();
  ({ userId } = { userId: (await import('../../src/lib/user-keys.ts')).uuidv7() });
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  if (server.listening) await new Promise<void>((resolve) => server.close(() => { resolve(); }));
});

function requests(): Array<[string, () => Promise<Reply>]> {
  const body = { email: 'down@example.com', name: 'Down', status: 'active' };
  const path = '/users/{userId}';
  return [
    ['create', () => invoke(handlers.createUser, apiEvent({ method: 'POST', path: '/users', body }))],
    ['list', () => invoke(handlers.listUsers, apiEvent({ method: 'GET', path: '/users' }))],
    ['get', () => invoke(handlers.getUser, apiEvent({ method: 'GET', path, pathParameters: { userId } }))],
    ['update', () => invoke(handlers.updateUser, apiEvent({ method: 'PUT', path, pathParameters: { userId }, body }))],
    ['delete', () => invoke(handlers.deleteUser, apiEvent({ method: 'DELETE', path, pathParameters: { userId } }))],
  ];
}

async function assertUnavailableWithinDeadline(name: string, call: () => Promise<Reply>): Promise<void> {
  const started = performance.now();
  const reply = await call();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < DEADLINE_MS, `${name} took ${Math.round(elapsed)} ms`);
  assert.equal(reply.status, 503, `${name}: ${JSON.stringify(reply.body)}`);
  assert.equal(reply.headers['Content-Type'], 'application/json');
  assert.equal(reply.headers['Retry-After'], '1');
  assert.equal(reply.body.error.code, 'ServiceUnavailable');
  assert.equal(typeof reply.body.error.message, 'string');
  assert.equal('field' in reply.body.error, false);
}

describe('when DynamoDB does not answer', () => {
  it('every operation answers 503 within the deadline', async () => {
    await Promise.all(requests().map(([name, call]) => assertUnavailableWithinDeadline(name, call)));
  });
});

describe('when DynamoDB refuses connections', () => {
  it('every operation answers 503 within the deadline', async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    for (const [name, call] of requests()) await assertUnavailableWithinDeadline(name, call);
  });
});

describe('bad input still wins over an unavailable store', () => {
  it('answers 400, not 503, without touching DynamoDB', async () => {
    const reply = await invoke(handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: { name: 'No Email' } }));
    assert.equal(reply.status, 400);
    assert.equal(reply.body.error.field, 'email');
  });
});
