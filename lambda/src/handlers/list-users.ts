import { apiHandler, json } from '../lib/http.ts';
import { encodeCursor } from '../lib/user-keys.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { parseCursor, parseLimit } from '../lib/validation.ts';

/** GET /users?limit=1..100&cursor=...: 200 {"items": [...], "nextCursor": string | null}. */
export const handler = apiHandler('listUsers', async (event) => {
  const query = event.queryStringParameters ?? {};
  const limit = parseLimit(query.limit);
  const startKey = parseCursor(query.cursor);
  const page = await sharedUsersRepository().list(limit, startKey);
  return json(200, { items: page.items, nextCursor: page.lastKey ? encodeCursor(page.lastKey) : null });
});
