/**
 * The users domain: what a user is, what a write may expect, what an operation can answer, and the
 * errors a store raises. A leaf module: it imports no SDK and builds no client, so validation and
 * HTTP mapping depend on it without pulling DynamoDB in.
 */
import type { UserKey } from './user-keys.ts';

export const USER_STATUSES = ['active', 'suspended'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/** The client-writable fields, already validated and normalised. */
export interface UserInput {
  email: string;
  name: string;
  status: UserStatus;
  phoneNumber?: string;
}

/** The fields a client may remove (JSON Merge Patch `null`); the others are always present. */
export const OPTIONAL_FIELDS = ['phoneNumber'] as const;
export type OptionalField = (typeof OPTIONAL_FIELDS)[number];

/** A validated JSON Merge Patch (RFC 7396) of a user: the fields to set and those to remove. */
export interface UserChanges {
  set: Partial<UserInput>;
  remove: readonly OptionalField[];
}

export interface User extends UserInput {
  userId: string;
  createdDate: string;
  updatedDate: string;
  version: number;
}

/**
 * What a write requires of the user's current state, from RFC 9110's preconditions. Versions are
 * those of the ETags the client listed that can match (strong ones for If-Match, any for
 * If-None-Match); `'any'` stands for `*`.
 */
export interface WritePreconditions {
  /** The user exists and (unless `'any'`) is at one of these versions; an absent user fails it (412). */
  ifMatch?: 'any' | readonly number[];
  /** The user is not at one of these versions (`'any'`: does not exist at all). */
  ifNoneMatch?: 'any' | readonly number[];
}

/**
 * Whether a user at `version` satisfies the preconditions (RFC 9110 section 13.2.2: If-Match,
 * then If-None-Match). A missing user is the caller's case: it fails If-Match, passes the rest.
 */
export function preconditionsHold(version: number, { ifMatch, ifNoneMatch }: WritePreconditions): boolean {
  if (typeof ifMatch === 'object' && !ifMatch.includes(version)) return false;
  if (ifNoneMatch === 'any') return false;
  if (typeof ifNoneMatch === 'object' && ifNoneMatch.includes(version)) return false;
  return true;
}

/** Another user holds the address (compared after normalisation): 409 naming `email`. */
export type EmailTaken = { outcome: 'email_taken' };

export type CreateResult = { outcome: 'ok'; user: User } | EmailTaken;

export type WriteResult =
  | { outcome: 'ok'; user: User }
  | { outcome: 'not_found' }
  | { outcome: 'precondition_failed' }
  | EmailTaken;

export type DeleteResult = { outcome: 'ok' } | { outcome: 'not_found' } | { outcome: 'precondition_failed' };

export interface UserPage {
  items: User[];
  /** The key to resume after, or undefined when the scan is complete. */
  lastKey: UserKey | undefined;
}

export interface UsersRepository {
  create(input: UserInput): Promise<CreateResult>;
  get(userId: string): Promise<User | undefined>;
  /** The user holding this (normalised) address, read strongly consistently. */
  findByEmail(email: string): Promise<User | undefined>;
  replace(userId: string, input: UserInput, preconditions: WritePreconditions): Promise<WriteResult>;
  patch(userId: string, changes: UserChanges, preconditions: WritePreconditions): Promise<WriteResult>;
  delete(userId: string, preconditions: WritePreconditions): Promise<DeleteResult>;
  list(limit: number, startKey: UserKey | undefined): Promise<UserPage>;
}

/**
 * The store is unreachable, throttled or too slow: the request may be retried later (503). The
 * store's own error stays attached as `cause`, for the logs.
 */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the user store is unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}
