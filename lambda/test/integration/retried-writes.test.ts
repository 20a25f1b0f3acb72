/**
 * The SDK's own retries: a write whose response is late (held past the client's request timeout
 * by a proxy between the handlers and DynamoDB Local) has been applied, and the SDK sends it again.
 * One request must still have exactly one effect, and its answer must tell the truth.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CLIENT_LIMITS, createDynamoDbClient } from '../../src/lib/dynamodb-client.ts';
import { keyOf } from '../../src/lib/user-keys.ts';
import { apiEvent } from '../support/events.ts';
import { invoke, startBehindProxy, type Handlers, type ProxiedEnvironment, type Reply, type TableNames } from '../support/environment.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

// Past the client's request timeout, so the SDK gives the first attempt up and sends it again.
const HOLD_MS = CLIENT_LIMITS.requestTimeoutMs + 300;

// Unset when before() failed: after() runs all the same.
let env: ProxiedEnvironment<TcpProxy> | undefined;
let proxy: TcpProxy;
let tables: TableNames;
let handlers: Handlers;
let document: DynamoDBDocumentClient;
let tableName: string;

before(async () => {
  env = await startBehindProxy('retried-writes', (endpoint) => startTcpProxy({ host: '127.0.0.1', port: Number(new URL(endpoint).port) }));
  ({ proxy, tables, handlers, document } = env);
  tableName = tables.users;
});
after(async () => {
  await env?.stop();
});

const path = '/users/{userId}';
const body = (name: string) => ({ email: `${name.toLowerCase().replace(/[^a-z]/g, '')}@example.com`, name, status: 'active' });

async function items(): Promise<Record<string, unknown>[]> {
  return (await document.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
}

async function stored(userId: string): Promise<Record<string, unknown> | undefined> {
  return (await document.send(new GetCommand({ TableName: tableName, Key: keyOf(userId), ConsistentRead: true }))).Item;
}

async function claim(email: string): Promise<Record<string, unknown> | undefined> {
  return (await document.send(new GetCommand({ TableName: tables.emails, Key: { email }, ConsistentRead: true }))).Item;
}

async function created(name: string): Promise<string> {
  const reply = await invoke(handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: body(name) }));
  assert.equal(reply.status, 201);
  return reply.body.userId as string;
}

/** Invokes with the response to the next write (a transaction) held past the client timeout, and checks it was. */
async function withLateResponse(call: () => Promise<Reply>, operation = 'TransactWriteItems'): Promise<Reply> {
  const heldBefore = proxy.held();
  const connectionsBefore = proxy.connections();
  proxy.holdNextResponse(HOLD_MS, operation);
  const reply = await call();
  assert.equal(proxy.held(), heldBefore + 1, 'a response was held');
  assert.ok(proxy.connections() > connectionsBefore, 'the SDK retried on a new connection');
  return reply;
}

describe('the fault itself', () => {
  it('a late response makes the SDK resend a write that was applied, and the resend fails its condition', async () => {
    const client = DynamoDBDocumentClient.from(createDynamoDbClient({ endpoint: proxy.endpoint, region: 'eu-west-1' }));
    try {
      const key = keyOf('01890a5d-ac96-774b-bcce-b302099a8057');
      proxy.holdNextResponse(HOLD_MS);
      const write = client.send(
        new PutCommand({ TableName: tableName, Item: { ...key, probe: true }, ConditionExpression: 'attribute_not_exists(userId)' }),
      );
      await assert.rejects(write, ConditionalCheckFailedException);
      assert.equal((await stored(key.userId))?.probe, true, 'yet the first attempt was applied');
    } finally {
      client.destroy();
    }
  });
});

describe('writes whose response is late', () => {
  it('POST /users creates exactly one user and answers with it', async () => {
    const before = (await items()).length;
    const reply = await withLateResponse(() => invoke(handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: body('Once') })));
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    const after = await items();
    assert.equal(after.length, before + 1, 'one user, not two');
    assert.equal((await stored(reply.body.userId))?.name, 'Once');
    assert.equal(reply.headers.Location, `/users/${reply.body.userId}`);
    assert.equal(reply.headers.ETag, '"1"');
    assert.deepEqual(await claim(reply.body.email), await stored(reply.body.userId), 'and its e-mail claim, once');
  });

  it('PUT that moves the address is applied once: the old claim released, the new one holding the user', async () => {
    const userId = await created('Relocate');
    const before = await stored(userId);
    const reply = await withLateResponse(() =>
      invoke(handlers.updateUser, apiEvent({ method: 'PUT', path, pathParameters: { userId }, body: body('Relocated') })),
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.version, 2);
    assert.equal(await claim(String(before?.email)), undefined);
    assert.deepEqual(await claim(reply.body.email), await stored(userId));
  });

  it('PUT without If-Match is applied once (version 1 to 2)', async () => {
    const userId = await created('Replace');
    const reply = await withLateResponse(() =>
      invoke(handlers.updateUser, apiEvent({ method: 'PUT', path, pathParameters: { userId }, body: body('Replaced') })),
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.version, 2);
    assert.equal(reply.headers.ETag, '"2"');
    assert.equal((await stored(userId))?.version, 2);
  });

  it('PUT with If-Match answers 200 for the write it applied, not 412', async () => {
    const userId = await created('Matched');
    const reply = await withLateResponse(() =>
      invoke(handlers.updateUser, apiEvent({ method: 'PUT', path, pathParameters: { userId }, headers: { 'if-match': '"1"' }, body: body('Matched Two') })),
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.name, 'Matched Two');
    assert.equal(reply.body.version, 2);
    assert.equal((await stored(userId))?.version, 2);
  });

  it('a stale If-Match is still 412, and the user unchanged', async () => {
    const userId = await created('Stale');
    // Evaluated on the read, so the read is the request held.
    const reply = await withLateResponse(
      () => invoke(handlers.updateUser, apiEvent({ method: 'PUT', path, pathParameters: { userId }, headers: { 'if-match': '"7"' }, body: body('Stale Two') })),
      'GetItem',
    );
    assert.equal(reply.status, 412);
    assert.equal((await stored(userId))?.name, 'Stale');
  });

  for (const [label, headers] of [
    ['with If-Match', { 'if-match': '"1"' }],
    ['without If-Match', {}],
  ] as const) {
    it(`PATCH ${label} is applied once and answers 200 for the write it applied`, async () => {
      const userId = await created(`Patch ${label.replace(' ', '')}`);
      const reply = await withLateResponse(() =>
        invoke(
          handlers.patchUser,
          apiEvent({ method: 'PATCH', path, pathParameters: { userId }, headers: { ...headers, 'content-type': 'application/merge-patch+json' }, body: { status: 'suspended' } }),
        ),
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body.version, 2);
      assert.equal(reply.body.status, 'suspended');
      assert.equal(reply.headers.ETag, '"2"');
      assert.equal((await stored(userId))?.version, 2, 'one effect: version 1 to 2, not 3');
    });

    it(`DELETE ${label} answers 204 for the delete it applied, not 404`, async () => {
      const userId = await created(`Delete ${label.replace(' ', '')}`);
      const reply = await withLateResponse(() =>
        invoke(handlers.deleteUser, apiEvent({ method: 'DELETE', path, pathParameters: { userId }, headers })),
      );
      assert.equal(reply.status, 204, JSON.stringify(reply.body));
      assert.equal(await stored(userId), undefined, 'the user is gone');
      assert.equal(await claim(body(`Delete ${label.replace(' ', '')}`).email), undefined, 'and its address is free');
    });
  }

  it('DELETE of a user that never existed is still 404', async () => {
    const reply = await withLateResponse(
      () => invoke(handlers.deleteUser, apiEvent({ method: 'DELETE', path, pathParameters: { userId: '01890a5d-ac96-774b-bcce-b302099a8099' } })),
      'GetItem',
    );
    assert.equal(reply.status, 404);
  });
});
