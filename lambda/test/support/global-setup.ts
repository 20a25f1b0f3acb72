/**
 * `node --test --test-global-setup=lambda/test/support/global-setup.ts`: one DynamoDB Local for the
 * run, shared by the test files through an environment variable they inherit (shared-dynamodb.ts).
 */
import { startDynamoDbLocal, type DynamoDbLocal } from '../../../local/dynamodb-local.ts';
import { SHARED_ENDPOINT_VARIABLE } from './shared-dynamodb.ts';

let instance: DynamoDbLocal | undefined;

export async function globalSetup(): Promise<void> {
  instance = await startDynamoDbLocal();
  process.env[SHARED_ENDPOINT_VARIABLE] = instance.endpoint;
}

export async function globalTeardown(): Promise<void> {
  await instance?.stop();
}
