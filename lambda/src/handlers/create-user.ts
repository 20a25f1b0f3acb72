import { apiHandler, userResponse } from '../lib/http.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { parseJsonBody, validateUserInput } from '../lib/validation.ts';

/** POST /users: 201 with Location and ETag. */
export const handler = apiHandler('createUser', async (event) => {
  const input = validateUserInput(parseJsonBody(event.body, event.isBase64Encoded, event.headers?.['content-type']), 'create');
  const user = await sharedUsersRepository().create(input);
  return userResponse(201, user, { Location: `/users/${user.userId}` });
});
