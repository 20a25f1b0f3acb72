/**
 * lambda/service-contract.json, loaded and checked once for the TypeScript side: the handlers take
 * their route keys from it, and the handlers' tests, the local server and the bench their routes,
 * scopes, tables and DynamoDB actions. (The CDK app reads the same file in service/contract.py;
 * tests/unit/test_contract.py proves the two loaders agree.)
 */
import document from '../service-contract.json' with { type: 'json' };

export interface Operation {
  /** e.g. createUser; also the handler's name in logs, metrics and traces. */
  name: string;
  /** Upper-case HTTP method. */
  method: string;
  /** e.g. /users/{userId} */
  path: string;
  /** API Gateway's route key, e.g. "GET /users/{userId}". */
  routeKey: string;
  /** The handler module, relative to lambda/. */
  entry: string;
  /** The OAuth scope a caller's token must carry. */
  scope: string;
  probe: Probe;
  /** Every DynamoDB action the handler calls, per table role: its IAM policy. */
  dynamodbActions: Readonly<Partial<Record<TableRole, readonly string[]>>>;
}

/**
 * A request that reads at most, and the status a healthy version answers it with: what the
 * pre-traffic hook sends each new version (method and path are the operation's).
 */
export interface Probe {
  method: string;
  path: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  contentType?: string;
  expectedStatus: number;
}

export const TABLE_ROLES = ['users', 'emails', 'idempotency'] as const;
export type TableRole = (typeof TABLE_ROLES)[number];

export interface TableDefinition {
  partitionKey: string;
  sortKey?: string;
  /** The attribute DynamoDB's TTL deletes expired items by. */
  timeToLiveAttribute?: string;
  /** The variable that tells a function this table's name. */
  environmentVariable: string;
}

export interface ServiceContract {
  tables: Readonly<Record<TableRole, TableDefinition>>;
  scopes: { read: string; write: string };
  operations: readonly Operation[];
}

export class ContractError extends Error {
  constructor(source: string, key: string, message: string) {
    super(`${source}: ${key} ${message}`);
    this.name = 'ContractError';
  }
}

function text(record: Record<string, unknown>, key: string, where: string, source: string): string {
  const value = record[key];
  if (typeof value !== 'string' || value === '') throw new ContractError(source, `${where}.${key}`, 'must be a non-empty string');
  return value;
}

function isTableRole(role: string): role is TableRole {
  return (TABLE_ROLES as readonly string[]).includes(role);
}

function object(value: unknown, where: string, source: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ContractError(source, where, 'must be an object');
  return value as Record<string, unknown>;
}

/** Checks a parsed contract document; every error names the key that is wrong. */
export function parseContract(value: unknown, source = 'lambda/service-contract.json'): ServiceContract {
  const root = object(value, 'contract', source);
  const tablesRecord = object(root.tables, 'tables', source);
  const unknownRole = Object.keys(tablesRecord).find((role) => !(TABLE_ROLES as readonly string[]).includes(role));
  if (unknownRole) throw new ContractError(source, `tables.${unknownRole}`, `is not one of ${TABLE_ROLES.join(', ')}`);
  const tables = Object.fromEntries(
    TABLE_ROLES.map((role): [TableRole, TableDefinition] => {
      const where = `tables.${role}`;
      const record = object(tablesRecord[role], where, source);
      const optional = (key: string): string | undefined => (record[key] === undefined ? undefined : text(record, key, where, source));
      const sortKey = optional('sortKey');
      const timeToLiveAttribute = optional('timeToLiveAttribute');
      return [
        role,
        {
          partitionKey: text(record, 'partitionKey', where, source),
          ...(sortKey ? { sortKey } : {}),
          ...(timeToLiveAttribute ? { timeToLiveAttribute } : {}),
          environmentVariable: text(record, 'environmentVariable', where, source),
        },
      ];
    }),
  ) as Record<TableRole, TableDefinition>;
  const scopes = object(root.scopes, 'scopes', source);
  if (!Array.isArray(root.operations) || root.operations.length === 0) {
    throw new ContractError(source, 'operations', 'must list at least one operation');
  }
  const operations = root.operations.map((item: unknown, index: number): Operation => {
    const where = `operations[${index}]`;
    const record = object(item, where, source);
    const method = text(record, 'method', where, source).toUpperCase();
    const path = text(record, 'path', where, source);
    const dynamodbActions: Partial<Record<TableRole, string[]>> = {};
    for (const [role, list] of Object.entries(object(record.dynamodbActions, `${where}.dynamodbActions`, source))) {
      if (!isTableRole(role)) {
        throw new ContractError(source, `${where}.dynamodbActions.${role}`, `is not a table role (${TABLE_ROLES.join(', ')})`);
      }
      if (!Array.isArray(list) || list.length === 0 || !list.every((action): action is string => typeof action === 'string' && action.startsWith('dynamodb:'))) {
        throw new ContractError(source, `${where}.dynamodbActions.${role}`, 'must be a non-empty list of dynamodb:* actions');
      }
      dynamodbActions[role] = list;
    }
    const probe = object(record.probe, `${where}.probe`, source);
    if (typeof probe.expectedStatus !== 'number' || !Number.isInteger(probe.expectedStatus)) {
      throw new ContractError(source, `${where}.probe.expectedStatus`, 'must be an HTTP status code');
    }
    return {
      name: text(record, 'name', where, source),
      method,
      path,
      probe: { ...(probe as Omit<Probe, 'method' | 'path'>), method, path },
      routeKey: `${method} ${path}`,
      entry: text(record, 'entry', where, source),
      scope: text(record, 'scope', where, source),
      dynamodbActions,
    };
  });
  const names = operations.map((operation) => operation.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) throw new ContractError(source, 'operations', `name ${duplicate} more than once`);
  return {
    tables,
    scopes: { read: text(scopes, 'read', 'scopes', source), write: text(scopes, 'write', 'scopes', source) },
    operations,
  };
}

export const contract: ServiceContract = parseContract(document);

/** The contract's operation of that name; a name the contract lacks is a programming error. */
export function operationNamed(name: string): Operation {
  const operation = contract.operations.find((candidate) => candidate.name === name);
  if (!operation) throw new ContractError('lambda/service-contract.json', 'operations', `has no operation named ${name}`);
  return operation;
}
