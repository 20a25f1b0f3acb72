/**
 * Idempotency-Key on POST /users, as the IETF httpapi draft "The Idempotency-Key HTTP Header
 * Field" describes it, on Powertools' idempotency utility with its DynamoDB persistence layer:
 * the first request with a key records that it is in progress, runs, and stores its response;
 * a later request with the same key (from the same caller, within IDEMPOTENCY_WINDOW_SECONDS)
 * gets that response again without a second write. DynamoDB's TTL removes expired records.
 *
 * - The key is scoped to the caller (the token's `sub`): two clients choosing one key never see
 *   each other's responses.
 * - The payload is the validated, normalised input, so `{"email":"A@x.io"}` and
 *   `{"email":"a@x.io"}` are one request; a different payload under a used key is 422.
 * - A request whose first attempt is still running is 409 (retry later).
 * - Only a successful response is stored: a failure (a taken e-mail, a 503) deletes the
 *   in-progress record, so a retry with the same key runs again.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import { StoreUnavailableError, type UserInput } from './domain.ts';
import { createDynamoDbClient } from './dynamodb-client.ts';
import { isUnavailable } from './users-repository.ts';
import { ConflictError, UnprocessableContentError } from './validation.ts';
import { instrumentClient } from './xray.ts';

/** How long a key's response is kept and replayed: the draft suggests 24 hours. */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60;

/** What identifies one idempotent request (caller and key) and what it asked for (input). */
export interface IdempotentRequest {
  caller: string;
  key: string;
  input: UserInput;
}

export interface IdempotencyOptions {
  tableName: string;
  endpoint?: string | undefined;
  region?: string | undefined;
}

export type IdempotentOperation<R> = (request: IdempotentRequest, context: Context) => Promise<R>;

/**
 * `operation` made idempotent per (caller, key): it runs at most once per key within the window
 * while it succeeds; its errors propagate and leave no record. Powertools' own errors become the
 * API's: in progress 409, reused with another payload 422, store unreachable 503.
 */
export function idempotent<R>(operation: (request: IdempotentRequest) => Promise<R>, options: IdempotencyOptions): IdempotentOperation<R> {
  if (!options.tableName) throw new Error('IDEMPOTENCY_TABLE_NAME is not configured');
  const config = new IdempotencyConfig({
    eventKeyJmesPath: '[caller, key]',
    payloadValidationJmesPath: 'input',
    expiresAfterSeconds: IDEMPOTENCY_WINDOW_SECONDS,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    expiryAttr: 'expiration',
    awsSdkV3Client: instrumentClient(createDynamoDbClient(options)),
  });
  // A fixed prefix, not the function's name: a redeployed or renamed function keeps its keys.
  const run = makeIdempotent(operation, { persistenceStore, config, keyPrefix: 'createUser', dataIndexArgument: 0 });
  return async (request, context) => {
    // The in-progress record expires with this invocation's remaining time, so a request whose
    // function timed out can be retried before the window ends.
    config.registerLambdaContext(context);
    try {
      return await run(request);
    } catch (error) {
      throw translated(error);
    }
  };
}

function translated(error: unknown): unknown {
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new ConflictError('Idempotency-Key', 'a request with this Idempotency-Key is still in progress; retry it later');
  }
  if (error instanceof IdempotencyValidationError) {
    return new UnprocessableContentError('Idempotency-Key', 'this Idempotency-Key was already used with a different request body');
  }
  if (error instanceof IdempotencyPersistenceLayerError && isUnavailable(error.cause)) return new StoreUnavailableError(error.cause);
  return error;
}

/** The idempotency store's configuration: IDEMPOTENCY_TABLE_NAME, and DYNAMODB_ENDPOINT locally. */
export function idempotencyOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): IdempotencyOptions {
  return { tableName: env.IDEMPOTENCY_TABLE_NAME ?? '', endpoint: env.DYNAMODB_ENDPOINT, region: env.AWS_REGION };
}
