/**
 * No two users hold one e-mail address (compared after normalisation), and the address finds its
 * user with one strongly consistent read: the claims in the emails table move with every write.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { apiEvent } from '../support/events.ts';
import { invoke, startTestEnvironment, type Reply, type TestEnvironment } from '../support/environment.ts';

let env: TestEnvironment;
// What before() got to start: after() runs even when before() failed, and stops only that.
let started: TestEnvironment | undefined;
before(async () => {
  env = started = await startTestEnvironment();
});
after(async () => {
  await started?.stop();
});

const USER_PATH = '/users/{userId}';
const address = (tag: string) => `${tag}-${randomBytes(4).toString('hex')}@example.com`;
const create = (body: unknown) => invoke(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body }));
const replace = (userId: string, body: unknown) => invoke(env.handlers.updateUser, apiEvent({ method: 'PUT', path: USER_PATH, pathParameters: { userId }, body }));
const patch = (userId: string, body: unknown) =>
  invoke(env.handlers.patchUser, apiEvent({ method: 'PATCH', path: USER_PATH, pathParameters: { userId }, headers: { 'content-type': 'application/merge-patch+json' }, body }));
const remove = (userId: string) => invoke(env.handlers.deleteUser, apiEvent({ method: 'DELETE', path: USER_PATH, pathParameters: { userId } }));
const findByEmail = (email: string) => invoke(env.handlers.listUsers, apiEvent({ method: 'GET', path: '/users', query: { email } }));

function assertEmailTaken(reply: Reply): void {
  assert.equal(reply.status, 409, JSON.stringify(reply.body));
  assert.deepEqual(reply.body, { error: { code: 'Conflict', message: 'another user already has this email', field: 'email' } });
}

/** The users (not claims) in the users table with this address. */
async function holders(email: string): Promise<string[]> {
  return (await env.scanAll()).filter((item) => item.email === email).map((item) => String(item.userId));
}

async function created(email: string, name = 'Claimant'): Promise<Reply['body']> {
  const reply = await create({ email, name });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body;
}

describe('unique e-mail', () => {
  it('a second user with the address, in any case or spacing, is 409 naming email, and nothing is written', async () => {
    const email = address('unique');
    const first = await created(email);
    const before = (await env.scanAll()).length;
    assertEmailTaken(await create({ email: `  ${email.toUpperCase()} `, name: 'Twin' }));
    assert.equal((await env.scanAll()).length, before, 'no second user');
    assert.equal((await env.getEmailItem(email))?.userId, first.userId, 'the claim still names the first user');
  });

  it('an update to a taken address is 409 and changes nothing; the own address is no conflict', async () => {
    const mine = await created(address('mine'));
    const theirs = await created(address('theirs'));
    assertEmailTaken(await replace(mine.userId, { email: theirs.email, name: 'Taker', status: 'active' }));
    assertEmailTaken(await patch(mine.userId, { email: theirs.email.toUpperCase() }));
    const stored = await env.getItem(mine.userId, mine.createdDate);
    assert.equal(stored?.email, mine.email);
    assert.equal(stored?.version, 1);
    const renamed = await patch(mine.userId, { email: mine.email, name: 'Same Address' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal((await env.getEmailItem(mine.email))?.name, 'Same Address', 'the claim carries the new copy');
  });

  it('changing the address moves the claim: the old one is free at once, the new one taken', async () => {
    const oldEmail = address('old');
    const newEmail = address('new');
    const user = await created(oldEmail);
    const moved = await replace(user.userId, { email: newEmail, name: 'Mover', status: 'active' });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(await env.getEmailItem(oldEmail), undefined);
    assert.deepEqual(await env.getEmailItem(newEmail), await env.getItem(user.userId, user.createdDate));
    const other = await created(oldEmail, 'Next Owner');
    assert.notEqual(other.userId, user.userId);
    assertEmailTaken(await create({ email: newEmail, name: 'Late' }));
  });

  it('deleting a user frees the address', async () => {
    const email = address('freed');
    const user = await created(email);
    assert.equal((await remove(user.userId)).status, 204);
    assert.equal(await env.getEmailItem(email), undefined);
    const again = await created(email, 'Second Life');
    assert.notEqual(again.userId, user.userId);
  });

  it('exactly one of 10 concurrent creates with one address wins; the others are 409', async () => {
    for (let round = 0; round < 3; round++) {
      const email = address(`race${round}`);
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => create({ email, name: `Racer ${i}` })));
      const statuses = replies.map((reply) => reply.status).sort();
      assert.deepEqual(statuses, [201, ...Array<number>(9).fill(409)], JSON.stringify(replies.map((reply) => reply.body)));
      const winner = replies.find((reply) => reply.status === 201)?.body;
      assert.deepEqual(await holders(email), [winner?.userId], 'one user holds the address');
      assert.equal((await env.getEmailItem(email))?.userId, winner?.userId);
    }
  });

  it('exactly one of 10 concurrent moves to one address wins', async () => {
    const email = address('move-race');
    const users = await Promise.all(Array.from({ length: 10 }, (_, i) => created(address(`mover${i}`), `Mover ${i}`)));
    const replies = await Promise.all(users.map((user) => patch(user.userId, { email })));
    assert.deepEqual(replies.map((reply) => reply.status).sort(), [200, ...Array<number>(9).fill(409)]);
    const winner = replies.find((reply) => reply.status === 200)?.body;
    assert.equal((await env.getEmailItem(email))?.userId, winner?.userId);
    for (const user of users) {
      const claimed = user.userId === winner?.userId ? email : user.email;
      assert.equal((await env.getEmailItem(claimed))?.userId, user.userId, `${user.userId} holds ${claimed}`);
    }
  });
});

describe('the race check itself', () => {
  it('sees the duplicates that writes without a claim make', async () => {
    // The create of old: one conditional Put per user, which no condition ties to the address.
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    const { uuidv7 } = await import('../../src/lib/user-keys.ts');
    const email = address('unclaimed');
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        const userId = uuidv7();
        const createdDate = new Date(parseInt(userId.replace(/-/g, '').slice(0, 12), 16)).toISOString();
        await env.document.send(
          new PutCommand({
            TableName: env.tableName,
            Item: { userId, createdDate, updatedDate: createdDate, version: 1, email, name: 'Unclaimed', status: 'active' },
            ConditionExpression: 'attribute_not_exists(userId)',
          }),
        );
      }),
    );
    assert.equal((await holders(email)).length, 10);
  });
});

describe('GET /users?email=', () => {
  it('finds the user just created, after normalisation, as a one-item page', async () => {
    const email = address('Lookup');
    const user = await created(email);
    const found = await findByEmail(`  ${email.toUpperCase()}`);
    assert.equal(found.status, 200);
    assert.deepEqual(found.body, { items: [user], nextCursor: null });
  });

  it('answers an empty page for an address nobody holds, and for one just freed', async () => {
    assert.deepEqual((await findByEmail(address('nobody'))).body, { items: [], nextCursor: null });
    const email = address('gone');
    const user = await created(email);
    await remove(user.userId);
    assert.deepEqual((await findByEmail(email)).body, { items: [], nextCursor: null });
  });

  it('shows the user as it is after an update', async () => {
    const user = await created(address('current'));
    const patched = await patch(user.userId, { name: 'Current Name', phoneNumber: '+14155550100' });
    assert.deepEqual((await findByEmail(user.email)).body.items, [patched.body]);
  });

  it('answers a malformed address, or one combined with a cursor, with 400 naming it', async () => {
    const bad = await findByEmail('not-an-address');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'email');
    const combined = await invoke(env.handlers.listUsers, apiEvent({ method: 'GET', path: '/users', query: { email: address('x'), cursor: 'abc' } }));
    assert.equal(combined.status, 400);
    assert.equal(combined.body.error.field, 'cursor');
  });

  it('the claims never show up in the list of users', async () => {
    const user = await created(address('listed'));
    const listed: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    do {
      const page = await invoke(env.handlers.listUsers, apiEvent({ method: 'GET', path: '/users', query: { limit: '100', ...(cursor ? { cursor } : {}) } }));
      listed.push(...page.body.items);
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    assert.equal(listed.filter((item) => item.userId === user.userId).length, 1);
    assert.equal(listed.length, (await env.scanAll()).length);
  });
});
