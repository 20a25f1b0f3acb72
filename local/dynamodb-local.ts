/**
 * Amazon DynamoDB Local for tests and the local server: start the official jar on a free port,
 * wait until it answers, stop it; create tables from a key schema or from the synthesized
 * template's `AWS::DynamoDB::Table` Properties.
 *
 * The jar's folder comes from DYNAMODB_LOCAL_DIR (exported by the Makefile) or, when unset, from
 * `bash scripts/dynamodb-local.sh`, which installs it into a cache and prints the folder.
 * The server runs with -sharedDb, so every client sees the same tables whatever its credentials
 * and region.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const START_TIMEOUT_MS = 30_000;
const JAVA_MISSING =
  "DynamoDB Local needs Java 17 or newer and 'java' was not found on PATH. Install it, e.g. " +
  "'sudo apt-get install default-jre-headless' (Debian/Ubuntu) or 'brew install openjdk@17' (macOS), then retry.";

export async function startDynamoDbLocal(options: { port?: number; persistDir?: string } = {}): Promise<DynamoDbLocal> {
  const dir = await dynamoDbLocalDir();
  const port = options.port ?? (await freePort());
  const storage = options.persistDir ? ['-dbPath', path.resolve(options.persistDir)] : ['-inMemory'];
  if (options.persistDir) mkdirSync(options.persistDir, { recursive: true });

  const child = spawn(
    'java',
    [
      `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      path.join(dir, 'DynamoDBLocal.jar'),
      ...storage,
      '-sharedDb',
      '-port',
      String(port),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < 8192) output += chunk.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);

  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  // Never leave a JVM behind when the parent exits without calling stop().
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const spawnFailure = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      exited = true;
      reject(error.code === 'ENOENT' ? new Error(JAVA_MISSING) : error);
    });
  });
  spawnFailure.catch(() => undefined);
  const endpoint = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (exited || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const grace = new AbortController();
    const killed = await Promise.race([
      exitedPromise.then(() => true),
      sleep(5000, false, { signal: grace.signal }).catch(() => false),
    ]);
    grace.abort();
    if (!killed) {
      child.kill('SIGKILL');
      await exitedPromise;
    }
  };

  try {
    await Promise.race([spawnFailure, waitUntilReady(endpoint, () => exited, () => output)]);
  } catch (error) {
    await stop();
    throw error;
  }
  child.stdout.removeListener('data', collect);
  child.stderr.removeListener('data', collect);
  child.stdout.resume();
  child.stderr.resume();
  return { endpoint, port, process: child, stop };
}

/** Creates a PAY_PER_REQUEST table keyed (partitionKey S[, sortKey S]) and waits until ACTIVE; an existing table is kept. */
export async function createTable(
  endpoint: string,
  tableName: string,
  definition: { partitionKey: string; sortKey?: string | undefined },
): Promise<void> {
  const keys = [
    { name: definition.partitionKey, type: 'HASH' as const },
    ...(definition.sortKey ? [{ name: definition.sortKey, type: 'RANGE' as const }] : []),
  ];
  await createTableWith(endpoint, {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keys.map((key) => ({ AttributeName: key.name, AttributeType: 'S' })),
    KeySchema: keys.map((key) => ({ AttributeName: key.name, KeyType: key.type })),
  });
}

/** The parts of CloudFormation `AWS::DynamoDB::Table` Properties that matter locally; the rest is ignored. */
export interface TableTemplateProperties {
  KeySchema: Array<{ AttributeName: string; KeyType: string }>;
  AttributeDefinitions: Array<{ AttributeName: string; AttributeType: string }>;
  BillingMode?: string;
  ProvisionedThroughput?: { ReadCapacityUnits: number; WriteCapacityUnits: number };
  GlobalSecondaryIndexes?: Array<{
    IndexName: string;
    KeySchema: Array<{ AttributeName: string; KeyType: string }>;
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
    ProvisionedThroughput?: { ReadCapacityUnits: number; WriteCapacityUnits: number };
  }>;
  LocalSecondaryIndexes?: Array<{
    IndexName: string;
    KeySchema: Array<{ AttributeName: string; KeyType: string }>;
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }>;
  [other: string]: unknown;
}

/**
 * Creates a table from a synthesized template's Properties (TableName there is ignored in favour
 * of `tableName`); always PAY_PER_REQUEST locally. Waits until ACTIVE; an existing table is kept.
 */
export async function createTableFromTemplateProperties(
  endpoint: string,
  tableName: string,
  props: TableTemplateProperties,
): Promise<void> {
  if (!Array.isArray(props.KeySchema) || !Array.isArray(props.AttributeDefinitions)) {
    throw new Error('AWS::DynamoDB::Table Properties need KeySchema and AttributeDefinitions');
  }
  const keys = (schema: Array<{ AttributeName: string; KeyType: string }>) =>
    schema.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType as 'HASH' | 'RANGE' }));
  const projection = (p: { ProjectionType?: string; NonKeyAttributes?: string[] }) => ({
    ProjectionType: (p.ProjectionType ?? 'ALL') as 'ALL' | 'KEYS_ONLY' | 'INCLUDE',
    ...(p.NonKeyAttributes ? { NonKeyAttributes: p.NonKeyAttributes } : {}),
  });
  await createTableWith(endpoint, {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: props.AttributeDefinitions.map((a) => ({
      AttributeName: a.AttributeName,
      AttributeType: a.AttributeType as 'S' | 'N' | 'B',
    })),
    KeySchema: keys(props.KeySchema),
    ...(props.GlobalSecondaryIndexes?.length
      ? {
          GlobalSecondaryIndexes: props.GlobalSecondaryIndexes.map((g) => ({
            IndexName: g.IndexName,
            KeySchema: keys(g.KeySchema),
            Projection: projection(g.Projection),
          })),
        }
      : {}),
    ...(props.LocalSecondaryIndexes?.length
      ? {
          LocalSecondaryIndexes: props.LocalSecondaryIndexes.map((l) => ({
            IndexName: l.IndexName,
            KeySchema: keys(l.KeySchema),
            Projection: projection(l.Projection),
          })),
        }
      : {}),
  });
}

// ---------------------------------------------------------------------------------------------

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 5000 },
  });
}

async function createTableWith(endpoint: string, input: CreateTableCommandInput): Promise<void> {
  const client = localClient(endpoint);
  try {
    try {
      await client.send(new CreateTableCommand(input));
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
      if (Date.now() > deadline) throw new Error(`table ${String(input.TableName)} did not become ACTIVE`);
      await sleep(100);
    }
  } finally {
    client.destroy();
  }
}

async function waitUntilReady(endpoint: string, hasExited: () => boolean, output: () => string): Promise<void> {
  const client = localClient(endpoint);
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (hasExited()) throw new Error(`DynamoDB Local exited during start-up:\n${output()}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms:\n${output()}`, {
            cause: error,
          });
        }
        await sleep(150);
      }
    }
  } finally {
    client.destroy();
  }
}

async function dynamoDbLocalDir(): Promise<string> {
  const fromEnv = process.env.DYNAMODB_LOCAL_DIR;
  if (fromEnv) return fromEnv;
  try {
    const { stdout } = await promisify(execFile)('bash', [path.join(REPO_ROOT, 'scripts', 'dynamodb-local.sh')], {
      cwd: REPO_ROOT,
      maxBuffer: 1024 * 1024,
    });
    const dir = stdout.trim().split('\n').pop();
    if (!dir) throw new Error('scripts/dynamodb-local.sh printed no folder');
    return dir;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    if (/Java 17/.test(stderr)) throw new Error(JAVA_MISSING, { cause: error });
    throw new Error(`could not install DynamoDB Local with scripts/dynamodb-local.sh: ${stderr || String(error)}`, {
      cause: error,
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}
