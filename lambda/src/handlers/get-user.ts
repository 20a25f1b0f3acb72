import { apiHandler, notFound, notModified, userResponse } from '../lib/http.ts';
import { sharedUsersRepository } from '../lib/users-repository.ts';
import { matchableVersions, parseEntityTags, validateUserId } from '../lib/validation.ts';

/**
 * GET /users/{userId}: 200 with ETag, 404 when absent; 304 with the ETag and no body when
 * If-None-Match names the current version (weak comparison) or is `*`.
 */
export const handler = apiHandler('getUser', async (event) => {
  const userId = validateUserId(event.pathParameters?.userId);
  const ifNoneMatch = parseEntityTags('If-None-Match', event.headers['if-none-match']);
  const user = await sharedUsersRepository().get(userId);
  if (!user) return notFound();
  if (ifNoneMatch !== undefined) {
    const versions = matchableVersions(ifNoneMatch, 'weak');
    if (versions === 'any' || versions.includes(user.version)) return notModified(user.version);
  }
  return userResponse(200, user);
});
