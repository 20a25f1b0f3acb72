/**
 * Input validation. Every failure is a ValidationError naming the offending field, so that bad
 * input always becomes a 400 and never reaches DynamoDB or the 500 path.
 */
import { decodeCursor, isUuidV7, type UserKey } from './user-keys.ts';
import { OPTIONAL_FIELDS, USER_STATUSES, type OptionalField, type UserChanges, type UserInput, type UserStatus, type WritePreconditions } from './domain.ts';

export const LIMITS = {
  nameMaxLength: 200,
  emailMaxLength: 254,
  bodyMaxBytes: 16 * 1024,
  listDefault: 20,
  listMin: 1,
  listMax: 100,
} as const;

/** A request the handlers refuse: 400 unless a subclass says otherwise; `field` names what was wrong. */
export class ValidationError extends Error {
  readonly field: string;
  readonly status: 400 | 409 | 413 | 415 | 422 = 400;

  constructor(field: string, message: string) {
    super(message);
    this.name = 'ValidationError';
    this.field = field;
  }
}

/** The body is over LIMITS.bodyMaxBytes (413). */
export class PayloadTooLargeError extends ValidationError {
  override readonly status = 413;
}

/** The body's Content-Type is not one the operation reads (415). */
export class UnsupportedMediaTypeError extends ValidationError {
  override readonly status = 415;
}

/** The request conflicts with the state of the target, e.g. its Idempotency-Key is still in use (409). */
export class ConflictError extends ValidationError {
  override readonly status = 409;
}

/** Well-formed but refused, e.g. a reused Idempotency-Key with a different body (422). */
export class UnprocessableContentError extends ValidationError {
  override readonly status = 422;
}

export const WRITABLE_FIELDS: ReadonlySet<string> = new Set(['email', 'name', 'status', 'phoneNumber']);
export const READ_ONLY_FIELDS: ReadonlySet<string> = new Set(['userId', 'createdDate', 'updatedDate', 'version']);

// Pragmatic address check (dot-atom local part, LDH domain labels, alphabetic-or-punycode TLD).
const EMAIL =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
const E164 = /^\+[1-9][0-9]{1,14}$/;
// Control characters (C0, DEL, C1) and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex -- control characters are what this pattern exists to find
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const JSON_MEDIA_TYPE = 'application/json';
export const MERGE_PATCH_MEDIA_TYPE = 'application/merge-patch+json';

/**
 * The request body as JSON. Checked in this order, each failure naming its field: a body is
 * present (400), its Content-Type is one of `mediaTypes` with no charset but UTF-8 (415), it is at
 * most LIMITS.bodyMaxBytes (413), its bytes are UTF-8 (400: never silently read as U+FFFD), and it
 * parses (400). API Gateway sets isBase64Encoded when it passes the bytes through as base64.
 */
export function parseJsonBody(
  // null as well: a hand-made or payload 1.0 test event carries `"body": null` for no body.
  body: string | null | undefined,
  isBase64Encoded: boolean | undefined,
  contentType: string | undefined,
  mediaTypes: readonly string[] = [JSON_MEDIA_TYPE],
): unknown {
  if (body === undefined || body === null || body === '') throw new ValidationError('body', 'body is required');
  requireMediaType(contentType, mediaTypes);
  if (!isBase64Encoded && !body.isWellFormed()) throw new ValidationError('body', 'body must be valid UTF-8');
  const buffer = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (buffer.length > LIMITS.bodyMaxBytes) {
    throw new PayloadTooLargeError('body', `body must be at most ${LIMITS.bodyMaxBytes} bytes`);
  }
  let text: string;
  try {
    text = STRICT_UTF8.decode(buffer);
  } catch {
    throw new ValidationError('body', 'body must be valid UTF-8');
  }
  if (text.trim() === '') throw new ValidationError('body', 'body is required');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError('body', 'body must be valid JSON');
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** `type/subtype` with optional parameters; a charset other than UTF-8 is refused, as JSON is UTF-8. */
function requireMediaType(contentType: string | undefined, mediaTypes: readonly string[]): void {
  const expected = mediaTypes.join(' or ');
  const [essence = '', ...parameters] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  if (!mediaTypes.includes(essence)) {
    throw new UnsupportedMediaTypeError('Content-Type', `Content-Type must be ${expected}`);
  }
  for (const parameter of parameters) {
    const [name, value = ''] = parameter.split('=').map((part) => part.trim());
    if (name === 'charset' && value.replace(/^"(.*)"$/, '$1') !== 'utf-8') {
      throw new UnsupportedMediaTypeError('Content-Type', `Content-Type must be ${expected} in UTF-8`);
    }
  }
}

/**
 * Create and full replacement share one shape: email and name are required, phoneNumber is
 * optional (absent: none). status defaults to active on create; a replacement must give it, so
 * that a PUT never silently reactivates a suspended user.
 */
export function validateUserInput(value: unknown, purpose: 'create' | 'replace' = 'create'): UserInput {
  const record = writableFields(value);
  const input: UserInput = {
    email: validateEmail(record.email),
    name: validateName(record.name),
    status: validateStatus(record.status, purpose),
  };
  const phoneNumber = validatePhoneNumber(record.phoneNumber);
  if (phoneNumber !== undefined) input.phoneNumber = phoneNumber;
  return input;
}

/**
 * A JSON Merge Patch (RFC 7396) of a user: an object naming at least one client-writable field.
 * A value replaces the field (validated as on create); `null` removes an optional field and is a
 * 400 for a required one. Read-only and unknown fields are 400, as on create.
 */
export function validateUserPatch(value: unknown): UserChanges {
  const record = writableFields(value);
  const names = Object.keys(record);
  if (names.length === 0) throw new ValidationError('body', 'body must name at least one field: an empty merge patch changes nothing');
  const set: Partial<UserInput> = {};
  const remove: OptionalField[] = [];
  for (const name of names) {
    const field = record[name];
    if (field === null) {
      if (!(OPTIONAL_FIELDS as readonly string[]).includes(name)) throw new ValidationError(name, `${name} is required and cannot be removed`);
      remove.push(name as OptionalField);
    } else if (name === 'email') set.email = validateEmail(field);
    else if (name === 'name') set.name = validateName(field);
    else if (name === 'status') set.status = validateStatus(field);
    else if (name === 'phoneNumber') {
      const phoneNumber = validatePhoneNumber(field);
      if (phoneNumber !== undefined) set.phoneNumber = phoneNumber;
    }
  }
  return { set, remove };
}

/** The body as an object whose every key is a client-writable field. */
function writableFields(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('body', 'body must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (READ_ONLY_FIELDS.has(key)) throw new ValidationError(key, `${key} is read-only and cannot be set`);
    if (!WRITABLE_FIELDS.has(key)) {
      const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
      throw new ValidationError(shown, `${shown} is not a recognised field`);
    }
  }
  return record;
}

export function validateEmail(value: unknown): string {
  if (value === undefined) throw new ValidationError('email', 'email is required');
  if (typeof value !== 'string') throw new ValidationError('email', 'email must be a string');
  const email = value.trim().toLowerCase();
  if (email === '') throw new ValidationError('email', 'email must not be empty');
  if (email.length > LIMITS.emailMaxLength) {
    throw new ValidationError('email', `email must be at most ${LIMITS.emailMaxLength} characters`);
  }
  const local = email.slice(0, email.lastIndexOf('@'));
  if (!EMAIL.test(email) || local.length > 64) {
    throw new ValidationError('email', 'email must be a valid e-mail address');
  }
  return email;
}

export function validateName(value: unknown): string {
  if (value === undefined) throw new ValidationError('name', 'name is required');
  if (typeof value !== 'string') throw new ValidationError('name', 'name must be a string');
  // A lone surrogate (from a JSON \\ud800 escape) has no UTF-8 encoding and no glyph.
  if (!value.isWellFormed()) throw new ValidationError('name', 'name must not contain lone surrogates');
  // NFC, so that one name typed on two keyboards is stored (and compared) as one string.
  const name = value.normalize('NFC').trim();
  if (name === '') throw new ValidationError('name', 'name must not be empty');
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- the limit counts code points, as JSON Schema's maxLength in the OpenAPI document does
  if ([...name].length > LIMITS.nameMaxLength) {
    throw new ValidationError('name', `name must be at most ${LIMITS.nameMaxLength} characters`);
  }
  if (CONTROL.test(name)) throw new ValidationError('name', 'name must not contain control characters');
  if (BIDI_CONTROL.test(name)) {
    throw new ValidationError('name', 'name must not contain bidirectional embeddings, overrides or isolates');
  }
  if (INVISIBLE_ONLY.test(name)) throw new ValidationError('name', 'name must contain a visible character');
  return name;
}

// Embeddings and overrides (U+202A..U+202E) and isolates (U+2066..U+2069) reorder the text shown
// around a name; the marks U+200E/U+200F are left alone, as right-to-left names may need them.
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/u;
// Nothing but spaces, default-ignorable characters (zero-width spaces and joiners, fillers) and
// the blank braille pattern, which render as nothing.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800]+$/u;

export function validateStatus(value: unknown, purpose: 'create' | 'replace' = 'create'): UserStatus {
  if (value === undefined && purpose === 'replace') {
    throw new ValidationError('status', 'status is required: PUT replaces every client-writable field');
  }
  if (value === undefined) return 'active';
  if (typeof value !== 'string' || !(USER_STATUSES as readonly string[]).includes(value)) {
    throw new ValidationError('status', `status must be one of: ${USER_STATUSES.join(', ')}`);
  }
  return value as UserStatus;
}

export function validatePhoneNumber(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ValidationError('phoneNumber', 'phoneNumber must be a string');
  const phoneNumber = value.trim();
  if (!E164.test(phoneNumber)) {
    throw new ValidationError('phoneNumber', 'phoneNumber must be an E.164 number such as +14155550100');
  }
  return phoneNumber;
}

/**
 * The path userId must be a canonical (lower-case) UUIDv7: anything else cannot name a user this
 * service created, and is answered 400 (not 404) so that client bugs are visible.
 */
export function validateUserId(value: string | undefined): string {
  if (value === undefined || value === '') throw new ValidationError('userId', 'userId is required');
  if (!isUuidV7(value)) throw new ValidationError('userId', 'userId must be a UUIDv7 in lower-case canonical form');
  return value;
}

export function parseLimit(value: string | undefined): number {
  if (value === undefined) return LIMITS.listDefault;
  if (!/^[0-9]{1,3}$/.test(value)) {
    throw new ValidationError('limit', `limit must be an integer from ${LIMITS.listMin} to ${LIMITS.listMax}`);
  }
  const limit = Number(value);
  if (limit < LIMITS.listMin || limit > LIMITS.listMax) {
    throw new ValidationError('limit', `limit must be an integer from ${LIMITS.listMin} to ${LIMITS.listMax}`);
  }
  return limit;
}

export function parseCursor(value: string | undefined): UserKey | undefined {
  if (value === undefined) return undefined;
  const key = decodeCursor(value);
  if (!key) throw new ValidationError('cursor', 'cursor must be a value returned as nextCursor');
  return key;
}

/** Longest Idempotency-Key accepted, in characters between the quotes. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
// An sf-string (RFC 8941) of printable ASCII without the escapes: a UUID in quotes is typical.
const IDEMPOTENCY_KEY = new RegExp(`^"([\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}})"$`);

/**
 * The Idempotency-Key header (IETF httpapi draft): absent, or a Structured Field string such as
 * "8e03978e-40d5-43e8-bc93-6894a57f9324". An unquoted, empty, over-long or escaped key is a 400.
 */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = IDEMPOTENCY_KEY.exec(value.trim());
  if (!match?.[1]) {
    throw new ValidationError(
      'Idempotency-Key',
      `Idempotency-Key must be a quoted string of 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters without quotes or backslashes, such as "8e03978e-40d5-43e8-bc93-6894a57f9324"`,
    );
  }
  return match[1];
}

/** GET /users?email=: a lookup by address; it returns one page and takes no cursor. */
export function parseEmailQuery(query: Record<string, string | undefined>): string | undefined {
  if (query.email === undefined) return undefined;
  if (query.cursor !== undefined) throw new ValidationError('cursor', 'cursor cannot be combined with email: a lookup by email returns one page');
  return validateEmail(query.email);
}

/** At most this many entity-tags in one If-Match or If-None-Match (DynamoDB's IN takes 100). */
export const MAX_ENTITY_TAGS = 50;

/** `*`, or the entity-tags of an If-Match / If-None-Match list (RFC 9110 section 8.8.3). */
export type EntityTags = '*' | ReadonlyArray<{ weak: boolean; opaque: string }>;

// One list element: an optional weak prefix, the quoted opaque tag, then a comma or the end.
// eslint-disable-next-line no-control-regex -- RFC 9110's etagc excludes NUL..space and DEL, which the class names
const ENTITY_TAG = /^(W\/)?"([^"\u0000-\u0020\u007f]*)"[\t ]*(?:,|$)/;

/**
 * A conditional header as the RFC defines it: absent, `*`, or a comma-separated list of strong
 * or weak entity-tags (empty list elements are ignored). Anything else is a 400 naming the header.
 */
export function parseEntityTags(header: 'If-Match' | 'If-None-Match', value: string | undefined): EntityTags | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '*') return '*';
  const tags: Array<{ weak: boolean; opaque: string }> = [];
  let rest = value;
  for (;;) {
    rest = rest.replace(/^[\t ,]*/, '');
    if (rest === '') break;
    const match = ENTITY_TAG.exec(rest);
    if (!match) break;
    tags.push({ weak: match[1] !== undefined, opaque: match[2] ?? '' });
    rest = rest.slice(match[0].length);
  }
  if (rest !== '' || tags.length === 0) {
    throw new ValidationError(header, `${header} must be * or a list of entity-tags such as "1" or W/"1"`);
  }
  if (tags.length > MAX_ENTITY_TAGS) throw new ValidationError(header, `${header} must list at most ${MAX_ENTITY_TAGS} entity-tags`);
  return tags;
}

/** The version an opaque tag of this API names ("<version>"), if it is one. */
function versionOf(opaque: string): number | undefined {
  return /^[1-9][0-9]{0,14}$/.test(opaque) ? Number(opaque) : undefined;
}

/**
 * The versions a list can match: If-Match compares strongly (a weak tag never matches),
 * If-None-Match weakly (W/"1" matches "1"). Tags this API never issued match nothing.
 */
export function matchableVersions(tags: EntityTags, comparison: 'strong' | 'weak'): 'any' | number[] {
  if (tags === '*') return 'any';
  const versions = tags
    .filter((tag) => comparison === 'weak' || !tag.weak)
    .map((tag) => versionOf(tag.opaque))
    .filter((version): version is number => version !== undefined);
  return [...new Set(versions)];
}

/** If-Match and If-None-Match of a PUT, PATCH or DELETE. */
export function parseWritePreconditions(headers: Record<string, string | undefined> | undefined): WritePreconditions {
  const ifMatch = parseEntityTags('If-Match', headers?.['if-match']);
  const ifNoneMatch = parseEntityTags('If-None-Match', headers?.['if-none-match']);
  return {
    ...(ifMatch === undefined ? {} : { ifMatch: matchableVersions(ifMatch, 'strong') }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch: matchableVersions(ifNoneMatch, 'weak') }),
  };
}
