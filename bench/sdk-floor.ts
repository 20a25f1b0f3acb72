// The DynamoDB floor: the SDK v3 clients the handlers use, built by the same factory as the
// handlers' repository (lambda/src/lib/dynamodb-client.ts: same timeouts and retries) at module
// scope as in a handler, and the exact DynamoDB requests each operation sends, with no handler,
// validation, logging, metrics or tracing around it. bench/run.ts bundles it exactly as CDK
// bundles a handler (.bench/floor/index.mjs), so loading that bundle is the per-handler SDK floor
// of the cold start, and calling `floor[operation]` is the warm floor.
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../lambda/src/lib/dynamodb-client.ts';
import { keyOf, uuidv7 } from '../lambda/src/lib/user-keys.ts';

const usersTable = process.env.TABLE_NAME;
const emailsTable = process.env.EMAILS_TABLE_NAME;
const idempotencyTable = process.env.IDEMPOTENCY_TABLE_NAME;

const base = createDynamoDbClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: process.env.AWS_REGION });
export const client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });

let sequence = 0;

type Item = Record<string, unknown>;

const claim = (user: Item) => ({
  Put: {
    TableName: emailsTable,
    Item: user,
    ConditionExpression: 'attribute_not_exists(#email) OR #userId = :userId',
    ExpressionAttributeNames: { '#email': 'email', '#userId': 'userId' },
    ExpressionAttributeValues: { ':userId': user.userId },
  },
});
const release = (user: Item) => ({
  Delete: {
    TableName: emailsTable,
    Key: { email: user.email },
    ConditionExpression: 'attribute_not_exists(#email) OR #userId = :userId',
    ExpressionAttributeNames: { '#email': 'email', '#userId': 'userId' },
    ExpressionAttributeValues: { ':userId': user.userId },
  },
});
const atVersion = (version: unknown) => ({
  ConditionExpression: '#version = :version',
  ExpressionAttributeNames: { '#version': 'version' },
  ExpressionAttributeValues: { ':version': version },
});

async function read(userId: string): Promise<Item> {
  const result = await client.send(new GetCommand({ TableName: usersTable, Key: keyOf(userId), ConsistentRead: true }));
  if (!result.Item) throw new Error(`no user ${userId}`);
  return result.Item;
}

/** As the repository replaces or patches: read, then the user and its claim in one transaction. */
async function rewrite(userId: string, changes: Item): Promise<Item> {
  const current = await read(userId);
  const next: Item = { ...current, ...changes, updatedDate: new Date().toISOString(), version: Number(current.version) + 1 };
  const items: unknown[] = [{ Put: { TableName: usersTable, Item: next, ...atVersion(current.version) } }, claim(next)];
  if (next.email !== current.email) items.push(release(current));
  await client.send(new TransactWriteCommand({ ClientRequestToken: randomUUID(), TransactItems: items as never }));
  return next;
}

async function createUser(): Promise<string> {
  sequence += 1;
  const now = Date.now();
  const createdDate = new Date(now).toISOString();
  const user = {
    userId: uuidv7(now),
    createdDate,
    updatedDate: createdDate,
    version: 1,
    email: `floor-${process.pid}-${sequence}@example.com`,
    name: `Floor User ${sequence}`,
    status: 'active',
  };
  await client.send(
    new TransactWriteCommand({
      ClientRequestToken: randomUUID(),
      TransactItems: [
        { Put: { TableName: usersTable, Item: user, ConditionExpression: 'attribute_not_exists(#userId)', ExpressionAttributeNames: { '#userId': 'userId' } } },
        claim(user),
      ],
    }),
  );
  return user.userId;
}

/** The DynamoDB requests per operation, the same ones the handler's repository (and, with a key, Powertools' idempotency store) sends. */
export const floor: Record<'createUser' | 'createUserWithKey' | 'getUser' | 'listUsers' | 'updateUser' | 'patchUser' | 'deleteUser', (userId?: string) => Promise<unknown>> = {
  createUser,
  async createUserWithKey() {
    // Powertools' in-progress record (a conditional PutItem), the create, then the stored response (UpdateItem).
    const id = `createUser#${randomUUID()}`;
    const now = Date.now();
    await client.send(
      new PutCommand({
        TableName: idempotencyTable,
        Item: { id, expiration: Math.floor(now / 1000) + 86_400, status: 'INPROGRESS', in_progress_expiration: now + 30_000, validation: randomUUID() },
        ConditionExpression: 'attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)',
        ExpressionAttributeNames: { '#id': 'id', '#expiry': 'expiration', '#in_progress_expiry': 'in_progress_expiration', '#status': 'status' },
        ExpressionAttributeValues: { ':now': now / 1000, ':now_in_millis': now, ':inprogress': 'INPROGRESS' },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const userId = await createUser();
    await client.send(
      new UpdateCommand({
        TableName: idempotencyTable,
        Key: { id },
        UpdateExpression: 'SET #response_data = :response_data, #expiry = :expiry, #status = :status',
        ExpressionAttributeNames: { '#response_data': 'data', '#expiry': 'expiration', '#status': 'status' },
        ExpressionAttributeValues: { ':response_data': { statusCode: 201, body: JSON.stringify({ userId }) }, ':expiry': Math.floor(now / 1000) + 86_400, ':status': 'COMPLETED' },
      }),
    );
    return userId;
  },
  async getUser(userId = '') {
    const result = await client.send(new GetCommand({ TableName: usersTable, Key: keyOf(userId), ConsistentRead: true }));
    return result.Item;
  },
  async listUsers() {
    const result = await client.send(new ScanCommand({ TableName: usersTable, Limit: 21 }));
    return result.Items;
  },
  async updateUser(userId = '') {
    sequence += 1;
    return rewrite(userId, { email: `floor-updated-${process.pid}-${sequence}@example.com`, name: `Floor Updated ${sequence}`, status: 'active', phoneNumber: undefined });
  },
  async patchUser(userId = '') {
    sequence += 1;
    return rewrite(userId, { name: `Floor Patched ${sequence}` });
  },
  async deleteUser(userId = '') {
    const current = await read(userId);
    await client.send(
      new TransactWriteCommand({
        ClientRequestToken: randomUUID(),
        TransactItems: [{ Delete: { TableName: usersTable, Key: keyOf(userId), ...atVersion(current.version) } }, release(current)] as never,
      }),
    );
  },
};
