/**
 * The one module that talks to DynamoDB about users.
 *
 * Key design
 * ----------
 * The users table's primary key is (userId, createdDate). `userId` is a UUIDv7 (user-keys.ts):
 * its first 48 bits are the creation time in Unix milliseconds, and `createdDate` is DERIVED from
 * it (`new Date(ms).toISOString()`). So a request that names only the userId knows the full
 * primary key without a query.
 *
 * Unique e-mail: the emails table holds one item per normalised address, keyed by it, holding a
 * copy of its user. Every write of a user writes that item in the same transaction, under a
 * condition that the address is free or already this user's, so no two users ever hold one
 * address (a GSI could not enforce that: it is eventually consistent and allows duplicates), and
 * a lookup by address is one strongly consistent GetItem of the copy:
 *   create       TransactWriteItems [Put user (absent), Put email item (address free)]
 *   get          GetItem (strongly consistent, so the ETag it returns is current)
 *   findByEmail  GetItem on the emails table (strongly consistent)
 *   replace      GetItem, then TransactWriteItems [Put user (still at the version read),
 *   patch          Put email item (free or this user's), Delete the old one if the address changed]
 *   delete       GetItem, then TransactWriteItems [Delete user (at the version read), Delete email item]
 *   list         Scan of the users table: Limit + ExclusiveStartKey
 * A write reads first because the transaction must name the user's current address; the
 * preconditions (If-Match, If-None-Match) are evaluated on that read, and the transaction's
 * version condition makes the read and the write one atomic step: when another write came in
 * between, the whole step is taken again (at most WRITE_ATTEMPTS times).
 *
 * Retried writes: the SDK resends a request whose response did not arrive within its timeout,
 * and the first attempt may have been applied. Every write is a transaction with a
 * ClientRequestToken of its own (the same in every attempt of one call): DynamoDB answers a
 * resend of an applied transaction (within 10 minutes) with success and no second effect, so one
 * request has exactly one effect and its answer says so. Nothing is half-written, an update never
 * creates a user and a delete never resurrects one. IAM authorises each item of a transaction as
 * its own action (Put: PutItem, Delete: DeleteItem), as lambda/service-contract.json lists them.
 *
 * Resilience: the client has bounded connection/request timeouts and at most 2 attempts, so an
 * unreachable or throttled DynamoDB surfaces within a few seconds instead of running into the
 * Lambda timeout. This module owns DynamoDB's error vocabulary: such failures leave it as the
 * domain's StoreUnavailableError (answered 503 by http.ts), and nothing else needs to know
 * DynamoDB's error names or the network's error codes.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  preconditionsHold,
  StoreUnavailableError,
  type CreateResult,
  type DeleteResult,
  type User,
  type UserChanges,
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
  emailsTableName: string;
  /** e.g. http://127.0.0.1:8000 for DynamoDB Local; omit for the regional endpoint. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** Wraps the low-level client, e.g. to instrument it for X-Ray. */
  instrumentClient?: (client: DynamoDBClient) => DynamoDBClient;
}

/**
 * How often one write is tried in all: a UUID collision, a write that came in between the read
 * and the transaction, or a transaction conflict with a concurrent one each take another attempt.
 */
export const WRITE_ATTEMPTS = 4;

type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;

/** Why a transaction was not applied, by item; undefined when it failed for another reason. */
type Cancellation = Array<string | undefined>;

export function createUsersRepository(options: RepositoryOptions): UsersRepository {
  const base = createDynamoDbClient(options);
  const client = DynamoDBDocumentClient.from(options.instrumentClient ? options.instrumentClient(base) : base, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const required = (name: string, value: string): string => {
    if (!value) throw new Error(`${name} is not configured`);
    return value;
  };
  const usersTable = (): string => required('TABLE_NAME', options.tableName);
  const emailsTable = (): string => required('EMAILS_TABLE_NAME', options.emailsTableName);

  /** Sends one transaction under a fresh ClientRequestToken; a cancellation comes back as its reasons. */
  async function transact(items: TransactItems): Promise<Cancellation | undefined> {
    try {
      await client.send(new TransactWriteCommand({ ClientRequestToken: randomUUID(), TransactItems: items }));
      return undefined;
    } catch (error) {
      // Cancelled by a condition, or by a concurrent transaction on one of its items: the caller
      // decides. Throttling and the like stay errors (503).
      const reasons = cancellationReasons(error);
      if (reasons?.every((code) => code === undefined || code === 'ConditionalCheckFailed' || code === 'TransactionConflict')) return reasons;
      throw error;
    }
  }

  /** The email item: a copy of the user under its address; it may be taken only when free or the user's own. */
  const claimEmail = (user: User): TransactItems[number] => ({
    Put: {
      TableName: emailsTable(),
      Item: user,
      ConditionExpression: 'attribute_not_exists(#email) OR #userId = :userId',
      ExpressionAttributeNames: { '#email': 'email', '#userId': 'userId' },
      ExpressionAttributeValues: { ':userId': user.userId },
    },
  });
  const releaseEmail = (email: string, userId: string): TransactItems[number] => ({
    Delete: {
      TableName: emailsTable(),
      Key: { email },
      // Only this user's claim; an address that somehow has none is released already.
      ConditionExpression: 'attribute_not_exists(#email) OR #userId = :userId',
      ExpressionAttributeNames: { '#email': 'email', '#userId': 'userId' },
      ExpressionAttributeValues: { ':userId': userId },
    },
  });
  const atVersion = (version: number) => ({
    ConditionExpression: '#version = :version',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':version': version },
  });

  async function get(userId: string): Promise<User | undefined> {
    const result = await client.send(new GetCommand({ TableName: usersTable(), Key: keyOf(userId), ConsistentRead: true }));
    return result.Item ? toUser(result.Item) : undefined;
  }

  /**
   * Reads the user, checks the preconditions, and writes `change(current)` with its e-mail claim
   * in one transaction conditioned on the version read.
   */
  async function update(userId: string, { set, remove }: UserChanges, preconditions: WritePreconditions): Promise<WriteResult> {
    for (let attempt = 1; ; attempt++) {
      const current = await get(userId);
      if (!current) return preconditions.ifMatch === undefined ? { outcome: 'not_found' } : { outcome: 'precondition_failed' };
      if (!preconditionsHold(current.version, preconditions)) return { outcome: 'precondition_failed' };
      const next: User = { ...current, ...set, updatedDate: new Date().toISOString(), version: current.version + 1 };
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the keys are OptionalField, a closed union of User's optional fields
      for (const field of remove) delete next[field];
      const items: TransactItems = [{ Put: { TableName: usersTable(), Item: next, ...atVersion(current.version) } }, claimEmail(next)];
      if (next.email !== current.email) items.push(releaseEmail(current.email, userId));
      const cancelled = await transact(items);
      if (!cancelled) return { outcome: 'ok', user: next };
      if (cancelled[1] === 'ConditionalCheckFailed') return { outcome: 'email_taken' };
      // The user changed since it was read (or a concurrent transaction held it): read again.
      if (attempt >= WRITE_ATTEMPTS) throw new StoreUnavailableError(new Error(`${userId} kept changing during ${attempt} attempts`));
      await backOff(attempt);
    }
  }

  const operations: UsersRepository = {
    async create(input): Promise<CreateResult> {
      for (let attempt = 1; ; attempt++) {
        const now = Date.now();
        const userId = uuidv7(now);
        const createdDate = new Date(now).toISOString();
        const user: User = { userId, createdDate, updatedDate: createdDate, version: 1, ...input };
        const cancelled = await transact([
          {
            Put: {
              TableName: usersTable(),
              Item: user,
              ConditionExpression: 'attribute_not_exists(#userId)',
              ExpressionAttributeNames: { '#userId': 'userId' },
            },
          },
          claimEmail(user),
        ]);
        if (!cancelled) return { outcome: 'ok', user };
        if (cancelled[1] === 'ConditionalCheckFailed') return { outcome: 'email_taken' };
        // A UUIDv7 collision (same millisecond, 74 equal random bits) or a concurrent transaction
        // on the address: a fresh id, a fresh try.
        if (attempt >= WRITE_ATTEMPTS) throw new StoreUnavailableError(new Error(`create did not apply in ${attempt} attempts`));
        await backOff(attempt);
      }
    },

    get,

    async findByEmail(email) {
      const result = await client.send(new GetCommand({ TableName: emailsTable(), Key: { email }, ConsistentRead: true }));
      return result.Item ? toUser(result.Item) : undefined;
    },

    async replace(userId, input, preconditions) {
      // A full replacement: every client-writable field is set, and an absent phoneNumber removed.
      const changes: UserChanges = input.phoneNumber === undefined ? { set: input, remove: ['phoneNumber'] } : { set: input, remove: [] };
      return update(userId, changes, preconditions);
    },

    patch: update,

    async delete(userId, preconditions): Promise<DeleteResult> {
      for (let attempt = 1; ; attempt++) {
        const current = await get(userId);
        if (!current) return preconditions.ifMatch === undefined ? { outcome: 'not_found' } : { outcome: 'precondition_failed' };
        if (!preconditionsHold(current.version, preconditions)) return { outcome: 'precondition_failed' };
        const cancelled = await transact([
          { Delete: { TableName: usersTable(), Key: keyOf(userId), ...atVersion(current.version) } },
          releaseEmail(current.email, userId),
        ]);
        if (!cancelled) return { outcome: 'ok' };
        if (attempt >= WRITE_ATTEMPTS) throw new StoreUnavailableError(new Error(`${userId} kept changing during ${attempt} attempts`));
        await backOff(attempt);
      }
    },

    async list(limit, startKey) {
      // Ask for one extra item: if it comes back there is a next page and the cursor is the key
      // of the last item returned, so the final page never ends with an empty follow-up page.
      const result = await client.send(
        new ScanCommand({
          TableName: usersTable(),
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
    findByEmail: (email) => translatingErrors(() => operations.findByEmail(email)),
    replace: (userId, input, preconditions) => translatingErrors(() => operations.replace(userId, input, preconditions)),
    patch: (userId, changes, preconditions) => translatingErrors(() => operations.patch(userId, changes, preconditions)),
    delete: (userId, preconditions) => translatingErrors(() => operations.delete(userId, preconditions)),
    list: (limit, startKey) => translatingErrors(() => operations.list(limit, startKey)),
  };
}

/** A short, jittered pause before another attempt, so concurrent writers do not collide again in step. */
async function backOff(attempt: number): Promise<void> {
  await sleep(Math.random() * 20 * attempt);
}

/**
 * Configuration the Lambda functions read: TABLE_NAME and EMAILS_TABLE_NAME (each required by the
 * operations that use it), AWS_REGION (set by Lambda), DYNAMODB_ENDPOINT (local runs only, e.g.
 * DynamoDB Local).
 */
export function repositoryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RepositoryOptions {
  return { tableName: env.TABLE_NAME ?? '', emailsTableName: env.EMAILS_TABLE_NAME ?? '', endpoint: env.DYNAMODB_ENDPOINT, region: env.AWS_REGION };
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
  const reasons = cancellationReasons(error) ?? [];
  if (reasons.some((code) => code === 'TransactionConflict' || code === 'ThrottlingError' || code === 'ProvisionedThroughputExceeded')) return true;
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

/** The per-item codes of a cancelled transaction ('None' becomes undefined), or undefined for any other error. */
function cancellationReasons(error: unknown): Cancellation | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
  if (!Array.isArray(reasons)) return undefined;
  return reasons.map((reason) => (reason.Code === 'None' || reason.Code === undefined ? undefined : reason.Code));
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
