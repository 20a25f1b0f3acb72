/**
 * The users table's key design: `userId` is a UUIDv7 whose first 48 bits are its creation time in
 * Unix milliseconds, and `createdDate` (the sort key) is that instant as ISO-8601, so the full
 * primary key follows from a userId alone. Also the opaque pagination cursor over that key.
 */
import { randomBytes } from 'node:crypto';

export interface UserKey {
  userId: string;
  createdDate: string;
}

// ---------------------------------------------------------------------------------------------
// UUIDv7 (RFC 9562): 48-bit Unix ms timestamp | 4-bit version 7 | 12 random bits |
// 2-bit variant 10 | 62 random bits.

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function uuidv7(nowMs: number = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Canonical (lower-case) UUIDv7 only. */
export function isUuidV7(value: string): boolean {
  return UUID_V7.test(value);
}

/** The creation time embedded in a UUIDv7, as ISO-8601 UTC with milliseconds. */
export function createdDateFromUserId(userId: string): string {
  const ms = Number.parseInt(userId.slice(0, 8) + userId.slice(9, 13), 16);
  return new Date(ms).toISOString();
}

export function keyOf(userId: string): UserKey {
  return { userId, createdDate: createdDateFromUserId(userId) };
}

// ---------------------------------------------------------------------------------------------
// Pagination cursor: base64url of the JSON key {"userId","createdDate"}. Decoding is strict: the
// text must be canonical base64url, the JSON exactly those two keys, the userId a UUIDv7 and the
// createdDate the one derived from it. Anything else is rejected (undefined).

export function encodeCursor(key: UserKey): string {
  return Buffer.from(JSON.stringify({ userId: key.userId, createdDate: key.createdDate })).toString('base64url');
}

export function decodeCursor(cursor: string): UserKey | undefined {
  if (cursor.length === 0 || cursor.length > 256 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const buffer = Buffer.from(cursor, 'base64url');
  if (buffer.toString('base64url') !== cursor) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(buffer.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length !== 2 || !keys.includes('userId') || !keys.includes('createdDate')) return undefined;
  const { userId, createdDate } = record;
  if (typeof userId !== 'string' || typeof createdDate !== 'string' || !isUuidV7(userId)) return undefined;
  if (createdDate !== createdDateFromUserId(userId)) return undefined;
  return { userId, createdDate };
}

