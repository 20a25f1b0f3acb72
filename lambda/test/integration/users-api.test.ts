import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiEvent } from '../support/events.ts';
import { invoke, startTestEnvironment, type Reply, type TestEnvironment } from '../support/environment.ts';

/** The stored item, which is exactly what the API shows; its e-mail claim holds the same copy. */
async function storedUser(userId: string, createdDate: string): Promise<Record<string, unknown> | undefined> {
  const item = await env.getItem(userId, createdDate);
  if (!item) return item;
  assert.deepEqual(await env.getEmailItem(String(item.email)), item, 'the e-mail claim carries a copy of the user');
  return item;
}

let env: TestEnvironment;
// What before() got to start: after() runs even when before() failed, and stops only that.
let started: TestEnvironment | undefined;
// Imported after the environment is set: the repository module creates its client on import.
let uuidv7: () => string;

before(async () => {
  env = started = await startTestEnvironment();
  ({ uuidv7 } = await import('../../src/lib/user-keys.ts'));
});
after(async () => {
  await started?.stop();
});

const USER_PATH = '/users/{userId}';
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function create(body: unknown, options: { base64?: boolean } = {}): Promise<Reply> {
  return invoke(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body, ...options }));
}
function get(userId: string): Promise<Reply> {
  return invoke(env.handlers.getUser, apiEvent({ method: 'GET', path: USER_PATH, pathParameters: { userId } }));
}
function update(userId: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return invoke(env.handlers.updateUser, apiEvent({ method: 'PUT', path: USER_PATH, pathParameters: { userId }, body, headers }));
}
function remove(userId: string, headers: Record<string, string> = {}): Promise<Reply> {
  return invoke(env.handlers.deleteUser, apiEvent({ method: 'DELETE', path: USER_PATH, pathParameters: { userId }, headers }));
}

let counter = 0;
async function newUser(overrides: Record<string, unknown> = {}): Promise<Reply> {
  counter += 1;
  const reply = await create({ email: `user${counter}@example.com`, name: `User ${counter}`, ...overrides });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply;
}

function assertError(reply: Reply, status: number, code: string, field?: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.headers['Content-Type'], 'application/json');
  assert.equal(reply.body.error.code, code);
  assert.equal(typeof reply.body.error.message, 'string');
  assert.ok(reply.body.error.message.length > 0);
  if (field === undefined) {
    assert.equal('field' in reply.body.error, false);
  } else {
    assert.equal(reply.body.error.field, field);
    assert.ok(reply.body.error.message.includes(field), `message should name ${field}: ${reply.body.error.message}`);
  }
  assert.deepEqual(Object.keys(reply.body), ['error']);
}

describe('POST /users', () => {
  it('creates a user: 201, Location, ETag, normalised body, stored item', async () => {
    const before = Date.now();
    const reply = await create({ email: '  Grace.Hopper@Example.COM ', name: ' Grace Hopper ', phoneNumber: '+14155550100' });
    assert.equal(reply.status, 201);
    assert.equal(reply.headers['Content-Type'], 'application/json');
    const user = reply.body;
    assert.match(user.userId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(reply.headers.Location, `/users/${user.userId}`);
    assert.equal(reply.headers.ETag, '"1"');
    assert.equal(user.email, 'grace.hopper@example.com');
    assert.equal(user.name, 'Grace Hopper');
    assert.equal(user.status, 'active');
    assert.equal(user.phoneNumber, '+14155550100');
    assert.equal(user.version, 1);
    assert.match(user.createdDate, ISO_MS);
    assert.equal(user.updatedDate, user.createdDate);
    const created = Date.parse(user.createdDate);
    assert.ok(created >= before - 1 && created <= Date.now() + 1);
    // createdDate is the timestamp embedded in the UUIDv7.
    assert.equal(new Date(Number.parseInt(user.userId.replace(/-/g, '').slice(0, 12), 16)).toISOString(), user.createdDate);
    assert.deepEqual(await storedUser(user.userId, user.createdDate), user);
  });

  it('accepts a base64-encoded body', async () => {
    const reply = await create({ email: 'b64@example.com', name: 'Base Sixtyfour', status: 'suspended' }, { base64: true });
    assert.equal(reply.status, 201);
    assert.equal(reply.body.email, 'b64@example.com');
    assert.equal(reply.body.status, 'suspended');
  });

  it('gives every user a distinct id', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => create({ email: `many${i}@example.com`, name: 'Many' })));
    assert.equal(new Set(replies.map((r) => r.body.userId)).size, 20);
  });

  const badBodies: Array<[string, unknown, string, boolean?]> = [
    ['missing body', undefined, 'body'],
    ['empty body', '', 'body'],
    ['malformed JSON', '{"email": "a@b.co",', 'body'],
    ['a JSON array', [], 'body'],
    ['JSON null', 'null', 'body'],
    ['a JSON number', '42', 'body'],
    ['base64 that is not JSON', 'not json at all', 'body', true],
    ['missing email', { name: 'A' }, 'email'],
    ['missing name', { email: 'a@b.co' }, 'name'],
    ['email of the wrong type', { email: 7, name: 'A' }, 'email'],
    ['name of the wrong type', { email: 'a@b.co', name: { first: 'A' } }, 'name'],
    ['an unknown field', { email: 'a@b.co', name: 'A', isAdmin: true }, 'isAdmin'],
    ['an over-long name', { email: 'a@b.co', name: 'x'.repeat(201) }, 'name'],
    ['an over-long email (256 characters)', { email: `${'a'.repeat(60)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, name: 'A' }, 'email'],
    ['an invalid email', { email: 'not-an-email', name: 'A' }, 'email'],
    ['an invalid status', { email: 'a@b.co', name: 'A', status: 'deleted' }, 'status'],
    ['an invalid phone number', { email: 'a@b.co', name: 'A', phoneNumber: '555-0100' }, 'phoneNumber'],
    ['a blank name', { email: 'a@b.co', name: '   ' }, 'name'],
    ['userId', { email: 'a@b.co', name: 'A', userId: '0193a0b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b' }, 'userId'],
    ['createdDate', { email: 'a@b.co', name: 'A', createdDate: '2020-01-01T00:00:00.000Z' }, 'createdDate'],
    ['version', { email: 'a@b.co', name: 'A', version: 5 }, 'version'],
    ['updatedDate', { email: 'a@b.co', name: 'A', updatedDate: '2020-01-01T00:00:00.000Z' }, 'updatedDate'],
  ];
  for (const [label, body, field, base64] of badBodies) {
    it(`rejects ${label} with 400 naming ${field}, writing nothing`, async () => {
      const count = (await env.scanAll()).length;
      const reply = await create(body, { base64: base64 ?? false });
      assertError(reply, 400, 'ValidationFailed', field);
      assert.equal((await env.scanAll()).length, count);
    });
  }
});

describe('GET /users/{userId}', () => {
  it('returns the user with its ETag', async () => {
    const created = await newUser({ status: 'suspended' });
    const reply = await get(created.body.userId);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.ETag, '"1"');
    assert.equal(reply.headers['Content-Type'], 'application/json');
    assert.deepEqual(reply.body, created.body);
  });

  it('answers 404 for an unknown user', async () => {
    assertError(await get(uuidv7()), 404, 'NotFound');
  });

  it('answers 400 naming userId for a malformed id', async () => {
    for (const userId of ['abc', '6fa459ea-ee8a-4ca4-894e-db77e160355e', uuidv7().toUpperCase(), "' OR 1=1 --"]) {
      assertError(await get(userId), 400, 'ValidationFailed', 'userId');
    }
  });
});

describe('PUT /users/{userId}', () => {
  it('replaces the mutable fields, bumps version and ETag, keeps createdDate', async () => {
    const created = (await newUser({ phoneNumber: '+442079460000' })).body;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reply = await update(created.userId, { email: ' NEW@Example.com', name: 'Renamed', status: 'suspended' }, { 'If-Match': '"1"' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.headers.ETag, '"2"');
    assert.equal(reply.body.version, 2);
    assert.equal(reply.body.email, 'new@example.com');
    assert.equal(reply.body.name, 'Renamed');
    assert.equal(reply.body.status, 'suspended');
    assert.equal('phoneNumber' in reply.body, false, 'an omitted optional field is removed by a full replacement');
    assert.equal(reply.body.userId, created.userId);
    assert.equal(reply.body.createdDate, created.createdDate);
    assert.ok(reply.body.updatedDate > created.updatedDate);
    assert.deepEqual(await storedUser(created.userId, created.createdDate), reply.body);
    assert.deepEqual((await get(created.userId)).body, reply.body);
  });

  it('updates unconditionally without If-Match and with If-Match *', async () => {
    const created = (await newUser()).body;
    assert.equal((await update(created.userId, { email: 'x@example.com', name: 'X', status: 'active' })).body.version, 2);
    const star = await update(created.userId, { email: 'y@example.com', name: 'Y', status: 'suspended' }, { 'If-Match': '*' });
    assert.equal(star.status, 200);
    assert.equal(star.headers.ETag, '"3"');
    assert.equal(star.body.status, 'suspended');
  });

  it('needs status: a full replacement never silently reactivates a suspended user', async () => {
    const created = (await newUser({ status: 'suspended' })).body;
    assertError(await update(created.userId, { email: created.email, name: 'Renamed' }), 400, 'ValidationFailed', 'status');
    const item = await env.getItem(created.userId, created.createdDate);
    assert.equal(item?.status, 'suspended');
    assert.equal(item.version, 1);
  });

  it('answers 412 for a stale If-Match and leaves the item unchanged', async () => {
    const created = (await newUser()).body;
    assert.equal((await update(created.userId, { email: 'v2@example.com', name: 'V2', status: 'active' })).status, 200);
    const stale = await update(created.userId, { email: 'stale@example.com', name: 'Stale', status: 'active' }, { 'If-Match': '"1"' });
    assertError(stale, 412, 'PreconditionFailed');
    const item = await env.getItem(created.userId, created.createdDate);
    assert.equal(item?.version, 2);
    assert.equal(item.email, 'v2@example.com');
  });

  it('lets exactly one of two racing updates with the same If-Match win', async () => {
    for (let round = 0; round < 5; round++) {
      const created = (await newUser()).body;
      const replies = await Promise.all(
        ['a', 'b', 'c'].map((tag) => update(created.userId, { email: `${tag}-${round}@example.com`, name: tag, status: 'active' }, { 'If-Match': '"1"' })),
      );
      const statuses = replies.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 412, 412]);
      const winner = replies.find((r) => r.status === 200);
      const item = await env.getItem(created.userId, created.createdDate);
      assert.equal(item?.version, 2);
      assert.equal(item.email, winner?.body.email);
    }
  });

  it('answers 404 for a missing user (412 when If-Match made it a precondition) and does not create it', async () => {
    const userId = uuidv7();
    const count = (await env.scanAll()).length;
    const ghost = { email: 'ghost@example.com', name: 'Ghost', status: 'active' };
    assertError(await update(userId, ghost), 404, 'NotFound');
    assertError(await update(userId, ghost, { 'If-None-Match': '*' }), 404, 'NotFound');
    assertError(await update(userId, ghost, { 'If-Match': '*' }), 412, 'PreconditionFailed');
    assertError(await update(userId, ghost, { 'If-Match': '"1"' }), 412, 'PreconditionFailed');
    assert.equal((await env.scanAll()).length, count);
    assert.equal((await env.scanAll()).some((item) => item.userId === userId), false);
  });

  it('rejects invalid bodies, read-only fields and bad If-Match with 400', async () => {
    const created = (await newUser()).body;
    assertError(await update(created.userId, undefined), 400, 'ValidationFailed', 'body');
    assertError(await update(created.userId, { name: 'No Email' }), 400, 'ValidationFailed', 'email');
    assertError(await update(created.userId, { ...created }), 400, 'ValidationFailed', 'userId');
    assertError(
      await update(created.userId, { email: 'a@b.co', name: 'A', createdDate: '2001-01-01T00:00:00.000Z', status: 'active' }),
      400,
      'ValidationFailed',
      'createdDate',
    );
    for (const ifMatch of ['1', 'W/1', '"one', '']) {
      assertError(await update(created.userId, { email: 'a@b.co', name: 'A', status: 'active' }, { 'If-Match': ifMatch }), 400, 'ValidationFailed', 'If-Match');
    }
    assertError(await update('nope', { email: 'a@b.co', name: 'A', status: 'active' }), 400, 'ValidationFailed', 'userId');
    const item = await env.getItem(created.userId, created.createdDate);
    assert.equal(item?.version, 1);
  });
});

describe('request bodies', () => {
  const rawBody = (method: 'POST' | 'PUT', body: string, headers: Record<string, string>, options: { base64?: boolean; userId?: string } = {}) =>
    invoke(
      method === 'POST' ? env.handlers.createUser : env.handlers.updateUser,
      apiEvent({
        method,
        path: method === 'POST' ? '/users' : USER_PATH,
        ...(options.userId ? { pathParameters: { userId: options.userId } } : {}),
        body,
        headers,
        ...(options.base64 ? { base64: true } : {}),
      }),
    );

  it('answers a body that is not JSON by its Content-Type with 415, writing nothing', async () => {
    const created = (await newUser()).body;
    const count = (await env.scanAll()).length;
    const valid = JSON.stringify({ email: 'typed@example.com', name: 'Typed', status: 'active' });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=iso-8859-1']) {
      assertError(await rawBody('POST', valid, { 'content-type': contentType }), 415, 'UnsupportedMediaType', 'Content-Type');
      assertError(await rawBody('PUT', valid, { 'content-type': contentType }, { userId: created.userId }), 415, 'UnsupportedMediaType', 'Content-Type');
    }
    assert.equal((await env.scanAll()).length, count);
    assert.equal((await env.getItem(created.userId, created.createdDate))?.version, 1);
    assert.equal((await rawBody('POST', valid, { 'content-type': 'application/json; charset=UTF-8' })).status, 201);
  });

  it('answers a body over the limit with 413, writing nothing', async () => {
    const created = (await newUser()).body;
    const count = (await env.scanAll()).length;
    const oversized = JSON.stringify({ email: 'big@example.com', name: 'Big', status: 'active', padding: 'x'.repeat(16 * 1024) });
    assertError(await rawBody('POST', oversized, { 'content-type': 'application/json' }), 413, 'PayloadTooLarge', 'body');
    assertError(await rawBody('PUT', oversized, { 'content-type': 'application/json' }, { userId: created.userId }), 413, 'PayloadTooLarge', 'body');
    assert.equal((await env.scanAll()).length, count);
  });

  it('answers bytes that are not UTF-8 with 400 and stores NFC names', async () => {
    const latin1 = Buffer.concat([Buffer.from('{"email":"jose@example.com","name":"Jos'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const count = (await env.scanAll()).length;
    assertError(await rawBody('POST', latin1.toString('base64'), { 'content-type': 'application/json' }, { base64: true }), 400, 'ValidationFailed', 'body');
    assert.equal((await env.scanAll()).length, count);

    const decomposed = await create({ email: 'nfc@example.com', name: 'Jose\u0301' });
    assert.equal(decomposed.status, 201);
    assert.equal(decomposed.body.name, 'Jos\u00e9');
    assert.equal((await storedUser(decomposed.body.userId, decomposed.body.createdDate))?.name, 'Jos\u00e9');
    assertError(await create({ email: 'rlo@example.com', name: 'Ada\u202eecalovel' }), 400, 'ValidationFailed', 'name');
    assertError(await create({ email: 'zwsp@example.com', name: '\u200b\u200b' }), 400, 'ValidationFailed', 'name');
    assertError(await rawBody('POST', '{"email":"lone@example.com","name":"A\\ud800"}', { 'content-type': 'application/json' }), 400, 'ValidationFailed', 'name');
  });
});

describe('PATCH /users/{userId}', () => {
  const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };
  function patch(userId: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return invoke(env.handlers.patchUser, apiEvent({ method: 'PATCH', path: USER_PATH, pathParameters: { userId }, body, headers: { ...MERGE_PATCH, ...headers } }));
  }

  it('changes only the named fields and removes an optional one on null', async () => {
    const created = (await newUser({ status: 'suspended', phoneNumber: '+442079460000' })).body;
    const renamed = await patch(created.userId, { name: ' Renamed ' }, { 'If-Match': '"1"' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.headers.ETag, '"2"');
    assert.deepEqual(renamed.body, { ...created, name: 'Renamed', version: 2, updatedDate: renamed.body.updatedDate });
    assert.equal(renamed.body.status, 'suspended', 'a field the patch does not name is kept');
    const cleared = await patch(created.userId, { phoneNumber: null });
    assert.equal(cleared.status, 200);
    assert.equal('phoneNumber' in cleared.body, false);
    assert.equal(cleared.body.version, 3);
    assert.deepEqual(await storedUser(created.userId, created.createdDate), cleared.body);
  });

  it('honours preconditions as PUT does and never creates a user', async () => {
    const created = (await newUser()).body;
    assertError(await patch(created.userId, { name: 'Stale' }, { 'If-Match': '"9"' }), 412, 'PreconditionFailed');
    assertError(await patch(created.userId, { name: 'Exists' }, { 'If-None-Match': '*' }), 412, 'PreconditionFailed');
    assert.equal((await env.getItem(created.userId, created.createdDate))?.version, 1);
    const missing = uuidv7();
    assertError(await patch(missing, { name: 'Ghost' }), 404, 'NotFound');
    assertError(await patch(missing, { name: 'Ghost' }, { 'If-Match': '*' }), 412, 'PreconditionFailed');
    assert.equal((await env.scanAll()).some((item) => item.userId === missing), false);
  });

  it('answers a patch it cannot apply with 400 or 415, changing nothing', async () => {
    const created = (await newUser()).body;
    assertError(await patch(created.userId, { name: 'Typed' }, { 'content-type': 'application/json' }), 415, 'UnsupportedMediaType', 'Content-Type');
    assertError(await patch(created.userId, { email: null }), 400, 'ValidationFailed', 'email');
    assertError(await patch(created.userId, { createdDate: '2001-01-01T00:00:00.000Z' }), 400, 'ValidationFailed', 'createdDate');
    assertError(await patch(created.userId, {}), 400, 'ValidationFailed', 'body');
    assertError(await patch(created.userId, { name: '\u200b' }), 400, 'ValidationFailed', 'name');
    const item = await env.getItem(created.userId, created.createdDate);
    assert.equal(item?.version, 1);
    assert.equal(item.name, created.name);
  });
});

describe('DELETE /users/{userId}', () => {
  it('deletes: 204 then 404, and the item is gone', async () => {
    const created = (await newUser()).body;
    const reply = await remove(created.userId);
    assert.equal(reply.status, 204);
    assert.equal(reply.body, undefined);
    assert.equal(reply.headers['Content-Type'], 'application/json');
    assert.equal(await env.getItem(created.userId, created.createdDate), undefined);
    assertError(await get(created.userId), 404, 'NotFound');
    assertError(await remove(created.userId), 404, 'NotFound');
  });

  it('honours If-Match: 412 when stale, 204 when current or *', async () => {
    const first = (await newUser()).body;
    assert.equal((await update(first.userId, { email: 'v2-delete@example.com', name: 'V2', status: 'active' })).status, 200);
    assertError(await remove(first.userId, { 'If-Match': '"1"' }), 412, 'PreconditionFailed');
    assert.ok(await env.getItem(first.userId, first.createdDate));
    assert.equal((await remove(first.userId, { 'If-Match': '"2"' })).status, 204);

    const second = (await newUser()).body;
    assert.equal((await remove(second.userId, { 'If-Match': '*' })).status, 204);
  });

  it('answers 404 for a missing user without resurrecting or creating it', async () => {
    const created = (await newUser()).body;
    assert.equal((await remove(created.userId)).status, 204);
    const count = (await env.scanAll()).length;
    assertError(await remove(created.userId, { 'If-Match': '"1"' }), 412, 'PreconditionFailed');
    assertError(await remove(created.userId, { 'If-Match': '*' }), 412, 'PreconditionFailed');
    assertError(await remove(created.userId, { 'If-None-Match': '*' }), 404, 'NotFound');
    assertError(await remove(uuidv7()), 404, 'NotFound');
    assertError(await update(created.userId, { email: 'back@example.com', name: 'Back', status: 'active' }), 404, 'NotFound');
    assert.equal((await env.scanAll()).length, count);
    assert.equal(await env.getItem(created.userId, created.createdDate), undefined);
  });

  it('rejects a malformed id or If-Match with 400', async () => {
    const created = (await newUser()).body;
    assertError(await remove('123'), 400, 'ValidationFailed', 'userId');
    assertError(await remove(created.userId, { 'If-Match': 'W/1' }), 400, 'ValidationFailed', 'If-Match');
    assertError(await remove(created.userId, { 'If-None-Match': '"1" "2"' }), 400, 'ValidationFailed', 'If-None-Match');
    assert.ok(await env.getItem(created.userId, created.createdDate));
  });
});

describe('conditional requests (RFC 9110)', () => {
  function getIf(userId: string, ifNoneMatch: string): Promise<Reply> {
    return invoke(env.handlers.getUser, apiEvent({ method: 'GET', path: USER_PATH, pathParameters: { userId }, headers: { 'If-None-Match': ifNoneMatch } }));
  }
  const replacement = (name: string) => ({ email: `${name.toLowerCase().replace(/[^a-z]/g, '')}@example.com`, name, status: 'active' });

  it('GET answers 304 with the ETag and no body when If-None-Match matches, weakly', async () => {
    const created = (await newUser()).body;
    for (const matching of ['"1"', 'W/"1"', '"9", "1"', '*']) {
      const reply = await getIf(created.userId, matching);
      assert.equal(reply.status, 304, matching);
      assert.equal(reply.headers.ETag, '"1"');
      assert.equal(reply.body, undefined);
      assert.equal(reply.headers['Content-Type'], undefined);
    }
    assert.equal((await update(created.userId, replacement('Changed'))).status, 200);
    const changed = await getIf(created.userId, '"1"');
    assert.equal(changed.status, 200);
    assert.equal(changed.headers.ETag, '"2"');
    assert.equal(changed.body.name, 'Changed');
    assertError(await getIf(uuidv7(), '*'), 404, 'NotFound');
    assertError(await getIf(created.userId, 'W/1'), 400, 'ValidationFailed', 'If-None-Match');
  });

  it('If-None-Match: * on PUT or DELETE of an existing user is 412 and changes nothing', async () => {
    const created = (await newUser()).body;
    assertError(await update(created.userId, replacement('Overwrite'), { 'If-None-Match': '*' }), 412, 'PreconditionFailed');
    assertError(await remove(created.userId, { 'If-None-Match': '*' }), 412, 'PreconditionFailed');
    assertError(await update(created.userId, replacement('Seen'), { 'If-None-Match': 'W/"1"' }), 412, 'PreconditionFailed');
    const item = await env.getItem(created.userId, created.createdDate);
    assert.equal(item?.version, 1);
    assert.equal(item.name, created.name);
    const elsewhere = await update(created.userId, replacement('Not Seen'), { 'If-None-Match': '"7"' });
    assert.equal(elsewhere.status, 200);
    assert.equal(elsewhere.headers.ETag, '"2"');
  });

  it('If-Match compares strongly against each listed ETag', async () => {
    const created = (await newUser()).body;
    assertError(await update(created.userId, replacement('Weak'), { 'If-Match': 'W/"1"' }), 412, 'PreconditionFailed');
    assertError(await update(created.userId, replacement('Foreign'), { 'If-Match': '"abc", "0"' }), 412, 'PreconditionFailed');
    assert.equal((await env.getItem(created.userId, created.createdDate))?.version, 1);
    const listed = await update(created.userId, replacement('Listed'), { 'If-Match': '"5", W/"1", "1"' });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.equal(listed.headers.ETag, '"2"');
    assertError(await remove(created.userId, { 'If-Match': '"1", "3"' }), 412, 'PreconditionFailed');
    assert.equal((await remove(created.userId, { 'If-Match': '"1", "2"' })).status, 204);
    assert.equal(await env.getItem(created.userId, created.createdDate), undefined);
  });
});

describe('routing', () => {
  it('answers 404 when a handler receives a route it does not serve', async () => {
    const userId = uuidv7();
    const cases = [
      [env.handlers.createUser, apiEvent({ method: 'PUT', path: '/users', body: { email: 'a@b.co', name: 'A' } })],
      [env.handlers.listUsers, apiEvent({ method: 'GET', path: '/users', routeKey: '$default' })],
      [env.handlers.getUser, apiEvent({ method: 'POST', path: USER_PATH, pathParameters: { userId } })],
      [env.handlers.updateUser, apiEvent({ method: 'PATCH', path: USER_PATH, pathParameters: { userId }, body: {} })],
      [env.handlers.deleteUser, apiEvent({ method: 'DELETE', path: '/users' })],
    ] as const;
    for (const [handler, event] of cases) {
      assertError(await invoke(handler, event), 404, 'NotFound');
    }
  });
});
