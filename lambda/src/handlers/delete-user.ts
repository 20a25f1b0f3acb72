import { apiHandler, json, notFound, preconditionFailed } from '../lib/http.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { parseWritePreconditions, validateUserId } from '../lib/validation.ts';

/** DELETE /users/{userId}: 204; honours If-Match (412 when stale); 404 when absent. */
export const handler = apiHandler('deleteUser', async (event) => {
  const userId = validateUserId(event.pathParameters?.userId);
  const preconditions = parseWritePreconditions(event.headers);
  const result = await sharedUsersRepository().delete(userId, preconditions);
  switch (result.outcome) {
    case 'ok':
      return json(204);
    case 'not_found':
      return notFound();
    case 'precondition_failed':
      return preconditionFailed();
  }
});
