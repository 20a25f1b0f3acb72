import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { StoreUnavailableError, type User } from '../../src/lib/domain.ts';
import { responseForError } from '../../src/lib/http.ts';
import { createdDateFromUserId, decodeCursor, encodeCursor, isUuidV7, keyOf, uuidv7 } from '../../src/lib/user-keys.ts';
import { createUsersRepository, isUnavailable } from '../../src/lib/users-repository.ts';
import { createTables, type TableNames } from '../support/environment.ts';
import { testDynamoDb, type TestDynamoDb } from '../support/shared-dynamodb.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

describe('UUIDv7 user ids', () => {
  it('embeds the creation time and derives createdDate from it', () => {
    const ms = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const id = uuidv7(ms);
    assert.ok(isUuidV7(id), id);
    assert.equal(id[14], '7');
    assert.ok('89ab'.includes(id[19] ?? ''));
    assert.equal(createdDateFromUserId(id), '2025-01-02T03:04:05.678Z');
    assert.deepEqual(keyOf(id), { userId: id, createdDate: '2025-01-02T03:04:05.678Z' });
  });

  it('is unique and sorts by creation time', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => uuidv7()));
    assert.equal(ids.size, 10_000);
    assert.ok(uuidv7(1_000) < uuidv7(2_000));
  });

  it('round-trips cursors', () => {
    const key = keyOf(uuidv7());
    assert.match(encodeCursor(key), /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(encodeCursor(key)), key);
  });
});

describe('createUsersRepository against DynamoDB Local', () => {
  let db: TestDynamoDb;
  let tables: TableNames;
  const names = () => ({ tableName: tables.users, emailsTableName: tables.emails });

  before(async () => {
    db = await testDynamoDb();
    tables = await createTables(db.endpoint, 'repository');
  });
  after(async () => {
    await db.stop();
  });

  it('writes and reads through a repository built for a given endpoint and table', async () => {
    const repository = createUsersRepository({ endpoint: db.endpoint, ...names() });
    const created = await repository.create({ email: 'r@example.com', name: 'R', status: 'active' });
    assert.equal(created.outcome, 'ok');
    const { user } = created as { user: User };
    assert.equal(user.createdDate, createdDateFromUserId(user.userId));
    assert.deepEqual(await repository.get(user.userId), user);
    const replaced = await repository.replace(user.userId, { email: 'r@example.com', name: 'R2', status: 'active' }, { ifMatch: [1] });
    assert.equal(replaced.outcome, 'ok');
    assert.deepEqual(await repository.replace(user.userId, { email: 'r@example.com', name: 'R3', status: 'active' }, { ifMatch: [1] }), {
      outcome: 'precondition_failed',
    });
    assert.deepEqual(await repository.delete(user.userId, { ifMatch: [5, 2] }), { outcome: 'ok' });
    assert.deepEqual(await repository.delete(user.userId, {}), { outcome: 'not_found' });
    assert.deepEqual(await repository.delete(user.userId, { ifMatch: 'any' }), { outcome: 'precondition_failed' });
  });

  it('fails fast with a 503-class error once DynamoDB goes away', async () => {
    // The store disappears under a repository that has been using it: open connections drop and
    // new ones are refused.
    const { port } = new URL(db.endpoint);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(port) });
    const repository = createUsersRepository({ endpoint: proxy.endpoint, ...names() });
    const created = await repository.create({ email: 's@example.com', name: 'S', status: 'active' });
    assert.equal(created.outcome, 'ok');
    const { user } = created as { user: User };
    assert.ok(proxy.connections() > 0);
    await proxy.close();

    const started = Date.now();
    const error = await repository.get(user.userId).then(
      () => assert.fail('expected the read to fail'),
      (e: unknown) => e,
    );
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    assert.ok(error instanceof StoreUnavailableError, `not raised as the domain's unavailable error: ${String(error)}`);
    assert.ok(isUnavailable(error.cause), 'the store error stays attached as the cause');
    assert.equal(responseForError(error).response.statusCode, 503);
    // http.ts maps only the domain error: the raw store error would be a 500.
    assert.equal(responseForError(error.cause).response.statusCode, 500);
  });

  it('times out against an endpoint that accepts connections but never answers', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    try {
      const repository = createUsersRepository({ endpoint: `http://127.0.0.1:${address.port}`, ...names() });
      const started = Date.now();
      const error = await repository.get(uuidv7()).then(
        () => assert.fail('expected the read to fail'),
        (e: unknown) => e,
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
      assert.ok(error instanceof StoreUnavailableError, `not raised as the domain's unavailable error: ${String(error)}`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    }
  });
});
