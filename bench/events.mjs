// The requests bench/cold-child.mjs and bench/warm-child.mjs hand to the bundled handlers, as
// payload 2.0 events from harness/api-event.mjs. Plain JavaScript so that a fresh process pays no
// TypeScript stripping.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { lambdaContext as harnessContext, routeEvent } from '../harness/api-event.mjs';

/**
 * @typedef {object} Route
 * @property {string} method
 * @property {string} path
 * @property {string} scope
 */

/**
 * @typedef {object} BenchRequest What varies between two requests of one operation.
 * @property {Record<string, string>} [pathParameters]
 * @property {Record<string, string>} [query]
 * @property {unknown} [body]
 * @property {string} [contentType]
 * @property {Record<string, string>} [headers]
 */

/** @typedef {(event: ReturnType<typeof routeEvent>, context: ReturnType<typeof harnessContext>) => Promise<{ statusCode: number }>} BundledHandler */
/** @typedef {(userId?: string) => Promise<unknown>} FloorOperation */

// The routes and scopes by operation, from the contract as bench/run.ts loaded it (BENCH_ROUTES).
const ROUTES = routesFrom(process.env.BENCH_ROUTES ?? '{}');
// Measured variants of an operation: the create with an Idempotency-Key runs the create function.
/** @type {Record<string, string>} */
const VARIANT_OF = { createUserWithKey: 'createUser' };

/**
 * @param {string} text
 * @returns {Map<string, Route>}
 */
function routesFrom(text) {
  /** @type {unknown} */
  const parsed = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null) throw new Error('BENCH_ROUTES must be a JSON object');
  /** @type {Map<string, Route>} */
  const routes = new Map();
  for (const [operation, route] of Object.entries(parsed)) {
    /** @type {unknown} */
    const candidate = route;
    if (typeof candidate !== 'object' || candidate === null) throw new Error(`BENCH_ROUTES.${operation} must be an object`);
    const { method, path, scope } = /** @type {Record<string, unknown>} */ (candidate);
    if (typeof method !== 'string' || typeof path !== 'string' || typeof scope !== 'string') {
      throw new Error(`BENCH_ROUTES.${operation} must have string method, path and scope`);
    }
    routes.set(operation, { method, path, scope });
  }
  return routes;
}

/**
 * The bundled module at `modulePath` (an absolute path), as a record of its exports.
 * @param {string | undefined} modulePath
 * @returns {Promise<Record<string, unknown>>}
 */
export async function importBundle(modulePath) {
  if (modulePath === undefined) throw new Error('no module path given');
  /** @type {unknown} */
  const loaded = await import(pathToFileURL(modulePath).href);
  if (typeof loaded !== 'object' || loaded === null) throw new Error(`${modulePath} did not load as a module`);
  return /** @type {Record<string, unknown>} */ (loaded);
}

/**
 * @param {Record<string, unknown>} module
 * @returns {BundledHandler}
 */
export function handlerOf(module) {
  if (typeof module.handler !== 'function') throw new Error('the bundle exports no handler function');
  return /** @type {BundledHandler} */ (module.handler);
}

/**
 * The floor's operation `operation` (bench/sdk-floor.ts exports `floor`, one function per operation).
 * @param {Record<string, unknown>} module
 * @param {string} operation
 * @returns {FloorOperation}
 */
export function floorOperation(module, operation) {
  const floor = module.floor;
  if (typeof floor !== 'object' || floor === null) throw new Error('the module exports no floor');
  const run = /** @type {Record<string, unknown>} */ (floor)[operation];
  if (typeof run !== 'function') throw new Error(`the floor has no operation ${operation}`);
  return /** @type {FloorOperation} */ (run);
}

/**
 * @param {string | undefined} userId
 * @param {string} operation
 * @returns {string}
 */
function existing(userId, operation) {
  if (userId === undefined) throw new Error(`${operation} needs an existing user's id`);
  return userId;
}

let sequence = 0;

/**
 * A valid request for `operation`; `userId` names an existing user for get/update/patch/delete.
 * @param {string} operation
 * @param {string | undefined} userId
 * @returns {BenchRequest}
 */
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
      return { pathParameters: { userId: existing(userId, operation) } };
    case 'updateUser':
      return {
        pathParameters: { userId: existing(userId, operation) },
        body: { email: `bench-updated-${sequence}@example.com`, name: `Bench Updated ${sequence}`, status: 'active' },
      };
    case 'patchUser':
      return { pathParameters: { userId: existing(userId, operation) }, body: { name: `Bench Patched ${sequence}` }, contentType: 'application/merge-patch+json' };
    default:
      throw new Error(`unknown operation ${operation}`);
  }
}

/**
 * @param {string} operation
 * @param {BenchRequest} request
 */
export function apiEvent(operation, request) {
  const route = ROUTES.get(VARIANT_OF[operation] ?? operation);
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

/** @param {string | undefined} functionName */
export function lambdaContext(functionName) {
  if (functionName === undefined) throw new Error('AWS_LAMBDA_FUNCTION_NAME is not set');
  return harnessContext({ functionName, memoryMb: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 512) });
}

/**
 * Ends a child process the way a Lambda environment goes quiet: the runtime keeps the event loop
 * turning while it waits for the next event, so datagrams the handler queued (X-Ray subsegments)
 * still leave; keep-alive sockets are not waited for, as the environment is then frozen.
 */
export async function exitAfterQueuedSends() {
  await new Promise((resolve) => {
    setTimeout(resolve, 20);
  });
  process.exit(0);
}

/** A fresh X-Ray trace header, as Lambda sets _X_AMZN_TRACE_ID for each sampled invocation. */
export function traceHeader() {
  const seconds = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}
