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

export interface User extends UserInput {
  userId: string;
  createdDate: string;
  updatedDate: string;
  version: number;
}

/** `undefined`: unconditional; `'any'`: If-Match `*`; a number: the version the client last saw. */
export type ExpectedVersion = number | 'any' | undefined;

export type WriteResult =
  | { outcome: 'ok'; user: User }
  | { outcome: 'not_found' }
  | { outcome: 'precondition_failed' };

export type DeleteResult = { outcome: 'ok' } | { outcome: 'not_found' } | { outcome: 'precondition_failed' };

export interface UserPage {
  items: User[];
  /** The key to resume after, or undefined when the scan is complete. */
  lastKey: UserKey | undefined;
}

export interface UsersRepository {
  create(input: UserInput): Promise<User>;
  get(userId: string): Promise<User | undefined>;
  replace(userId: string, input: UserInput, expected: ExpectedVersion): Promise<WriteResult>;
  delete(userId: string, expected: ExpectedVersion): Promise<DeleteResult>;
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
