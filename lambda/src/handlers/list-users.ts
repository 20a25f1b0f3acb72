import { apiHandler, json } from '../lib/http.ts';
import { encodeCursor } from '../lib/user-keys.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { parseCursor, parseEmailQuery, parseLimit } from '../lib/validation.ts';

/**
 * GET /users?limit=1..100&cursor=...: 200 {"items": [...], "nextCursor": string | null}.
 * GET /users?email=<address>: the user with that address (after normalisation) as a one-item
 * page, or an empty page; one strongly consistent read, so a user just created is found.
 */
export const handler = apiHandler('listUsers', async (event) => {
  const query = event.queryStringParameters ?? {};
  const limit = parseLimit(query.limit);
  const email = parseEmailQuery(query);
  if (email !== undefined) {
    const user = await sharedUsersRepository().findByEmail(email);
    return json(200, { items: user ? [user] : [], nextCursor: null });
  }
  const startKey = parseCursor(query.cursor);
  const page = await sharedUsersRepository().list(limit, startKey);
  return json(200, { items: page.items, nextCursor: page.lastKey ? encodeCursor(page.lastKey) : null });
});
