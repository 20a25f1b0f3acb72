// `make local`: the whole users API on this machine. DynamoDB Local (in memory; PERSIST=1 keeps
// .local/dynamodb), the table created from the dev stage template's own Properties, a local JWT
// issuer standing in for Cognito, and an HTTP server that does what API Gateway does (routes from
// lambda/service-contract.json, JWT authorizer with scopes, CORS, payload 2.0 events) before
// invoking the very handlers that are deployed.
//
//   PORT=3000  DYNAMODB_PORT=<free>  PERSIST=1  USERS_TABLE_TEMPLATE=<template.json>
//   TOKEN_SIGNING_FILE=.local/token-signing.json  LAMBDA_TIMEOUT_SECONDS=10
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { TABLE_ROLES } from '../lambda/src/contract.ts';
import { loadRoutes } from './contract.ts';
import type { Route } from './contract.ts';
import { devConfiguration, localTableNames, sharedFunctionEnvironment, tableEnvironmentOf, type DeployedConfiguration } from '../harness/deployed.ts';
import * as dynamoDbLocal from './dynamodb-local.ts';
import { jsonResponse } from './events.ts';
import { createGateway, type GatewayAnswer, type Handler } from './gateway.ts';
import { generateSigningKey, verifyJwt } from './jwt.ts';
import { LOCAL_CLIENT_ID, LOCAL_ISSUER, REPO_ROOT, signingFilePath, writeSigningFile } from './token-signing.ts';

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 10 * 1024 * 1024; // API Gateway's payload limit
const STOP_TIMEOUT_MS = 5000;

function log(level: 'INFO' | 'WARN' | 'ERROR', message: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, timestamp: new Date().toISOString(), service: 'users-service-local', message, ...fields });
  (level === 'INFO' ? process.stdout : process.stderr).write(`${line}\n`);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function portFromEnv(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  return port;
}

/** API Gateway's request ids look like "Xyz12abcIAMEMw=": 14 base64 characters. */
function requestId(): string {
  return randomBytes(10).toString('base64').slice(0, 13) + '=';
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      resolvePromise(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks));
    });
    request.on('error', reject);
  });
}

/** Ends the JVM if this process dies without running its shutdown (kill -9, a crash). */
function startWatchdog(pid: number): ChildProcess {
  // stdin is a pipe from this process: it reaches EOF only when this process is gone.
  // It ignores Ctrl-C (SIGINT goes to the whole foreground group): only this process's end counts.
  const script = 'trap "" INT HUP; cat >/dev/null 2>&1; kill -TERM "$0" 2>/dev/null || exit 0; i=0; ' +
    'while kill -0 "$0" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL "$0" 2>/dev/null; exit 0';
  const watchdog = spawn('sh', ['-c', script, String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  return watchdog;
}

async function ensureTable(endpoint: string, tableName: string, properties: Record<string, unknown>): Promise<'created' | 'existing'> {
  const client = dynamoDbLocal.localClient(endpoint);
  try {
    const existing = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const want = JSON.stringify(properties.KeySchema);
    const have = JSON.stringify(existing.Table?.KeySchema);
    if (want !== have) {
      throw new Error(
        `the persisted table ${tableName} has key schema ${have} but the dev template declares ${want}: remove .local/dynamodb or run without PERSIST=1`,
      );
    }
    return 'existing';
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  } finally {
    client.destroy();
  }
  await dynamoDbLocal.createTableFromTemplateProperties(endpoint, tableName, properties as unknown as dynamoDbLocal.TableTemplateProperties);
  return 'created';
}

async function main(): Promise<void> {
  const port = portFromEnv('PORT', 3000) as number;
  const dynamoDbPort = portFromEnv('DYNAMODB_PORT', undefined);
  const persist = process.env.PERSIST === '1' || process.env.PERSIST === 'true';

  let routes: Route[];
  let deployed: DeployedConfiguration;
  try {
    routes = loadRoutes();
    deployed = devConfiguration();
  } catch (error) {
    fail((error as Error).message);
  }
  const { tables, cors } = deployed;
  const tableNames = localTableNames(process.env.TABLE_NAME || 'users-service-local');
  const timeoutOverrideSeconds = process.env.LAMBDA_TIMEOUT_SECONDS;
  const functionTimeoutMs = (operation: string): number =>
    Number(timeoutOverrideSeconds ?? deployed.functions.get(operation)?.timeoutSeconds) * 1000;
  const region = process.env.AWS_REGION || 'us-east-1';

  const signingKey = generateSigningKey();
  const publicKey = createPublicKey(signingKey.publicKeyPem);
  const handlers = new Map<string, Handler>();
  let ready = false;
  let stopping = false;

  const gateway = createGateway({
    routes,
    cors,
    handlers,
    ready: () => ready,
    verify: (token) => verifyJwt(token, publicKey, { issuer: LOCAL_ISSUER, audiences: [LOCAL_CLIENT_ID], kid: signingKey.kid }),
    timeoutMs: functionTimeoutMs,
    region,
    log,
  });
  const server = createServer((request, response) => {
    void serve(request, response);
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const id = requestId();
    const method = (request.method ?? 'GET').toUpperCase();
    let answer: GatewayAnswer;
    try {
      const body = method === 'OPTIONS' ? Buffer.alloc(0) : await readBody(request);
      answer = await gateway({
        method,
        url: request.url ?? '/',
        headers: request.headers,
        body,
        sourceIp: (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        requestId: id,
      });
    } catch (error) {
      log('ERROR', 'local API failure', { requestId: id, error: String((error as Error).stack ?? error) });
      answer = { response: jsonResponse(500, { message: 'Internal Server Error' }), routeKey: '-' };
    }
    const { response: result, routeKey } = answer;
    response.writeHead(result.statusCode, {
      ...result.headers,
      ...(result.cookies.length > 0 ? { 'set-cookie': result.cookies } : {}),
    });
    response.end(result.body);
    log('INFO', 'request', {
      requestId: id,
      method,
      routeKey,
      status: result.statusCode,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
    });
  }

  // 1. Own the port before anything else, so a second `make local` fails fast and starts nothing.
  await new Promise<void>((resolveListen) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        fail(`Port ${port} on ${HOST} is already in use (is another \`make local\` running?). Stop it, or choose another port: PORT=${port + 1} make local`);
      }
      if (error.code === 'EACCES') fail(`Not allowed to listen on port ${port}: choose another one with PORT=<port>`);
      fail(`Cannot listen on ${HOST}:${port}: ${error.message}`);
    });
    server.listen(port, HOST, () => {
      resolveListen();
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const apiUrl = `http://${HOST}:${actualPort}`;

  // Signals are handled from here on, so an interrupted start-up stops what it started too.
  const signingFile = signingFilePath();
  let dynamo: Awaited<ReturnType<typeof dynamoDbLocal.startDynamoDbLocal>> | undefined;
  let watchdog: ChildProcess | undefined;
  let shutdownStarted = false;
  const jvmAlive = (jvm: ChildProcess) => jvm.exitCode === null && jvm.signalCode === null;
  async function shutdown(reason: string, exitCode: number): Promise<void> {
    const jvm = dynamo?.process;
    if (shutdownStarted) {
      // A second Ctrl-C: do not wait any longer.
      jvm?.kill('SIGKILL');
      process.exit(exitCode || 130);
    }
    shutdownStarted = true;
    stopping = true;
    process.stderr.write(`stopping (${reason})...\n`);
    server.close();
    server.closeAllConnections();
    if (jvm && dynamo) {
      const killer = setTimeout(() => jvm.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        await dynamo.stop();
      } catch (error) {
        log('WARN', 'stopping DynamoDB Local failed; killing it', { error: String(error) });
      }
      clearTimeout(killer);
      if (jvmAlive(jvm)) {
        await new Promise((resolveExit) => {
          jvm.once('exit', resolveExit);
          jvm.kill('SIGKILL');
        });
      }
    }
    watchdog?.kill('SIGKILL');
    if (ready) rmSync(signingFile, { force: true });
    process.exit(exitCode);
  }
  let starting: Promise<unknown> = Promise.resolve();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // During start-up, wait for DynamoDB Local to be up (and so known) before stopping it.
    process.on(signal, () => void starting.finally(() => shutdown(signal, 0)));
  }

  // 2. DynamoDB Local.
  try {
    const startingDynamo = dynamoDbLocal.startDynamoDbLocal({
      ...(dynamoDbPort === undefined ? {} : { port: dynamoDbPort }),
      ...(persist ? { persistDir: resolve(REPO_ROOT, '.local', 'dynamodb') } : {}),
    });
    starting = startingDynamo.catch(() => undefined);
    dynamo = await startingDynamo;
  } catch (error) {
    server.close();
    fail(`Could not start DynamoDB Local: ${(error as Error).message}`);
  }
  const jvm = dynamo.process;
  if (jvm.pid) watchdog = startWatchdog(jvm.pid);
  jvm.once('exit', (code, signal) => {
    if (!stopping) {
      log('ERROR', 'DynamoDB Local exited; the API keeps answering, with 503s from the handlers, until you restart `make local`', { code, signal });
    }
  });

  try {
    // 3. The tables, from the dev template's Properties.
    const endpoint = dynamo.endpoint;
    const states: Record<string, 'created' | 'existing'> = {};
    for (const role of TABLE_ROLES) states[tableNames[role]] = await ensureTable(endpoint, tableNames[role], tables[role].properties);

    // 4. The handlers, with the environment their functions have in the dev template (the table
    // name, which CloudFormation resolves there, becomes the local table; tracing off), then imported.
    Object.assign(process.env, sharedFunctionEnvironment(deployed), {
      ...tableEnvironmentOf(tableNames),
      DYNAMODB_ENDPOINT: endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    for (const operation of routes) {
      const module = (await import(pathToFileURL(operation.entryPath).href)) as { handler?: unknown };
      if (typeof module.handler !== 'function') throw new Error(`${operation.entryPath} exports no handler function`);
      handlers.set(operation.name, module.handler as Handler);
    }

    // 5. The issuer's key, for `make local-token`.
    writeSigningFile(signingFile, {
      issuer: LOCAL_ISSUER,
      audience: LOCAL_CLIENT_ID,
      kid: signingKey.kid,
      privateKeyPem: signingKey.privateKeyPem,
      apiUrl,
      serverPid: process.pid,
      createdAt: new Date().toISOString(),
    });
    log('INFO', 'local stack ready', {
      dynamodbEndpoint: endpoint,
      tables: states,
      template: deployed.templatePath,
      persist,
      routes: routes.map((r) => `${r.routeKey} (${r.scope})`),
      corsAllowedOrigins: cors.allowOrigins,
    });
  } catch (error) {
    process.stderr.write(`local stack failed to start: ${(error as Error).stack ?? String(error)}\n`);
    await shutdown('startup failure', 1);
    return;
  }

  ready = true;
  process.stdout.write(`users-service local API listening on ${apiUrl}\n`);
  process.stdout.write(`  token: make local-token   (read-only: SCOPES=users/read make local-token)   stop: Ctrl-C\n`);
}

await main();
