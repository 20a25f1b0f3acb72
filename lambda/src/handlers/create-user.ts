import type { UserInput } from '../lib/domain.ts';
import { apiHandler, emailTaken, userResponse, type Response } from '../lib/http.ts';
import { idempotencyOptionsFromEnv, idempotent, type IdempotentOperation } from '../lib/idempotency.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { ConflictError, parseIdempotencyKey, parseJsonBody, validateUserInput } from '../lib/validation.ts';

async function create(input: UserInput): Promise<Response> {
  const result = await sharedUsersRepository().create(input);
  if (result.outcome === 'email_taken') return emailTaken();
  return userResponse(201, result.user, { Location: `/users/${result.user.userId}` });
}

let createOnce: IdempotentOperation<Response> | undefined;

/**
 * POST /users: 201 with Location and ETag; 409 naming email when another user has the address.
 * With an Idempotency-Key, a repeat of the request (same caller, key and body, within 24 hours)
 * is answered with the first response and writes nothing; only a 201 is kept for replay.
 */
export const handler = apiHandler('createUser', async (event, context) => {
  const key = parseIdempotencyKey(event.headers['idempotency-key']);
  const input = validateUserInput(parseJsonBody(event.body, event.isBase64Encoded, event.headers['content-type']), 'create');
  if (key === undefined) return create(input);
  createOnce ??= idempotent(async ({ input: once }) => {
    const response = await create(once);
    // Thrown, not returned, so that the failure is not stored and a retry with the key runs anew.
    if (response.statusCode === 409) throw new ConflictError('email', 'another user already has this email');
    return response;
  }, idempotencyOptionsFromEnv());
  return createOnce({ caller: callerOf(event), key, input }, context);
});

/** Who sent the request, as the authorizer verified it: the token's subject (the client, for client credentials). */
function callerOf(event: Parameters<typeof handler>[0]): string {
  const claims = (event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } }).authorizer?.jwt?.claims;
  const subject = claims?.sub ?? claims?.client_id;
  return typeof subject === 'string' ? subject : '';
}
