import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ContractError, contract, operationNamed, parseContract } from '../../src/contract.ts';

const document = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../service-contract.json'), 'utf8')) as {
  operations: Array<Record<string, unknown>>;
};

describe('the service contract loader', () => {
  it('derives each route key from method and path', () => {
    assert.deepEqual(
      contract.operations.map((operation) => operation.routeKey),
      ['POST /users', 'GET /users', 'GET /users/{userId}', 'PUT /users/{userId}', 'PATCH /users/{userId}', 'DELETE /users/{userId}'],
    );
    assert.equal(operationNamed('getUser').scope, contract.scopes.read);
  });

  it('names the key that is wrong', () => {
    const planted = (change: (copy: typeof document) => void): unknown => {
      const copy = structuredClone(document);
      change(copy);
      return copy;
    };
    const cases: Array<[string, unknown]> = [
      ['operations[1].path must be a non-empty string', planted((copy) => delete copy.operations[1]?.path)],
      ['operations[0].dynamodbActions.users must be a non-empty list of dynamodb:* actions', planted((copy) => { (copy.operations[0] as Record<string, unknown>).dynamodbActions = { users: ['s3:GetObject'] }; })],
      ['operations[0].dynamodbActions.orders is not a table role (users, emails, idempotency)', planted((copy) => { (copy.operations[0] as Record<string, unknown>).dynamodbActions = { orders: ['dynamodb:GetItem'] }; })],
      ['tables.emails.partitionKey must be a non-empty string', planted((copy) => { delete (copy as unknown as { tables: { emails: Record<string, unknown> } }).tables.emails.partitionKey; })],
      ['tables.orders is not one of users, emails, idempotency', planted((copy) => { (copy as unknown as { tables: Record<string, unknown> }).tables.orders = { partitionKey: 'id', environmentVariable: 'X' }; })],
      ['operations name getUser more than once', planted((copy) => { (copy.operations[3] as Record<string, unknown>).name = 'getUser'; })],
      ['operations must list at least one operation', planted((copy) => { copy.operations = []; })],
    ];
    for (const [message, value] of cases) {
      assert.throws(() => parseContract(value, 'planted.json'), (error: unknown) => error instanceof ContractError && error.message === `planted.json: ${message}`);
    }
    assert.throws(() => operationNamed('renameUser'), /has no operation named renameUser/);
  });
});
