// 4b. The local server: started as `make local` runs it, and warm latency through it.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, OUT, NODE, WARM_CALLS, WARM_WARMUP, WARM_TIME_LIMIT_MS, LOAD_CONCURRENCY, children, run, freePort, round, step } from './common.ts';
import { FLOOR_BUNDLE, OPERATIONS } from './bundles.ts';
import { latency } from './warm.ts';
import { localTableNames, tableEnvironmentOf } from '../harness/deployed.ts';

// ---- 4b/5. through the local server -------------------------------------------------------------
export interface LocalServer {
  url: string;
  token: string;
  endpoint: string;
  tableName: string;
  stop(): Promise<void>;
}

export async function startLocalServer(devTemplate: string | undefined): Promise<LocalServer> {
  step('starting the local server');
  const port = await freePort();
  const dynamoDbPort = await freePort();
  const signingFile = path.join(OUT, 'token-signing.json');
  const tableName = 'users-service-bench';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    DYNAMODB_PORT: String(dynamoDbPort),
    TOKEN_SIGNING_FILE: signingFile,
    TABLE_NAME: tableName,
    PERSIST: '',
    // The local server logs every request: a production-like level keeps the handlers' own lines.
    POWERTOOLS_LOG_LEVEL: 'INFO',
    ...(devTemplate ? { USERS_TABLE_TEMPLATE: devTemplate } : {}),
  };
  const child = spawn(NODE, [path.join(ROOT, 'local', 'server.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (errors.length < 16_384) errors += chunk.toString('utf8');
  });
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (seen.includes('listening on')) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      reject(new Error(`local server exited (${String(code)}) during start-up:\n${errors}`));
    });
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(15_000, false, { ref: false })]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    children.delete(child);
    rmSync(signingFile, { force: true });
  };
  try {
    await Promise.race([
      ready,
      sleep(90_000, undefined, { ref: false }).then(() => {
        throw new Error(`local server not ready within 90 s:\n${errors}`);
      }),
    ]);
    // Drain its request log from here on.
    child.stdout.on('data', () => undefined);
    const token = await run(NODE, [path.join(ROOT, 'local', 'token.ts')], { env, timeoutMs: 30_000 });
    const last = token.stdout.trim().split('\n').pop();
    if (token.code !== 0 || !last) throw new Error(`local/token.ts failed:\n${token.stderr}`);
    return { url: `http://127.0.0.1:${port}`, token: last, endpoint: `http://127.0.0.1:${dynamoDbPort}`, tableName, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export const agent = new Agent({ keepAlive: true, maxSockets: LOAD_CONCURRENCY });

export function call(
  server: LocalServer,
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      `${server.url}${urlPath}`,
      {
        method,
        agent,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${server.token}`,
          ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

export let httpSequence = 0;
export async function createViaHttp(server: LocalServer): Promise<string> {
  httpSequence += 1;
  const response = await call(server, 'POST', '/users', { email: `http-${httpSequence}@example.com`, name: `Http User ${httpSequence}` });
  if (response.status !== 201) throw new Error(`POST /users answered ${response.status}: ${response.body}`);
  return (JSON.parse(response.body) as { userId: string }).userId;
}

export function httpRequestFor(
  operation: string,
  userId: string | undefined,
): { method: string; path: string; body?: unknown; contentType?: string; expect: number } {
  httpSequence += 1;
  const userPath = (): string => {
    if (userId === undefined) throw new Error(`${operation} needs an existing user's id`);
    return `/users/${userId}`;
  };
  switch (operation) {
    case 'createUser':
      return { method: 'POST', path: '/users', body: { email: `http-${httpSequence}@example.com`, name: `Http User ${httpSequence}` }, expect: 201 };
    case 'listUsers':
      return { method: 'GET', path: '/users?limit=20', expect: 200 };
    case 'getUser':
      return { method: 'GET', path: userPath(), expect: 200 };
    case 'updateUser':
      return { method: 'PUT', path: userPath(), body: { email: `http-upd-${httpSequence}@example.com`, name: `Http Updated ${httpSequence}`, status: 'active' }, expect: 200 };
    case 'patchUser':
      return { method: 'PATCH', path: userPath(), body: { name: `Http Patched ${httpSequence}` }, contentType: 'application/merge-patch+json', expect: 200 };
    case 'deleteUser':
      return { method: 'DELETE', path: userPath(), expect: 204 };
    default:
      throw new Error(operation);
  }
}

export async function warmThroughServer(server: LocalServer) {
  step(`warm latency through the local server (${WARM_CALLS} calls per operation and floor)`);
  Object.assign(process.env, { DYNAMODB_ENDPOINT: server.endpoint, ...tableEnvironmentOf(localTableNames(server.tableName)), AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  const { floor } = (await import(FLOOR_BUNDLE)) as { floor: Record<string, (userId?: string) => Promise<unknown>> };
  const result = [];
  for (const operation of OPERATIONS.map((op) => op.name)) {
    const shared = operation === 'getUser' || operation === 'updateUser' || operation === 'patchUser' ? await createViaHttp(server) : undefined;
    const viaServer: number[] = [];
    const direct: number[] = [];
    const deadline = Date.now() + WARM_TIME_LIMIT_MS;
    // Interleaved: one server call, one floor call.
    for (let i = 0; i < WARM_WARMUP + WARM_CALLS && Date.now() < deadline; i++) {
      const userId = operation === 'deleteUser' ? ((await floor.createUser?.()) as string) : shared;
      const request = httpRequestFor(operation, userId);
      let started = performance.now();
      const response = await call(server, request.method, request.path, request.body, request.contentType);
      const serverMs = performance.now() - started;
      if (response.status !== request.expect) throw new Error(`${request.method} ${request.path} answered ${response.status}: ${response.body}`);
      const floorUser = operation === 'deleteUser' ? ((await floor.createUser?.()) as string) : shared;
      started = performance.now();
      await floor[operation]?.(floorUser);
      const floorMs = performance.now() - started;
      if (i >= WARM_WARMUP) {
        viaServer.push(serverMs);
        direct.push(floorMs);
      }
    }
    const s = latency(viaServer);
    const f = latency(direct);
    result.push({ operation, server: s, floor: f, overheadP50Ms: round(s.p50 - f.p50, 3), overheadP99Ms: round(s.p99 - f.p99, 3) });
  }
  return result;
}
