// Payload-format-2.0 events for the five routes, as API Gateway's HTTP API with a JWT authorizer
// delivers them, and a Lambda context: what bench/cold-child.mjs and bench/warm-child.mjs hand to
// the bundled handlers. Plain JavaScript so that a fresh process pays no TypeScript stripping.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

// The routes and scopes as lambda/service-contract.json declares them, keyed by operation.
const contract = JSON.parse(readFileSync(new URL('../lambda/service-contract.json', import.meta.url), 'utf8'));
export const ROUTES = Object.fromEntries(
  contract.operations.map(({ name, method, path, scope }) => [name, { method, path, scope }]),
);

let sequence = 0;

/** A valid request for `operation`; `userId` names an existing user for get/update/delete. */
export function requestFor(operation, userId) {
  sequence += 1;
  switch (operation) {
    case 'createUser':
      return { body: { email: `bench-${process.pid}-${sequence}@example.com`, name: `Bench User ${sequence}` } };
    case 'listUsers':
      return { query: { limit: '20' } };
    case 'getUser':
    case 'deleteUser':
      return { pathParameters: { userId } };
    case 'updateUser':
      return {
        pathParameters: { userId },
        body: { email: `bench-updated-${sequence}@example.com`, name: `Bench Updated ${sequence}`, status: 'active' },
      };
    default:
      throw new Error(`unknown operation ${operation}`);
  }
}

export function apiEvent(operation, request) {
  const route = ROUTES[operation];
  const routeKey = `${route.method} ${route.path}`;
  const rawPath = route.path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(request.pathParameters?.[name] ?? ''));
  const rawQueryString = new URLSearchParams(request.query ?? {}).toString();
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  const now = new Date();
  const requestId = randomBytes(10).toString('base64').slice(0, 13) + '=';
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers: {
      accept: 'application/json',
      authorization: 'Bearer eyJraWQiOiJiZW5jaCJ9.eyJzdWIiOiJiZW5jaCJ9.c2ln',
      host: 'bench.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'users-service-bench/1.0',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'https',
      ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
    },
    ...(request.query ? { queryStringParameters: { ...request.query } } : {}),
    ...(request.pathParameters ? { pathParameters: { ...request.pathParameters } } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      authorizer: { jwt: { claims: { sub: 'bench-client', scope: route.scope }, scopes: [route.scope] } },
      domainName: 'bench.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'bench',
      http: { method: route.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'users-service-bench/1.0' },
      requestId,
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  };
}

export function lambdaContext(functionName) {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
}

/**
 * Ends a child process the way a Lambda environment goes quiet: the runtime keeps the event loop
 * turning while it waits for the next event, so datagrams the handler queued (X-Ray subsegments)
 * still leave; keep-alive sockets are not waited for, as the environment is then frozen.
 */
export async function exitAfterQueuedSends() {
  await new Promise((resolve) => setTimeout(resolve, 20));
  process.exit(0);
}

/** A fresh X-Ray trace header, as Lambda sets _X_AMZN_TRACE_ID for each sampled invocation. */
export function traceHeader() {
  const seconds = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}
