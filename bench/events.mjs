// The requests bench/cold-child.mjs and bench/warm-child.mjs hand to the bundled handlers, as
// payload 2.0 events from harness/api-event.mjs. Plain JavaScript so that a fresh process pays no
// TypeScript stripping.
import { randomBytes } from 'node:crypto';
import { lambdaContext as harnessContext, routeEvent } from '../harness/api-event.mjs';

// The routes and scopes by operation, from the contract as bench/run.ts loaded it (BENCH_ROUTES).
const ROUTES = JSON.parse(process.env.BENCH_ROUTES ?? '{}');
// Measured variants of an operation: the create with an Idempotency-Key runs the create function.
const VARIANT_OF = { createUserWithKey: 'createUser' };

let sequence = 0;

/** A valid request for `operation`; `userId` names an existing user for get/update/patch/delete. */
export function requestFor(operation, userId) {
  sequence += 1;
  switch (operation) {
    case 'createUser':
      return { body: { email: `bench-${process.pid}-${sequence}@example.com`, name: `Bench User ${sequence}` } };
    case 'createUserWithKey':
      return {
        body: { email: `bench-keyed-${process.pid}-${sequence}@example.com`, name: `Bench User ${sequence}` },
        headers: { 'idempotency-key': `"${randomBytes(16).toString('hex')}"` },
      };
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
    case 'patchUser':
      return { pathParameters: { userId }, body: { name: `Bench Patched ${sequence}` }, contentType: 'application/merge-patch+json' };
    default:
      throw new Error(`unknown operation ${operation}`);
  }
}

export function apiEvent(operation, request) {
  const route = ROUTES[VARIANT_OF[operation] ?? operation];
  if (!route) throw new Error(`no route for ${operation} in BENCH_ROUTES`);
  return routeEvent({
    method: route.method,
    path: route.path,
    ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
    ...(request.query ? { query: request.query } : {}),
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(request.contentType || request.headers ? { headers: { ...request.headers, ...(request.contentType ? { 'content-type': request.contentType } : {}) } } : {}),
    scopes: [route.scope],
    claims: { sub: 'bench-client', scope: route.scope },
    sourceIp: '127.0.0.1',
    gateway: { accountId: '123456789012', apiId: 'bench', domainName: 'bench.execute-api.eu-west-1.amazonaws.com' },
    defaultHeaders: {
      accept: 'application/json',
      authorization: 'Bearer eyJraWQiOiJiZW5jaCJ9.eyJzdWIiOiJiZW5jaCJ9.c2ln',
      host: 'bench.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'users-service-bench/1.0',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'https',
    },
  });
}

export function lambdaContext(functionName) {
  return harnessContext({ functionName, memoryMb: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 512) });
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
