/**
 * Least privilege starts here: the CDK grants each function exactly the `dynamodbActions` that
 * lambda/service-contract.json declares for it, per table, and DynamoDB Local accepts any call,
 * so only this test notices a handler that calls an action its role will not have, or a
 * declared action no path of the code uses. It records every DynamoDB request each handler
 * sends (a proxy between the handlers and DynamoDB Local) on its success and failure paths, as
 * the IAM actions and tables they need, and compares them with the contract.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { TableRole } from '../../src/contract.ts';
import type { ApiHandler } from '../../src/lib/http.ts';
import { apiEvent } from '../support/events.ts';
import { contract, invoke, startBehindProxy, type Handlers, type ProxiedEnvironment, type Reply, type TableNames } from '../support/environment.ts';
import { actionsOfRequest, startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.ts';

// Unset when before() failed: after() runs all the same.
let env: ProxiedEnvironment<RecordingProxy> | undefined;
let proxy: RecordingProxy;
let tables: TableNames;
let handlers: Handlers;

before(async () => {
  env = await startBehindProxy('actions', startRecordingProxy);
  ({ proxy, tables, handlers } = env);
});
after(async () => {
  await env?.stop();
});

type ActionsByRole = Partial<Record<TableRole | 'unknown', string[]>>;

function byRole(recorded: Array<{ action: string; tableName: string }>): ActionsByRole {
  const roles = new Map(Object.entries(tables).map(([role, name]) => [name, role as TableRole]));
  const grouped: ActionsByRole = {};
  for (const { action, tableName } of recorded) {
    const role = roles.get(tableName) ?? 'unknown';
    grouped[role] = [...new Set([...(grouped[role] ?? []), action])].sort();
  }
  return grouped;
}

/** Invokes the handler and returns its status, body and the actions it needed, by table role. */
async function observe(handler: ApiHandler, event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<{ status: number; body: Reply['body']; actions: ActionsByRole }> {
  proxy.take();
  const reply = await invoke(handler, event);
  return { status: reply.status, body: reply.body, actions: byRole(proxy.take()) };
}

function declared(name: keyof Handlers): ActionsByRole {
  const operation = contract.operations.find((candidate) => candidate.name === name);
  assert.ok(operation, `${name} is not in the contract`);
  return Object.fromEntries(Object.entries(operation.dynamodbActions).map(([role, actions]) => [role, [...actions].sort()]));
}

/** Each path needs only declared actions, and together the paths need every declared one. */
function assertExactly(name: keyof Handlers, paths: ActionsByRole[]): void {
  const allowed = declared(name);
  const union: ActionsByRole = {};
  for (const path of paths) {
    for (const [role, actions] of Object.entries(path) as Array<[TableRole, string[]]>) {
      for (const action of actions) {
        assert.ok(allowed[role]?.includes(action), `${name} calls ${action} on the ${role} table, which the contract does not grant`);
        union[role] = [...new Set([...(union[role] ?? []), action])].sort();
      }
    }
  }
  assert.deepEqual(union, allowed, `${name}: the contract grants actions no path of the code calls`);
}

const newUser = () => ({ email: `actions-${randomBytes(4).toString('hex')}@example.com`, name: 'Least Privilege', status: 'active' });
const MISSING_USER = '01900000-0000-7000-8000-000000000000';
const create = (body: unknown, headers: Record<string, string> = {}) => observe(handlers.createUser, apiEvent({ method: 'POST', path: '/users', body, headers }));
const key = () => `"${randomBytes(8).toString('hex')}"`;

describe('each handler calls exactly the DynamoDB actions the contract grants it, per table', () => {
  it('createUser: created, e-mail taken, and with an Idempotency-Key created, replayed and failed', async () => {
    const body = newUser();
    const created = await create(body);
    assert.equal(created.status, 201);
    const taken = await create(body);
    assert.equal(taken.status, 409);
    const idempotencyKey = key();
    const first = await create(newUser(), { 'idempotency-key': idempotencyKey });
    assert.equal(first.status, 201);
    const replayed = await create(JSON.parse(JSON.stringify({ ...first.body, userId: undefined, createdDate: undefined, updatedDate: undefined, version: undefined })), {
      'idempotency-key': idempotencyKey,
    });
    assert.equal(replayed.status, 201);
    assert.deepEqual(replayed.actions, { idempotency: ['dynamodb:PutItem'] }, 'a replay writes no user');
    const failed = await create(body, { 'idempotency-key': key() });
    assert.equal(failed.status, 409);
    assertExactly('createUser', [created.actions, taken.actions, first.actions, replayed.actions, failed.actions]);
  });

  it('getUser, found and missing', async () => {
    const { body } = await create(newUser());
    const paths = [];
    for (const [userId, status] of [[body.userId, 200], [MISSING_USER, 404]] as const) {
      const read = await observe(handlers.getUser, apiEvent({ method: 'GET', path: '/users/{userId}', pathParameters: { userId } }));
      assert.equal(read.status, status);
      paths.push(read.actions);
    }
    assertExactly('getUser', paths);
  });

  for (const [name, method] of [['updateUser', 'PUT'], ['patchUser', 'PATCH']] as const) {
    it(`${name}: same e-mail, e-mail changed, e-mail taken, stale and missing`, async () => {
      const { body } = await create(newUser());
      const other = (await create(newUser())).body;
      const headers = method === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {};
      const change = (userId: string, fields: Record<string, unknown>, extra: Record<string, string> = {}) =>
        observe(
          handlers[name],
          apiEvent({
            method,
            path: '/users/{userId}',
            pathParameters: { userId },
            headers: { ...headers, ...extra },
            body: method === 'PUT' ? { email: body.email, name: 'Replaced', status: 'active', ...fields } : fields,
          }),
        );
      const cases = [
        { result: await change(body.userId, { name: 'Same Address' }), status: 200 },
        { result: await change(body.userId, { email: `moved-${randomBytes(4).toString('hex')}@example.com` }), status: 200 },
        { result: await change(body.userId, { email: other.email }), status: 409 },
        { result: await change(body.userId, { name: 'Stale' }, { 'if-match': '"1"' }), status: 412 },
        { result: await change(MISSING_USER, { name: 'Nobody' }), status: 404 },
      ];
      for (const { result, status } of cases) assert.equal(result.status, status, JSON.stringify(result.body));
      assertExactly(name, cases.map(({ result }) => result.actions));
    });
  }

  it('deleteUser: deleted and missing', async () => {
    const { body } = await create(newUser());
    const paths = [];
    for (const [userId, status] of [[body.userId, 204], [body.userId, 404]] as const) {
      const removal = await observe(handlers.deleteUser, apiEvent({ method: 'DELETE', path: '/users/{userId}', pathParameters: { userId } }));
      assert.equal(removal.status, status);
      paths.push(removal.actions);
    }
    assertExactly('deleteUser', paths);
  });

  it('listUsers: across pages, and by e-mail', async () => {
    const { body } = await create(newUser());
    await create(newUser());
    const first = await observe(handlers.listUsers, apiEvent({ method: 'GET', path: '/users', query: { limit: '1' } }));
    assert.equal(first.status, 200);
    assert.ok(first.body.nextCursor, 'a second page exists');
    const byEmail = await observe(handlers.listUsers, apiEvent({ method: 'GET', path: '/users', query: { email: body.email } }));
    assert.equal(byEmail.body.items[0]?.userId, body.userId);
    assertExactly('listUsers', [first.actions, byEmail.actions]);
  });

  it('rejected input reaches no DynamoDB action at all', async () => {
    const rejected = await create({ email: 'not-an-email', name: 'x' });
    assert.equal(rejected.status, 400);
    assert.deepEqual(rejected.actions, {});
  });
});

describe('the check itself', () => {
  it('reads transactions per item and table, as IAM authorises them', () => {
    assert.deepEqual(
      actionsOfRequest('DynamoDB_20120810.TransactWriteItems', {
        TransactItems: [{ Put: { TableName: 'a' } }, { Delete: { TableName: 'b' } }, { ConditionCheck: { TableName: 'a' } }],
      }),
      [
        { action: 'dynamodb:PutItem', tableName: 'a' },
        { action: 'dynamodb:DeleteItem', tableName: 'b' },
        { action: 'dynamodb:ConditionCheckItem', tableName: 'a' },
      ],
    );
  });

  it('fails on an undeclared action and on a declared action no path calls', () => {
    assert.throws(() => { assertExactly('getUser', [{ users: ['dynamodb:GetItem', 'dynamodb:Query'] }]); }, /calls dynamodb:Query on the users table/);
    assert.throws(() => { assertExactly('getUser', [{ users: ['dynamodb:GetItem'], emails: ['dynamodb:GetItem'] }]); }, /calls dynamodb:GetItem on the emails table/);
    assert.throws(() => { assertExactly('deleteUser', [{ users: ['dynamodb:GetItem', 'dynamodb:DeleteItem'] }]); }, /grants actions no path of the code calls/);
  });
});
