import { apiHandler, notFound, userResponse } from '../lib/http.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { validateUserId } from '../lib/validation.ts';

/** GET /users/{userId}: 200 with ETag, 404 when absent. */
export const handler = apiHandler('getUser', async (event) => {
  const userId = validateUserId(event.pathParameters?.userId);
  const user = await sharedUsersRepository().get(userId);
  return user ? userResponse(200, user) : notFound();
});
