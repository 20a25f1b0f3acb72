/**
 * Least privilege starts here: the CDK grants each function exactly the `dynamodbActions` that
 * lambda/service-contract.json declares for it, and DynamoDB Local accepts any call, so only this
 * test notices a handler that calls an action its role will not have. It watches the DynamoDB
 * calls each handler makes (through the X-Ray subsegments, as deployed) on its success path and
 * its failure paths, and compares them with the contract.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { ApiHandler } from '../../src/lib/http.ts';
import { apiEvent } from '../support/events.ts';
import { contract, invoke, startTestEnvironment, type Handlers, type TestEnvironment } from '../support/environment.ts';
import { newTrace, startXRayDaemon, type Trace, type XRayDaemon } from '../support/xray-daemon.ts';

let env: TestEnvironment;
let daemon: XRayDaemon;

before(async () => {
  daemon = await startXRayDaemon();
  env = await startTestEnvironment();
  process.env.POWERTOOLS_TRACE_ENABLED = 'true';
});
after(async () => {
  daemon?.close();
  await env?.stop();
});

// IAM authorises a transaction per item: a Delete in TransactWriteItems needs dynamodb:DeleteItem
// (DynamoDB Developer Guide, "Using IAM with DynamoDB transactions"). The repository's only
// transaction is the delete's one Delete item.
const IAM_ACTIONS_OF_CALL: Record<string, string[]> = { TransactWriteItems: ['dynamodb:DeleteItem'] };

const actionsOf = (trace: Trace): string[] =>
  daemon
    .ofTrace(trace)
    .flatMap(({ doc }) => (doc.aws?.operation ? (IAM_ACTIONS_OF_CALL[doc.aws.operation] ?? [`dynamodb:${doc.aws.operation}`]) : []));

/**
 * Invokes the handler under a fresh sampled trace and returns its status with the DynamoDB actions
 * it called. Subsegments leave as UDP datagrams: wait (at most 3 s) for `expectedCalls` of them,
 * then briefly for any extra call, so a slow machine cannot hide or invent one.
 */
async function observe(
  handler: ApiHandler,
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  expectedCalls = 1,
): Promise<{ status: number; actions: string[]; body: any }> {
  const trace = newTrace();
  process.env._X_AMZN_TRACE_ID = trace.header;
  const reply = await invoke(handler, event);
  const deadline = Date.now() + 3_000;
  while (actionsOf(trace).length < expectedCalls && Date.now() < deadline) await sleep(5);
  await sleep(50);
  return { status: reply.status, actions: actionsOf(trace), body: reply.body };
}

function declared(name: keyof Handlers): string[] {
  const operation = contract.operations.find((candidate) => candidate.name === name);
  assert.ok(operation, `${name} is not in the contract`);
  return [...operation.dynamodbActions];
}

const newUser = () => ({ email: `actions-${randomBytes(4).toString('hex')}@example.com`, name: 'Least Privilege', status: 'active' });
const MISSING_USER = '01900000-0000-7000-8000-000000000000';

describe('each handler calls exactly the DynamoDB actions the contract grants it', () => {
  it('createUser', async () => {
    const created = await observe(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: newUser() }));
    assert.equal(created.status, 201);
    assert.deepEqual(created.actions, declared('createUser'));
  });

  it('getUser, found and missing', async () => {
    const { body } = await observe(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: newUser() }));
    for (const [userId, status] of [[body.userId, 200], [MISSING_USER, 404]] as const) {
      const read = await observe(env.handlers.getUser, apiEvent({ method: 'GET', path: '/users/{userId}', pathParameters: { userId } }));
      assert.equal(read.status, status);
      assert.deepEqual(read.actions, declared('getUser'));
    }
  });

  it('updateUser: replaced, stale and missing', async () => {
    const { body } = await observe(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: newUser() }));
    const cases = [
      { userId: body.userId, ifMatch: '"1"', status: 200 },
      { userId: body.userId, ifMatch: '"1"', status: 412 },
      { userId: MISSING_USER, ifMatch: '*', status: 412 },
      { userId: MISSING_USER, ifMatch: '"1", "2"', status: 412 },
    ];
    for (const { userId, ifMatch, status } of cases) {
      const update = await observe(
        env.handlers.updateUser,
        apiEvent({ method: 'PUT', path: '/users/{userId}', pathParameters: { userId }, headers: { 'if-match': ifMatch }, body: newUser() }),
      );
      assert.equal(update.status, status);
      assert.deepEqual(update.actions, declared('updateUser'));
    }
  });

  it('patchUser: patched and missing', async () => {
    const { body } = await observe(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: newUser() }));
    for (const [userId, status] of [[body.userId, 200], [MISSING_USER, 404]] as const) {
      const patch = await observe(
        env.handlers.patchUser,
        apiEvent({ method: 'PATCH', path: '/users/{userId}', pathParameters: { userId }, headers: { 'content-type': 'application/merge-patch+json' }, body: { phoneNumber: null } }),
      );
      assert.equal(patch.status, status);
      assert.deepEqual(patch.actions, declared('patchUser'));
    }
  });

  it('deleteUser: deleted and missing', async () => {
    const { body } = await observe(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: newUser() }));
    for (const [userId, status] of [[body.userId, 204], [body.userId, 404]] as const) {
      const removal = await observe(env.handlers.deleteUser, apiEvent({ method: 'DELETE', path: '/users/{userId}', pathParameters: { userId } }));
      assert.equal(removal.status, status);
      assert.deepEqual(removal.actions, declared('deleteUser'));
    }
  });

  it('listUsers, across pages', async () => {
    await observe(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: newUser() }));
    await observe(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: newUser() }));
    const first = await observe(env.handlers.listUsers, apiEvent({ method: 'GET', path: '/users', query: { limit: '1' } }));
    assert.equal(first.status, 200);
    assert.ok(first.body.nextCursor, 'a second page exists');
    assert.ok(first.actions.length >= 1);
    assert.deepEqual([...new Set(first.actions)], declared('listUsers'));
  });

  it('rejected input reaches no DynamoDB action at all', async () => {
    const rejected = await observe(
      env.handlers.createUser,
      apiEvent({ method: 'POST', path: '/users', body: { email: 'not-an-email', name: 'x' } }),
      0,
    );
    assert.equal(rejected.status, 400);
    assert.deepEqual(rejected.actions, []);
  });
});
