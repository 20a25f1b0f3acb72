/**
 * The handler tests' events: harness/api-event.mjs (the one payload 2.0 builder) with the test
 * defaults (a JWT-authorised client holding both scopes, a trace header), typed as aws-lambda's.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { DEFAULT_GATEWAY, lambdaContext as harnessContext, routeEvent } from '../../../harness/api-event.mjs';

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
  /** The token's subject (default test-client): who the caller is. */
  subject?: string;
}

const ALL_SCOPES = ['users/read', 'users/write'];

export function apiEvent(options: EventOptions): APIGatewayProxyEventV2WithJWTAuthorizer {
  const scopes = options.scopes ?? ALL_SCOPES;
  const now = new Date();
  return routeEvent({
    ...options,
    scopes,
    claims: {
      sub: options.subject ?? 'test-client',
      client_id: options.subject ?? 'test-client',
      iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST',
      token_use: 'access',
      scope: scopes.join(' '),
    },
    defaultHeaders: {
      accept: 'application/json',
      authorization: 'Bearer eyJraWQiOiJ0ZXN0In0.eyJzdWIiOiJjbGllbnQifQ.c2lnbmF0dXJl',
      host: DEFAULT_GATEWAY.domainName,
      'user-agent': 'users-service-tests/1.0',
      'x-amzn-trace-id': `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      'x-forwarded-for': '203.0.113.10',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
  });
}

export function lambdaContext(functionName = 'users-service-test'): Context {
  return harnessContext({ functionName });
}
