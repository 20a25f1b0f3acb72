/**
 * API Gateway HTTP API (payload format 2.0) events as a JWT-authorised route delivers them, and a
 * Lambda context, for invoking the handlers directly.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';

export interface EventOptions {
  /** e.g. 'GET'. */
  method: string;
  /** The route's path template, e.g. '/users/{userId}'. */
  path: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is JSON-encoded. */
  body?: unknown;
  /** Send the body base64-encoded (as API Gateway does for binary content types). */
  base64?: boolean;
  /** Overrides the route key (default `${method} ${path}`), e.g. to simulate a mis-wired route. */
  routeKey?: string;
  scopes?: string[];
}

const API_ID = 'a1b2c3d4e5';
const DOMAIN = `${API_ID}.execute-api.eu-west-1.amazonaws.com`;

export function apiEvent(options: EventOptions): APIGatewayProxyEventV2WithJWTAuthorizer {
  const routeKey = options.routeKey ?? `${options.method} ${options.path}`;
  const rawPath = options.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(options.pathParameters?.[name] ?? ''),
  );
  const rawQueryString = new URLSearchParams(options.query ?? {}).toString();
  const text =
    options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const body = text !== undefined && options.base64 ? Buffer.from(text, 'utf8').toString('base64') : text;
  const now = new Date();
  const headers: Record<string, string> = {
    accept: 'application/json',
    authorization: 'Bearer eyJraWQiOiJ0ZXN0In0.eyJzdWIiOiJjbGllbnQifQ.c2lnbmF0dXJl',
    host: DOMAIN,
    'user-agent': 'users-service-tests/1.0',
    'x-amzn-trace-id': `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    'x-forwarded-for': '203.0.113.10',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...(text !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body ?? '')) } : {}),
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;

  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(options.query ? { queryStringParameters: { ...options.query } } : {}),
    ...(options.pathParameters ? { pathParameters: { ...options.pathParameters } } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: API_ID,
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: {
          claims: {
            sub: 'test-client',
            client_id: 'test-client',
            iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST',
            token_use: 'access',
            scope: (options.scopes ?? ['users/read', 'users/write']).join(' '),
          },
          scopes: options.scopes ?? ['users/read', 'users/write'],
        },
      },
      domainName: DOMAIN,
      domainPrefix: API_ID,
      http: {
        method: options.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent: 'users-service-tests/1.0',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: Boolean(options.base64 && body !== undefined),
  };
}

export function lambdaContext(functionName = 'users-service-test'): Context {
  const fail = (): never => {
    throw new Error('callback-style completion is not used');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2025/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: fail,
    fail,
    succeed: fail,
  };
}
