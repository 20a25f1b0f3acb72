/**
 * The one module that talks to DynamoDB.
 *
 * Key design
 * ----------
 * The table's primary key is (userId, createdDate). `userId` is a UUIDv7 (user-keys.ts): its
 * first 48 bits are the creation time in Unix milliseconds, and `createdDate` is DERIVED from it
 * (`new Date(ms).toISOString()`). So a request that names only the userId (GET/PUT/DELETE
 * /users/{userId}) knows the full primary key without a query, and every operation costs exactly
 * one round trip:
 *   create  PutItem     ConditionExpression attribute_not_exists(userId)
 *   get     GetItem     (strongly consistent, so the ETag it returns is current)
 *   replace UpdateItem  attribute_exists(userId) [AND the preconditions], not already this write
 *   patch   UpdateItem  the same condition, setting and removing only the fields it names
 *   delete  TransactWriteItems [Delete]  attribute_exists(userId) [AND the preconditions], with a
 *           ClientRequestToken
 *   list    Scan        Limit + ExclusiveStartKey
 * Update and delete ask for ReturnValuesOnConditionCheckFailure=ALL_OLD, so a failed condition
 * tells "absent" (404) apart from "stale version" (412) without a second read.
 *
 * Retried writes: the SDK resends a write whose response did not arrive within its request
 * timeout, and the first attempt may have been applied. Every write therefore carries a token of
 * its own (one per call, the same in every attempt) and stores it on the item as `writeToken`:
 * a retry that fails its condition sees its own token in the ALL_OLD item and answers as the
 * first attempt would have; a retry whose condition would pass again is stopped by requiring
 * that the item does not already carry its token. A delete leaves no item to carry a token, so it
 * is a one-item transaction with a ClientRequestToken, which DynamoDB itself makes idempotent.
 * One request has exactly one effect, and its answer says so. Every write is a
 * conditional operation: nothing is half-written, an update never creates an item and a delete
 * never resurrects one. These are exactly the actions in lambda/service-contract.json.
 *
 * Resilience: the client has bounded connection/request timeouts and at most 2 attempts, so an
 * unreachable or throttled DynamoDB surfaces within a few seconds instead of running into the
 * Lambda timeout. This module owns DynamoDB's error vocabulary: such failures leave it as the
 * domain's StoreUnavailableError (answered 503 by http.ts), and nothing else needs to know
 * DynamoDB's error names or the network's error codes.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  StoreUnavailableError,
  type DeleteResult,
  type User,
  type UserChanges,
  type UserPage,
  type UsersRepository,
  type WriteResult,
  type WritePreconditions,
} from './domain.ts';
import { createDynamoDbClient } from './dynamodb-client.ts';
import { randomUUID } from 'node:crypto';
import { keyOf, uuidv7 } from './user-keys.ts';
import { instrumentClient } from './xray.ts';

export interface RepositoryOptions {
  tableName: string;
  /** e.g. http://127.0.0.1:8000 for DynamoDB Local; omit for the regional endpoint. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** Wraps the low-level client, e.g. to instrument it for X-Ray. */
  instrumentClient?: (client: DynamoDBClient) => DynamoDBClient;
}

export function createUsersRepository(options: RepositoryOptions): UsersRepository {
  const base = createDynamoDbClient(options);
  const client = DynamoDBDocumentClient.from(options.instrumentClient ? options.instrumentClient(base) : base, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const table = (): string => {
    if (!options.tableName) throw new Error('TABLE_NAME is not configured');
    return options.tableName;
  };

  /**
   * One UpdateItem: SET the given fields, REMOVE the named optional ones, bump the version and
   * record this write's token, under the write's preconditions.
   */
  async function update(userId: string, { set, remove }: UserChanges, preconditions: WritePreconditions): Promise<WriteResult> {
    const writeToken = randomUUID();
    const names: Record<string, string> = { '#userId': 'userId', '#updatedDate': 'updatedDate', '#version': 'version', '#writeToken': 'writeToken' };
    const values: Record<string, unknown> = { ':writeToken': writeToken, ':updatedDate': new Date().toISOString(), ':one': 1 };
    const assignments = ['#updatedDate = :updatedDate', '#version = #version + :one', '#writeToken = :writeToken'];
    for (const [field, value] of Object.entries(set)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      assignments.push(`#${field} = :${field}`);
    }
    for (const field of remove) names[`#${field}`] = field;
    const removal = remove.length > 0 ? ` REMOVE ${remove.map((field) => `#${field}`).join(', ')}` : '';
    const precondition = conditionFor(preconditions, values);
    if (precondition === false) return { outcome: 'precondition_failed' };
    try {
      const result = await client.send(
        new UpdateCommand({
          TableName: table(),
          Key: keyOf(userId),
          UpdateExpression: `SET ${assignments.join(', ')}${removal}`,
          ConditionExpression: `${precondition} AND ${NOT_THIS_WRITE}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'ok', user: toUser(result.Attributes ?? {}) };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Our own first attempt was applied: the item as it is now is what this write made it.
      if (tokenOf(error) === writeToken) return { outcome: 'ok', user: toUser(plainItem(error)) };
      return conditionFailure(error, preconditions);
    }
  }

  const operations: UsersRepository = {
    async create(input) {
      // A UUIDv7 collision needs the same millisecond and 74 equal random bits; the condition
      // still guarantees an existing item is never overwritten, and a retry takes a fresh id.
      for (let attempt = 1; ; attempt++) {
        const now = Date.now();
        const userId = uuidv7(now);
        const createdDate = new Date(now).toISOString();
        const user: User = { userId, createdDate, updatedDate: createdDate, version: 1, ...input };
        const writeToken = randomUUID();
        try {
          await client.send(
            new PutCommand({
              TableName: table(),
              Item: { ...user, writeToken },
              ConditionExpression: 'attribute_not_exists(#userId)',
              ExpressionAttributeNames: { '#userId': 'userId' },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          return user;
        } catch (error) {
          // Our own first attempt, applied although its response was lost: the user exists as written.
          if (isConditionalCheckFailed(error) && tokenOf(error) === writeToken) return user;
          if (!isConditionalCheckFailed(error) || attempt >= 3) throw error;
        }
      }
    },

    async get(userId) {
      const result = await client.send(new GetCommand({ TableName: table(), Key: keyOf(userId), ConsistentRead: true }));
      return result.Item ? toUser(result.Item) : undefined;
    },

    async replace(userId, input, preconditions) {
      // A full replacement: every client-writable field is set, and an absent phoneNumber removed.
      const changes: UserChanges = input.phoneNumber === undefined ? { set: input, remove: ['phoneNumber'] } : { set: input, remove: [] };
      return update(userId, changes, preconditions);
    },

    patch: update,

    async delete(userId, preconditions) {
      const values: Record<string, unknown> = {};
      const condition = conditionFor(preconditions, values);
      if (condition === false) return { outcome: 'precondition_failed' };
      try {
        // A one-item transaction, for its ClientRequestToken: DynamoDB answers a resend of the
        // same token (within 10 minutes) with success and no second effect, so a delete whose
        // response was late is not taken for a missing user. IAM authorises it as DeleteItem.
        await client.send(
          new TransactWriteCommand({
            ClientRequestToken: randomUUID(),
            TransactItems: [
              {
                Delete: {
                  TableName: table(),
                  Key: keyOf(userId),
                  ConditionExpression: condition,
                  ExpressionAttributeNames: condition.includes('#version') ? { '#userId': 'userId', '#version': 'version' } : { '#userId': 'userId' },
                  ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                },
              },
            ],
          }),
        );
        return { outcome: 'ok' };
      } catch (error) {
        const reason = cancellationReason(error);
        if (reason?.Code === 'ConditionalCheckFailed') return conditionFailure(reason, preconditions);
        throw error;
      }
    },

    async list(limit, startKey) {
      // Ask for one extra item: if it comes back there is a next page and the cursor is the key
      // of the last item returned, so the final page never ends with an empty follow-up page.
      const result = await client.send(
        new ScanCommand({
          TableName: table(),
          Limit: limit + 1,
          ...(startKey ? { ExclusiveStartKey: { userId: startKey.userId, createdDate: startKey.createdDate } } : {}),
        }),
      );
      const items = (result.Items ?? []).map(toUser);
      if (items.length > limit) {
        const page = items.slice(0, limit);
        const last = page[page.length - 1];
        return { items: page, lastKey: last ? { userId: last.userId, createdDate: last.createdDate } : undefined };
      }
      const lek = result.LastEvaluatedKey;
      const lastKey =
        lek && typeof lek.userId === 'string' && typeof lek.createdDate === 'string'
          ? { userId: lek.userId, createdDate: lek.createdDate }
          : undefined;
      return { items, lastKey };
    },
  };
  return {
    create: (input) => translatingErrors(() => operations.create(input)),
    get: (userId) => translatingErrors(() => operations.get(userId)),
    replace: (userId, input, preconditions) => translatingErrors(() => operations.replace(userId, input, preconditions)),
    patch: (userId, changes, preconditions) => translatingErrors(() => operations.patch(userId, changes, preconditions)),
    delete: (userId, preconditions) => translatingErrors(() => operations.delete(userId, preconditions)),
    list: (limit, startKey) => translatingErrors(() => operations.list(limit, startKey)),
  };
}

/**
 * Configuration the Lambda functions read: TABLE_NAME (required), AWS_REGION (set by Lambda),
 * DYNAMODB_ENDPOINT (local runs only, e.g. DynamoDB Local).
 */
export function repositoryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RepositoryOptions {
  return { tableName: env.TABLE_NAME ?? '', endpoint: env.DYNAMODB_ENDPOINT, region: env.AWS_REGION };
}

let shared: UsersRepository | undefined;

/**
 * The functions' shared instance, built on first use and then kept for the execution environment,
 * so the client and its connections are reused across invocations; importing a module never
 * builds a client. Its client is instrumented for X-Ray by xray.ts (a subsegment per call in
 * sampled invocations, nothing otherwise).
 */
export function sharedUsersRepository(): UsersRepository {
  shared ??= createUsersRepository({ ...repositoryOptionsFromEnv(), instrumentClient });
  return shared;
}

/**
 * A write's condition: the user exists, plus its preconditions (RFC 9110): If-Match as
 * `#version IN (...)`, If-None-Match `*` as attribute_not_exists (never true of an existing user,
 * so the write fails and ALL_OLD says whether it was there), If-None-Match tags as NOT IN.
 * `false` when no state can satisfy it (an If-Match listing no tag of this API): 412 unasked.
 */
function conditionFor(preconditions: WritePreconditions, values: Record<string, unknown>): string | false {
  const parts = ['attribute_exists(#userId)'];
  const { ifMatch, ifNoneMatch } = preconditions;
  if (typeof ifMatch === 'object') {
    if (ifMatch.length === 0) return false;
    parts.push(`#version IN (${placeholders('match', ifMatch, values)})`);
  }
  if (ifNoneMatch === 'any') parts.push('attribute_not_exists(#userId)');
  else if (typeof ifNoneMatch === 'object' && ifNoneMatch.length > 0) {
    parts.push(`NOT (#version IN (${placeholders('noneMatch', ifNoneMatch, values)}))`);
  }
  return parts.join(' AND ');
}

function placeholders(prefix: string, versions: readonly number[], values: Record<string, unknown>): string {
  return versions
    .map((version, index) => {
      values[`:${prefix}${index}`] = version;
      return `:${prefix}${index}`;
    })
    .join(', ');
}

const UNAVAILABLE_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransactionConflictException',
]);
const UNAVAILABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** True for errors that mean "DynamoDB is unreachable, throttled or slow". */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (UNAVAILABLE_ERROR_NAMES.has(error.name)) return true;
  // A transaction cancelled by a conflicting write or by throttling, not by its condition.
  const reason = cancellationReason(error)?.Code;
  if (reason === 'TransactionConflict' || reason === 'ThrottlingError' || reason === 'ProvisionedThroughputExceeded') return true;
  const details = error as Error & { code?: unknown; $metadata?: { httpStatusCode?: number }; errors?: unknown };
  if (typeof details.code === 'string' && UNAVAILABLE_NETWORK_CODES.has(details.code)) return true;
  const status = details.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  // Node reports a refused dual-stack connection as an AggregateError of per-address errors.
  if (Array.isArray(details.errors) && details.errors.some((inner) => isUnavailable(inner))) return true;
  return false;
}

async function translatingErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
  }
}

/** A write that has not already been applied by an earlier attempt of the same call. */
const NOT_THIS_WRITE = '(attribute_not_exists(#writeToken) OR #writeToken <> :writeToken)';

/** The raw (AttributeValue) item a failed condition returned with ALL_OLD, if any. */
function oldItem(error: unknown): Record<string, unknown> | undefined {
  const item = (error as { Item?: unknown }).Item;
  return item && typeof item === 'object' && Object.keys(item).length > 0 ? (item as Record<string, unknown>) : undefined;
}

function hasItem(error: unknown): boolean {
  return oldItem(error) !== undefined;
}

/** The write token on the item a failed condition returned. */
function tokenOf(error: unknown): string | undefined {
  const token = (oldItem(error)?.writeToken as { S?: unknown } | undefined)?.S;
  return typeof token === 'string' ? token : undefined;
}

/** The returned item's string and number attributes as plain values (all a user holds). */
function plainItem(error: unknown): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(oldItem(error) ?? {})) {
    const attribute = value as { S?: string; N?: string };
    if (attribute.S !== undefined) plain[name] = attribute.S;
    else if (attribute.N !== undefined) plain[name] = Number(attribute.N);
  }
  return plain;
}

/** The one item's reason a transaction was cancelled for; a conflict or throttling stays an error. */
function cancellationReason(error: unknown): { Code?: string; Item?: unknown } | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string; Item?: unknown }> }).CancellationReasons;
  return reasons?.[0];
}

function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * With ALL_OLD the exception carries the current item when it exists: then a precondition failed
 * (412). An absent user is 404, unless the client made If-Match a precondition: RFC 9110 makes
 * If-Match false for a missing resource, so that is 412 too.
 */
function conditionFailure(
  error: unknown,
  preconditions: WritePreconditions,
): { outcome: 'not_found' } | { outcome: 'precondition_failed' } {
  if (hasItem(error) || preconditions.ifMatch !== undefined) return { outcome: 'precondition_failed' };
  return { outcome: 'not_found' };
}

/** Copies only the known attributes, in a stable order. */
function toUser(item: Record<string, unknown>): User {
  const user: User = {
    userId: String(item.userId),
    createdDate: String(item.createdDate),
    updatedDate: String(item.updatedDate),
    version: Number(item.version),
    email: String(item.email),
    name: String(item.name),
    status: item.status === 'suspended' ? 'suspended' : 'active',
  };
  if (typeof item.phoneNumber === 'string') user.phoneNumber = item.phoneNumber;
  return user;
}
