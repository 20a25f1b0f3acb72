/**
 * Idempotency-Key on POST /users (IETF httpapi draft): a repeat gets the first response and
 * writes nothing; a reused key with another body is 422; a repeat while the first is in flight is
 * 409; a malformed key is 400. Through a TCP proxy, so a request can be kept in flight.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { lambdaContext as harnessContext } from '../../../harness/api-event.mjs';
import { CLIENT_LIMITS } from '../../src/lib/dynamodb-client.ts';
import { IDEMPOTENCY_WINDOW_SECONDS } from '../../src/lib/idempotency.ts';
import { apiEvent } from '../support/events.ts';
import { invoke, startBehindProxy, type Handlers, type ProxiedEnvironment, type Reply, type TableNames } from '../support/environment.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

// Unset when before() failed: after() runs all the same.
let env: ProxiedEnvironment<TcpProxy> | undefined;
let proxy: TcpProxy;
let tables: TableNames;
let handlers: Handlers;
let document: DynamoDBDocumentClient;

before(async () => {
  env = await startBehindProxy('idempotency', (endpoint) => startTcpProxy({ host: '127.0.0.1', port: Number(new URL(endpoint).port) }));
  ({ proxy, tables, handlers, document } = env);
});
after(async () => {
  await env?.stop();
});

const newKey = () => `"${randomBytes(12).toString('hex')}"`;
const newBody = (tag = 'keyed') => ({ email: `${tag}-${randomBytes(4).toString('hex')}@example.com`, name: 'Keyed User' });

function post(body: unknown, key: string | undefined, options: { subject?: string } = {}): Promise<Reply> {
  return invoke(handlers.createUser, apiEvent({ method: 'POST', path: '/users', body, headers: key === undefined ? {} : { 'idempotency-key': key }, ...options }));
}

async function scan(table: string): Promise<Record<string, unknown>[]> {
  return (await document.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];
}
const usersWith = async (email: string) => (await scan(tables.users)).filter((item) => item.email === email);

describe('Idempotency-Key on POST /users', () => {
  it('a repeat with the same key and body gets the first response, and writes nothing', async () => {
    const key = newKey();
    const body = newBody();
    const first = await post(body, key);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const again = await post(body, key);
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.ETag, first.headers.ETag);
    assert.equal(again.headers.Location, first.headers.Location);
    assert.equal((await usersWith(body.email)).length, 1);
  });

  it('compares the body after normalisation: a differently cased address is the same request', async () => {
    const key = newKey();
    const body = newBody('Cased');
    const first = await post(body, key);
    const again = await post({ ...body, email: `  ${body.email.toUpperCase()} ` }, key);
    assert.equal(again.status, 201);
    assert.equal(again.body.userId, first.body.userId);
  });

  it('the same key with another body is 422 naming Idempotency-Key, and writes nothing', async () => {
    const key = newKey();
    assert.equal((await post(newBody(), key)).status, 201);
    const other = newBody('other');
    const reused = await post(other, key);
    assert.equal(reused.status, 422, JSON.stringify(reused.body));
    assert.equal(reused.body.error.code, 'UnprocessableContent');
    assert.equal(reused.body.error.field, 'Idempotency-Key');
    assert.deepEqual(await usersWith(other.email), []);
  });

  it('a repeat while the first request is in flight is 409 naming Idempotency-Key; the first still succeeds once', async () => {
    const key = newKey();
    const body = newBody('inflight');
    // The first request's user write answers late (within the client's timeout, so no SDK retry).
    const heldBefore = proxy.held();
    proxy.holdNextResponse(CLIENT_LIMITS.requestTimeoutMs - 700, 'TransactWriteItems');
    const first = post(body, key);
    while (proxy.held() === heldBefore) await sleep(5);
    const second = await post(body, key);
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.error.code, 'Conflict');
    assert.equal(second.body.error.field, 'Idempotency-Key');
    const firstReply = await first;
    assert.equal(firstReply.status, 201);
    assert.equal((await usersWith(body.email)).length, 1);
    assert.deepEqual((await post(body, key)).body, firstReply.body, 'and is replayed after');
  });

  it('is scoped to the caller: another client with the same key makes its own request', async () => {
    const key = newKey();
    const mine = await post(newBody('mine'), key, { subject: 'client-a' });
    const theirs = await post(newBody('theirs'), key, { subject: 'client-b' });
    assert.equal(mine.status, 201);
    assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
    assert.notEqual(theirs.body.userId, mine.body.userId);
  });

  it('keeps only success: a 409 for a taken address is not replayed once the address is free', async () => {
    const body = newBody('taken');
    const holder = await post(body, undefined);
    const key = newKey();
    const refused = await post({ ...body, name: 'Second' }, key);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.field, 'email');
    await invoke(handlers.deleteUser, apiEvent({ method: 'DELETE', path: '/users/{userId}', pathParameters: { userId: holder.body.userId } }));
    const retried = await post({ ...body, name: 'Second' }, key);
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
  });

  it('stores the response for 24 hours under DynamoDB TTL, keyed by a hash (no key or caller in clear)', async () => {
    const key = newKey();
    const started = Date.now() / 1000;
    await post(newBody('ttl'), key);
    const records = (await scan(tables.idempotency)).filter((item) => item.status === 'COMPLETED');
    const record = records.find((item) => JSON.stringify(item.data).includes('ttl-'));
    assert.ok(record, JSON.stringify(records));
    assert.match(String(record.id), /^createUser#[A-Za-z0-9+/]{22}==$/, 'an MD5 of caller and key');
    assert.ok(!String(record.id).includes(key.slice(1, -1)));
    const expiration = Number(record.expiration);
    assert.ok(expiration >= Math.floor(started) + IDEMPOTENCY_WINDOW_SECONDS && expiration <= Date.now() / 1000 + IDEMPOTENCY_WINDOW_SECONDS + 1, String(expiration));
  });

  it('a late response to the user write (the SDK resends it) still makes one user, and the replay agrees', async () => {
    const key = newKey();
    const body = newBody('late');
    proxy.holdNextResponse(CLIENT_LIMITS.requestTimeoutMs + 300, 'TransactWriteItems');
    const first = await post(body, key);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal((await usersWith(body.email)).length, 1);
    assert.deepEqual((await post(body, key)).body, first.body);
  });

  it('a late response from the idempotency store is 409 until the in-progress record expires, then one user', async () => {
    // The store's SDK resends the in-progress write, which then finds its own record: Powertools
    // cannot tell it from another request's, so the answer is "in progress, retry later". The
    // record expires with the invocation's remaining time (a short one here), after which a
    // retry runs once.
    const key = newKey();
    const body = newBody('store-late');
    const context = harnessContext({ functionName: 'users-service-test', timeoutMs: 2_500 }) as Context;
    const event = apiEvent({ method: 'POST', path: '/users', body, headers: { 'idempotency-key': key } });
    proxy.holdNextResponse(CLIENT_LIMITS.requestTimeoutMs + 300, 'PutItem');
    const first = await handlers.createUser(event, context);
    assert.equal(first.statusCode, 409, first.body);
    assert.deepEqual(await usersWith(body.email), [], 'nothing was written');
    await sleep(2_600);
    const retried = await post(body, key);
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    assert.equal((await usersWith(body.email)).length, 1);
  });

  it('a malformed key is 400 naming Idempotency-Key, and nothing is written', async () => {
    for (const key of ['unquoted-key', '""', `"${'k'.repeat(256)}"`, '"back\\\\slash"', '"caf\u00e9"', '"a", "b"', ':Ynl0ZXM=:']) {
      const body = newBody('malformed');
      const reply = await post(body, key);
      assert.equal(reply.status, 400, `${key}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.field, 'Idempotency-Key');
      assert.deepEqual(await usersWith(body.email), []);
    }
    assert.equal((await post(newBody('longest'), `"${'k'.repeat(255)}"`)).status, 201, 'the longest key is accepted');
  });
});
