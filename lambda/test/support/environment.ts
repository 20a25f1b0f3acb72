/**
 * Per-test-file environment: DynamoDB Local (the run's shared one, shared-dynamodb.ts), a fresh
 * table of the file's own with the contract's key schema, the environment the functions read, and the handlers imported AFTER that environment is
 * set (Powertools reads its settings at import; the repository reads its own on first use).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { findDevTemplate, FIXTURE_CDK_OUT } from '../../../harness/cdk-out.ts';
import { readDeployedConfiguration, sharedFunctionEnvironment } from '../../../harness/deployed.ts';
import { createTable, localClient } from '../../../local/dynamodb-local.ts';
import type { ApiHandler, Response } from '../../src/lib/http.ts';
import { contract, TABLE_ROLES, type TableRole } from '../../src/contract.ts';
import { lambdaContext } from './events.ts';
import { testDynamoDb, type TestDynamoDb } from './shared-dynamodb.ts';

export { contract } from '../../src/contract.ts';

/**
 * The variables the CDK sets on every function, from the dev template as checked in under
 * local/test/fixtures (kept equal to the synthesized one by tests/infrastructure/test_local_fixture.py), plus the
 * local-only ones.
 */
export function setFunctionEnvironment(values: { tableNames: TableNames; endpoint: string; metrics?: boolean }): void {
  const deployed = readDeployedConfiguration(findDevTemplate(FIXTURE_CDK_OUT));
  Object.assign(process.env, sharedFunctionEnvironment(deployed), tableEnvironment(values.tableNames), {
    DYNAMODB_ENDPOINT: values.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: values.metrics ? 'false' : 'true',
    // Quiet by default; TEST_LOG_LEVEL=INFO shows the functions' logs when debugging a test.
    POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
  });
}

/** Each table role's name in this test run. */
export type TableNames = Record<TableRole, string>;

/** Fresh tables for every role of the contract, named after `prefix`. */
export async function createTables(endpoint: string, prefix: string): Promise<TableNames> {
  const suffix = randomUUID().slice(0, 8);
  const names = Object.fromEntries(TABLE_ROLES.map((role) => [role, `${prefix}-${role}-${suffix}`])) as TableNames;
  for (const role of TABLE_ROLES) await createTable(endpoint, names[role], contract.tables[role]);
  return names;
}

/** The variables that tell the functions their tables' names. */
export function tableEnvironment(names: TableNames): Record<string, string> {
  return Object.fromEntries(TABLE_ROLES.map((role) => [contract.tables[role].environmentVariable, names[role]]));
}

export interface Handlers {
  createUser: ApiHandler;
  listUsers: ApiHandler;
  getUser: ApiHandler;
  patchUser: ApiHandler;
  updateUser: ApiHandler;
  deleteUser: ApiHandler;
}

/** Imports every handler named in the contract. */
export async function importHandlers(): Promise<Handlers> {
  const handlers: Record<string, ApiHandler> = {};
  for (const operation of contract.operations) {
    const module = (await import(path.resolve(import.meta.dirname, '../..', operation.entry))) as { handler: ApiHandler };
    handlers[operation.name] = module.handler;
  }
  return handlers as unknown as Handlers;
}

export interface TestEnvironment {
  db: TestDynamoDb;
  /** The users table. */
  tableName: string;
  tableNames: TableNames;
  handlers: Handlers;
  /** Reads the table directly, bypassing the handlers. */
  document: DynamoDBDocumentClient;
  getItem(userId: string, createdDate: string): Promise<Record<string, unknown> | undefined>;
  /** The claim of an address in the emails table. */
  getEmailItem(email: string): Promise<Record<string, unknown> | undefined>;
  scanAll(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startTestEnvironment(options: { metrics?: boolean } = {}): Promise<TestEnvironment> {
  const db = await testDynamoDb();
  const tableNames = await createTables(db.endpoint, 'test');
  const tableName = tableNames.users;
  setFunctionEnvironment({ tableNames, endpoint: db.endpoint, ...options });
  const handlers = await importHandlers();
  const document = DynamoDBDocumentClient.from(localClient(db.endpoint));
  return {
    db,
    tableName,
    tableNames,
    handlers,
    document,
    async getItem(userId, createdDate) {
      const result = await document.send(
        new GetCommand({ TableName: tableName, Key: { userId, createdDate }, ConsistentRead: true }),
      );
      return result.Item;
    },
    async getEmailItem(email) {
      const result = await document.send(new GetCommand({ TableName: tableNames.emails, Key: { email }, ConsistentRead: true }));
      return result.Item;
    },
    async scanAll() {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await document.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return items;
    },
    async stop() {
      document.destroy();
      await db.stop();
    },
  };
}

/** The handlers talking to DynamoDB Local through a proxy of the test's own (a fault injector, a recorder), over fresh tables. */
export interface ProxiedEnvironment<P> {
  db: TestDynamoDb;
  proxy: P;
  tables: TableNames;
  handlers: Handlers;
  /** Reads and writes DynamoDB Local directly, past the proxy. */
  document: DynamoDBDocumentClient;
  stop(): Promise<void>;
}

export async function startBehindProxy<P extends { endpoint: string; close(): Promise<void> }>(
  prefix: string,
  startProxy: (dynamoDbEndpoint: string) => Promise<P>,
): Promise<ProxiedEnvironment<P>> {
  const db = await testDynamoDb();
  const tables = await createTables(db.endpoint, prefix);
  const proxy = await startProxy(db.endpoint);
  setFunctionEnvironment({ tableNames: tables, endpoint: proxy.endpoint });
  const handlers = await importHandlers();
  const document = DynamoDBDocumentClient.from(localClient(db.endpoint));
  return {
    db,
    proxy,
    tables,
    handlers,
    document,
    async stop() {
      document.destroy();
      await proxy.close();
      await db.stop();
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** The parsed JSON body, or undefined when there is none. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parsed JSON body a handler answered: the tests' assertions check its shape
  body: any;
  raw: Response;
}

export async function invoke(handler: ApiHandler, event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<Reply> {
  const raw = await handler(event, lambdaContext());
  const text = typeof raw.body === 'string' ? raw.body : undefined;
  return { status: raw.statusCode, headers: raw.headers, body: text === undefined ? undefined : JSON.parse(text), raw };
}
