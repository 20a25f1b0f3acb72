import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiEvent } from '../support/events.ts';
import { invoke, startTestEnvironment, type Reply, type TestEnvironment } from '../support/environment.ts';

let env: TestEnvironment;
// What before() got to start: after() runs even when before() failed, and stops only that.
let started: TestEnvironment | undefined;
const TOTAL = 45;
const created = new Map<string, Record<string, unknown>>();

function list(query?: Record<string, string>): Promise<Reply> {
  return invoke(env.handlers.listUsers, apiEvent({ method: 'GET', path: '/users', ...(query ? { query } : {}) }));
}

async function listAll(limit: number): Promise<{ ids: string[]; pageSizes: number[] }> {
  const ids: string[] = [];
  const pageSizes: number[] = [];
  let cursor: string | null = null;
  do {
    const reply: Reply = await list({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual(Object.keys(reply.body).sort(), ['items', 'nextCursor']);
    pageSizes.push(reply.body.items.length);
    for (const item of reply.body.items) {
      const userId: string = item.userId;
      assert.deepEqual(item, created.get(userId), 'listed items have the same shape as GET');
      ids.push(userId);
    }
    cursor = reply.body.nextCursor;
    assert.ok(pageSizes.length <= TOTAL + 1, 'pagination does not terminate');
  } while (cursor !== null);
  return { ids, pageSizes };
}

before(async () => {
  env = started = await startTestEnvironment();
});
after(async () => {
  await started?.stop();
});

describe('GET /users', () => {
  it('returns an empty page with a null cursor for an empty table', async () => {
    const reply = await list();
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['Content-Type'], 'application/json');
    assert.deepEqual(reply.body, { items: [], nextCursor: null });
  });

  it('pages through every user exactly once', async () => {
    for (let i = 0; i < TOTAL; i++) {
      const reply = await invoke(
        env.handlers.createUser,
        apiEvent({ method: 'POST', path: '/users', body: { email: `list${i}@example.com`, name: `List ${i}` } }),
      );
      assert.equal(reply.status, 201);
      created.set(reply.body.userId, reply.body);
    }
    for (const limit of [1, 7, 10, 15, 44, 45, 100]) {
      const { ids, pageSizes } = await listAll(limit);
      assert.equal(ids.length, TOTAL, `limit ${limit}`);
      assert.deepEqual(new Set(ids), new Set(created.keys()), `limit ${limit}`);
      const expectedPages = Math.ceil(TOTAL / limit);
      assert.equal(pageSizes.length, expectedPages, `limit ${limit}: no trailing empty page`);
      assert.ok(pageSizes.slice(0, -1).every((size) => size === limit), `limit ${limit}: full pages ${pageSizes.join(', ')}`);
    }
  });

  it('defaults to 20 items per page', async () => {
    const reply = await list();
    assert.equal(reply.body.items.length, 20);
    assert.equal(typeof reply.body.nextCursor, 'string');
    assert.match(reply.body.nextCursor, /^[A-Za-z0-9_-]+$/);
  });

  it('rejects a limit outside 1..100 or not an integer', async () => {
    for (const limit of ['0', '101', '-5', '2.5', 'abc', '', '1e1']) {
      const reply = await list({ limit });
      assert.equal(reply.status, 400, `limit=${limit}`);
      assert.equal(reply.body.error.code, 'ValidationFailed');
      assert.equal(reply.body.error.field, 'limit');
    }
  });

  it('rejects a cursor it did not issue', async () => {
    const valid = (await list({ limit: '1' })).body.nextCursor as string;
    const tampered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(valid, 'base64url').toString('utf8')), createdDate: '1999-01-01T00:00:00.000Z' }),
    ).toString('base64url');
    for (const cursor of ['garbage!', 'e30', `${valid}x`, tampered, Buffer.from('[]').toString('base64url')]) {
      const reply = await list({ cursor });
      assert.equal(reply.status, 400, `cursor=${cursor}`);
      assert.equal(reply.body.error.code, 'ValidationFailed');
      assert.equal(reply.body.error.field, 'cursor');
    }
  });
});
