// The DynamoDB floor: the SDK v3 clients the handlers use, built by the same factory as the
// handlers' repository (lambda/src/lib/dynamodb-client.ts: same timeouts and retries) at module
// scope as in a handler, and the exact DynamoDB request each operation sends, with no handler,
// validation, logging, metrics or tracing around it. bench/run.ts bundles it exactly as CDK
// bundles a handler (.bench/floor/index.mjs), so loading that bundle is the per-handler SDK floor
// of the cold start, and calling `floor[operation]` is the warm floor.
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../lambda/src/lib/dynamodb-client.ts';
import { keyOf, uuidv7 } from '../lambda/src/lib/user-keys.ts';

const tableName = process.env.TABLE_NAME;

const base = createDynamoDbClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: process.env.AWS_REGION });
export const client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });

let sequence = 0;

/** One DynamoDB request per operation, the same one the handler's repository sends. */
export const floor: Record<'createUser' | 'getUser' | 'listUsers' | 'updateUser' | 'patchUser' | 'deleteUser', (userId?: string) => Promise<unknown>> = {
  async createUser() {
    sequence += 1;
    const now = Date.now();
    const createdDate = new Date(now).toISOString();
    const item = {
      userId: uuidv7(now),
      createdDate,
      updatedDate: createdDate,
      version: 1,
      email: `floor-${process.pid}-${sequence}@example.com`,
      name: `Floor User ${sequence}`,
      status: 'active',
      writeToken: randomUUID(),
    };
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#userId)',
        ExpressionAttributeNames: { '#userId': 'userId' },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return item.userId;
  },
  async getUser(userId = '') {
    const result = await client.send(new GetCommand({ TableName: tableName, Key: keyOf(userId), ConsistentRead: true }));
    return result.Item;
  },
  async listUsers() {
    const result = await client.send(new ScanCommand({ TableName: tableName, Limit: 21 }));
    return result.Items;
  },
  async updateUser(userId = '') {
    sequence += 1;
    const result = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keyOf(userId),
        UpdateExpression:
          'SET #email = :email, #name = :name, #status = :status, #updatedDate = :updatedDate, #version = #version + :one, #writeToken = :writeToken REMOVE #phoneNumber',
        ConditionExpression: 'attribute_exists(#userId) AND (attribute_not_exists(#writeToken) OR #writeToken <> :writeToken)',
        ExpressionAttributeNames: {
          '#userId': 'userId',
          '#email': 'email',
          '#name': 'name',
          '#status': 'status',
          '#phoneNumber': 'phoneNumber',
          '#updatedDate': 'updatedDate',
          '#version': 'version',
          '#writeToken': 'writeToken',
        },
        ExpressionAttributeValues: {
          ':writeToken': randomUUID(),
          ':email': `floor-updated-${sequence}@example.com`,
          ':name': `Floor Updated ${sequence}`,
          ':status': 'active',
          ':updatedDate': new Date().toISOString(),
          ':one': 1,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return result.Attributes;
  },
  async patchUser(userId = '') {
    sequence += 1;
    const result = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keyOf(userId),
        UpdateExpression: 'SET #updatedDate = :updatedDate, #version = #version + :one, #writeToken = :writeToken, #name = :name',
        ConditionExpression: 'attribute_exists(#userId) AND (attribute_not_exists(#writeToken) OR #writeToken <> :writeToken)',
        ExpressionAttributeNames: { '#userId': 'userId', '#name': 'name', '#updatedDate': 'updatedDate', '#version': 'version', '#writeToken': 'writeToken' },
        ExpressionAttributeValues: { ':writeToken': randomUUID(), ':name': `Floor Patched ${sequence}`, ':updatedDate': new Date().toISOString(), ':one': 1 },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return result.Attributes;
  },
  async deleteUser(userId = '') {
    // As the repository deletes: a one-item transaction with a ClientRequestToken.
    await client.send(
      new TransactWriteCommand({
        ClientRequestToken: randomUUID(),
        TransactItems: [
          {
            Delete: {
              TableName: tableName,
              Key: keyOf(userId),
              ConditionExpression: 'attribute_exists(#userId)',
              ExpressionAttributeNames: { '#userId': 'userId' },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      }),
    );
  },
};
