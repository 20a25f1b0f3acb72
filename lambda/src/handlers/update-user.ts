import { apiHandler, writeResponse } from '../lib/http.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { parseJsonBody, parseWritePreconditions, validateUserId, validateUserInput } from '../lib/validation.ts';

/**
 * PUT /users/{userId}: full replacement of the client-writable fields: email, name and status are
 * required, an omitted phoneNumber is removed. Honours If-Match (412 when stale); never creates a
 * user (404 when absent).
 */
export const handler = apiHandler('updateUser', async (event) => {
  const userId = validateUserId(event.pathParameters?.userId);
  const preconditions = parseWritePreconditions(event.headers);
  const input = validateUserInput(parseJsonBody(event.body, event.isBase64Encoded, event.headers['content-type']), 'replace');
  const result = await sharedUsersRepository().replace(userId, input, preconditions);
  return writeResponse(result);
});
