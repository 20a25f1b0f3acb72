// The DynamoDB floor: the SDK v3 clients the handlers use, built with the same options as
// lambda/src/lib/users-repository.ts (createDynamoDbClient + DynamoDBDocumentClient.from; bench/run.ts
// warns when an option named there is missing here or CLIENT_LIMITS differ), at
// module scope as in a handler, and the exact DynamoDB request each operation sends, with no
// handler, validation, logging, metrics or tracing around it. Loading this module is the
// per-handler SDK floor of the cold start; calling `floor[operation]` is the warm floor.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

const endpoint = process.env.DYNAMODB_ENDPOINT || undefined;
const tableName = process.env.TABLE_NAME;

// A copy of users-repository.ts's CLIENT_LIMITS (bench/run.ts warns when the values differ).
const CLIENT_LIMITS = { connectionTimeoutMs: 1000, requestTimeoutMs: 1500, maxAttempts: 2 };

const base = new DynamoDBClient({
  region: process.env.AWS_REGION || 'us-east-1',
  ...(endpoint ? { endpoint } : {}),
  ...(endpoint && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  maxAttempts: CLIENT_LIMITS.maxAttempts,
  retryMode: 'standard',
  requestHandler: {
    connectionTimeout: CLIENT_LIMITS.connectionTimeoutMs,
    requestTimeout: CLIENT_LIMITS.requestTimeoutMs,
    throwOnRequestTimeout: true,
    socketTimeout: CLIENT_LIMITS.requestTimeoutMs,
  },
});
export const client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });

function uuidv7(nowMs) {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function keyOf(userId) {
  const ms = Number.parseInt(userId.slice(0, 8) + userId.slice(9, 13), 16);
  return { userId, createdDate: new Date(ms).toISOString() };
}

let sequence = 0;

/** One DynamoDB request per operation, the same one the handler's repository sends. */
export const floor = {
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
    };
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#userId)',
        ExpressionAttributeNames: { '#userId': 'userId' },
      }),
    );
    return item.userId;
  },
  async getUser(userId) {
    const result = await client.send(new GetCommand({ TableName: tableName, Key: keyOf(userId), ConsistentRead: true }));
    return result.Item;
  },
  async listUsers() {
    const result = await client.send(new ScanCommand({ TableName: tableName, Limit: 21 }));
    return result.Items;
  },
  async updateUser(userId) {
    sequence += 1;
    const result = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keyOf(userId),
        UpdateExpression:
          'SET #email = :email, #name = :name, #status = :status, #updatedDate = :updatedDate, #version = #version + :one REMOVE #phoneNumber',
        ConditionExpression: 'attribute_exists(#userId)',
        ExpressionAttributeNames: {
          '#userId': 'userId',
          '#email': 'email',
          '#name': 'name',
          '#status': 'status',
          '#phoneNumber': 'phoneNumber',
          '#updatedDate': 'updatedDate',
          '#version': 'version',
        },
        ExpressionAttributeValues: {
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
  async deleteUser(userId) {
    await client.send(
      new DeleteCommand({
        TableName: tableName,
        Key: keyOf(userId),
        ConditionExpression: 'attribute_exists(#userId)',
        ExpressionAttributeNames: { '#userId': 'userId' },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  },
};
