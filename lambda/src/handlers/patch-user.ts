import { apiHandler, writeResponse } from '../lib/http.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { MERGE_PATCH_MEDIA_TYPE, parseJsonBody, parseWritePreconditions, validateUserId, validateUserPatch } from '../lib/validation.ts';

/**
 * PATCH /users/{userId} with a JSON Merge Patch (application/merge-patch+json): only the named
 * fields change, `null` removes an optional one. Preconditions as for PUT; 404 when absent.
 */
export const handler = apiHandler('patchUser', async (event) => {
  const userId = validateUserId(event.pathParameters?.userId);
  const preconditions = parseWritePreconditions(event.headers);
  const changes = validateUserPatch(parseJsonBody(event.body, event.isBase64Encoded, event.headers['content-type'], [MERGE_PATCH_MEDIA_TYPE]));
  const result = await sharedUsersRepository().patch(userId, changes, preconditions);
  return writeResponse(result);
});
