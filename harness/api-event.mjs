// The API Gateway HTTP API event (payload format 2.0) a route's Lambda integration receives, and
// the Lambda context: one builder for the local server, the handler tests and the bench. Plain
// JavaScript typed with JSDoc (tsc checks it), so that the bench's fresh processes import it
// without paying for TypeScript stripping.
import { randomBytes, randomUUID } from 'node:crypto';

/**
 * @typedef {object} GatewayIdentity Where the request arrived (requestContext).
 * @property {string} accountId
 * @property {string} apiId
 * @property {string} domainName
 */

/**
 * @typedef {object} GatewayRequest One request as API Gateway has matched and authorised it.
 * @property {string} method e.g. 'GET'
 * @property {string} routeKey e.g. 'GET /users/{userId}'
 * @property {string} rawPath e.g. '/users/0190...'
 * @property {string} [rawQueryString] without the '?'
 * @property {Record<string, string>} [headers] lower-case names, repeated values joined with commas
 * @property {string[]} [cookies]
 * @property {Record<string, string>} [pathParameters]
 * @property {string} [body] as received, or base64 when isBase64Encoded
 * @property {boolean} [isBase64Encoded]
 * @property {Record<string, string>} [claims] the JWT authorizer's claims
 * @property {string[]} [scopes] the JWT authorizer's scopes
 * @property {string} [sourceIp]
 * @property {string} [requestId]
 * @property {Date} [now]
 * @property {GatewayIdentity} [gateway]
 */

/** @type {GatewayIdentity} */
export const DEFAULT_GATEWAY = { accountId: '123456789012', apiId: 'a1b2c3d4e5', domainName: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com' };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * requestContext.time's format: "12/Mar/2020:19:03:58 +0000".
 * @param {Date} now
 * @returns {string}
 */
export function requestTime(now) {
  /** @param {number} n */
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(now.getUTCDate())}/${String(MONTHS[now.getUTCMonth()])}/${now.getUTCFullYear()}:${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())} +0000`;
}

/**
 * Repeated query parameters joined with commas, as in payload 2.0; undefined when there are none.
 * @param {string} rawQueryString
 * @returns {Record<string, string> | undefined}
 */
export function queryStringParameters(rawQueryString) {
  if (rawQueryString === '') return undefined;
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const earlier = out[name];
    out[name] = earlier === undefined ? value : `${earlier},${value}`;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * The payload 2.0 event for a matched, authorised request.
 * @param {GatewayRequest} request
 */
export function apiGatewayEvent(request) {
  const now = request.now ?? new Date();
  const gateway = request.gateway ?? DEFAULT_GATEWAY;
  const headers = request.headers ?? {};
  const rawQueryString = request.rawQueryString ?? '';
  const query = queryStringParameters(rawQueryString);
  const pathParameters = request.pathParameters && Object.keys(request.pathParameters).length > 0 ? { ...request.pathParameters } : undefined;
  const scopes = request.scopes ?? [];
  return {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath: request.rawPath,
    rawQueryString,
    ...(request.cookies && request.cookies.length > 0 ? { cookies: [...request.cookies] } : {}),
    headers: { ...headers },
    ...(query ? { queryStringParameters: query } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: gateway.accountId,
      apiId: gateway.apiId,
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: { ...(request.claims ?? { scope: scopes.join(' ') }) }, scopes: [...scopes] },
      },
      domainName: gateway.domainName,
      domainPrefix: gateway.domainName.split('.')[0] ?? gateway.domainName,
      http: {
        method: request.method,
        path: request.rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '203.0.113.10',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId ?? `${randomBytes(10).toString('base64').slice(0, 13)}=`,
      routeKey: request.routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(request.body !== undefined && request.body !== '' ? { body: request.body } : {}),
    isBase64Encoded: Boolean(request.isBase64Encoded && request.body),
  };
}

/**
 * @typedef {object} RouteCall A call of one route, for callers that start from the route's template.
 * @property {string} method
 * @property {string} path the route's path template, e.g. '/users/{userId}'
 * @property {Record<string, string>} [pathParameters]
 * @property {Record<string, string>} [query]
 * @property {Record<string, string>} [headers] added to (and overriding) `defaultHeaders`
 * @property {unknown} [body] a string is sent as is; anything else is JSON-encoded
 * @property {boolean} [base64] send the body base64-encoded, as API Gateway does for binary types
 * @property {string} [routeKey] defaults to `${method} ${path}` (override to simulate a mis-wired route)
 * @property {string[]} [scopes]
 * @property {Record<string, string>} [claims]
 * @property {Record<string, string>} [defaultHeaders]
 * @property {GatewayIdentity} [gateway]
 * @property {string} [sourceIp]
 */

/**
 * The event for a call of a route given by its template: the raw path filled in, the body encoded,
 * content-type and content-length set as a client would.
 * @param {RouteCall} call
 */
export function routeEvent(call) {
  const rawPath = call.path.replace(/\{(\w+)\}/g, (_, /** @type {string} */ name) => encodeURIComponent(call.pathParameters?.[name] ?? ''));
  const text = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  const body = text !== undefined && call.base64 ? Buffer.from(text, 'utf8').toString('base64') : text;
  /** @type {Record<string, string>} */
  const headers = { ...(call.defaultHeaders ?? {}) };
  if (text !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body ?? ''));
  }
  for (const [name, value] of Object.entries(call.headers ?? {})) headers[name.toLowerCase()] = value;
  return apiGatewayEvent({
    method: call.method,
    routeKey: call.routeKey ?? `${call.method} ${call.path}`,
    rawPath,
    rawQueryString: new URLSearchParams(call.query ?? {}).toString(),
    headers,
    ...(call.pathParameters ? { pathParameters: call.pathParameters } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: Boolean(call.base64),
    ...(call.scopes ? { scopes: call.scopes } : {}),
    ...(call.claims ? { claims: call.claims } : {}),
    ...(call.gateway ? { gateway: call.gateway } : {}),
    ...(call.sourceIp ? { sourceIp: call.sourceIp } : {}),
  });
}

/**
 * @typedef {object} ContextOptions
 * @property {string} functionName
 * @property {number} [timeoutMs] the function's timeout (getRemainingTimeInMillis counts down from it)
 * @property {number} [memoryMb]
 * @property {string} [region]
 * @property {string} [accountId]
 */

/**
 * A Lambda context as the Node.js runtime passes it to an async handler.
 * @param {ContextOptions} options
 */
export function lambdaContext(options) {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const region = options.region ?? 'eu-west-1';
  const awsRequestId = randomUUID();
  const fail = () => {
    throw new Error('callback-style completion is not used');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${options.accountId ?? '123456789012'}:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryMb ?? 512),
    awsRequestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `2026/01/01/[$LATEST]${awsRequestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}
