/**
 * One DynamoDB Local for a whole `node --test` run, started by the run's global setup
 * (global-setup.ts) instead of one JVM per test file: each file works in tables of its own (random
 * names), so files cannot see each other's items. A file run on its own, without the global
 * setup, starts and stops a DynamoDB Local of its own.
 */
import { startDynamoDbLocal } from '../../../local/dynamodb-local.ts';

export const SHARED_ENDPOINT_VARIABLE = 'TEST_DYNAMODB_ENDPOINT';

export interface TestDynamoDb {
  endpoint: string;
  /** Stops the instance if this file started it; the shared one outlives every file. */
  stop(): Promise<void>;
}

export async function testDynamoDb(): Promise<TestDynamoDb> {
  const shared = process.env[SHARED_ENDPOINT_VARIABLE];
  if (shared) return { endpoint: shared, stop: () => Promise.resolve() };
  const own = await startDynamoDbLocal();
  return { endpoint: own.endpoint, stop: () => own.stop() };
}
