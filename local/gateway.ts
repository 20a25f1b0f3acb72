// What API Gateway's HTTP API does with a request before and after the function, as `make local`
// imitates it: answer CORS preflights, match the route, check the JWT and the route's scope, build
// the payload 2.0 event, invoke the handler within its timeout, shape the result into an HTTP
// response and add the CORS headers. Pure: no sockets, ports or processes (those are server.ts's),
// so local/test/gateway.test.ts checks it directly.
import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import type { DeployedCors } from '../harness/deployed.ts';
import { matchRoute, type Route } from './contract.ts';
import { preflightHeaders, responseCorsHeaders } from './cors.ts';
import { buildContext, buildEvent, jsonResponse, responseFromResult, type HttpResponse } from './events.ts';
import { bearerToken, claimsForEvent, type VerifyResult } from './jwt.ts';

export type Handler = (event: unknown, context: unknown) => Promise<unknown>;
export type GatewayLog = (level: 'INFO' | 'WARN' | 'ERROR', message: string, fields?: Record<string, unknown>) => void;

export interface GatewayOptions {
  routes: Route[];
  cors: DeployedCors;
  /** Each operation's handler, by operation name. */
  handlers: ReadonlyMap<string, Handler>;
  /** False while the stack is starting (or stopping): every request is then a 503. */
  ready: () => boolean;
  /** Verifies a bearer token: signature, issuer, audience, expiry. */
  verify: (token: string) => VerifyResult;
  /** The function's timeout for an operation. */
  timeoutMs: (operation: string) => number;
  region: string;
  log: GatewayLog;
}

export interface GatewayRequest {
  method: string;
  /** Path and query, as on the request line. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body, or undefined when it was over the payload limit. */
  body: Buffer | undefined;
  sourceIp: string;
  requestId: string;
}

export interface GatewayAnswer {
  response: HttpResponse;
  /** The matched route's key, for the access log ('-' when none matched). */
  routeKey: string;
}

const internalError = (): HttpResponse => jsonResponse(500, { message: 'Internal Server Error' });

/** An origin-form request target (RFC 9112): a path from '/', that a URL parser accepts. */
export function isParsableTarget(target: string): boolean {
  if (!target.startsWith('/') || target.startsWith('//')) return false;
  try {
    new URL(target, 'http://localhost');
    return true;
  } catch {
    return false;
  }
}

export function createGateway(options: GatewayOptions): (request: GatewayRequest) => Promise<GatewayAnswer> {
  async function route(request: GatewayRequest, method: string): Promise<GatewayAnswer> {
    const origin = request.headers.origin;
    if (!options.ready()) return { response: jsonResponse(503, { message: 'Service Unavailable' }), routeKey: '-' };
    if (!isParsableTarget(request.url)) return { response: jsonResponse(400, { message: 'Bad Request' }), routeKey: '-' };
    if (method === 'OPTIONS') {
      // API Gateway answers preflights itself, for any path, before routing.
      return { response: { statusCode: 204, headers: preflightHeaders(options.cors, origin), cookies: [], body: Buffer.alloc(0) }, routeKey: 'OPTIONS (CORS)' };
    }
    const queryStart = request.url.indexOf('?');
    const rawPath = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
    const rawQueryString = queryStart === -1 ? '' : request.url.slice(queryStart + 1);
    const match = matchRoute(options.routes, method, rawPath);
    if (!match) return { response: jsonResponse(404, { message: 'Not Found' }), routeKey: '-' };
    const { route: matched, pathParameters } = match;

    const token = bearerToken(typeof request.headers.authorization === 'string' ? request.headers.authorization : undefined);
    const verified = token ? options.verify(token) : undefined;
    if (!verified?.ok) {
      return { response: jsonResponse(401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' }), routeKey: matched.routeKey };
    }
    if (!verified.scopes.includes(matched.scope)) {
      return {
        response: jsonResponse(403, { message: 'Forbidden' }, { 'www-authenticate': `Bearer scope="${matched.scope}" error="insufficient_scope"` }),
        routeKey: matched.routeKey,
      };
    }
    if (request.body === undefined) return { response: jsonResponse(413, { message: 'Request Entity Too Large' }), routeKey: matched.routeKey };

    const handler = options.handlers.get(matched.name);
    if (!handler) throw new Error(`no handler for ${matched.name}`);
    const event = buildEvent({
      method,
      rawPath,
      rawQueryString,
      headers: request.headers,
      // Bytes that are not UTF-8 go to the handler as base64, so it sees them rather than U+FFFD.
      ...(isUtf8(request.body) ? { body: request.body.toString('utf8') } : { body: request.body.toString('base64'), isBase64Encoded: true }),
      sourceIp: request.sourceIp,
      routeKey: matched.routeKey,
      pathParameters,
      claims: claimsForEvent(verified.claims),
      scopes: verified.scopes,
      requestId: request.requestId,
    });
    const timeoutMs = options.timeoutMs(matched.name);
    const context = buildContext(`users-service-local-${matched.name}`, timeoutMs, options.region);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolveTimeout) => {
      timer = setTimeout(() => {
        resolveTimeout('timeout');
      }, timeoutMs);
    });
    try {
      const result = await Promise.race([handler(event, context), timeout]);
      if (result === 'timeout') {
        options.log('ERROR', 'function timed out', { requestId: request.requestId, routeKey: matched.routeKey, timeoutMs });
        return { response: internalError(), routeKey: matched.routeKey };
      }
      return { response: responseFromResult(result), routeKey: matched.routeKey };
    } catch (error) {
      // An unhandled error in the function: API Gateway answers 500 with its own body.
      options.log('ERROR', 'function error', { requestId: request.requestId, routeKey: matched.routeKey, error: String((error as Error).stack ?? error) });
      return { response: internalError(), routeKey: matched.routeKey };
    } finally {
      clearTimeout(timer);
    }
  }

  return async (request) => {
    const method = request.method.toUpperCase();
    let answer: GatewayAnswer;
    try {
      answer = await route(request, method);
    } catch (error) {
      options.log('ERROR', 'local API failure', { requestId: request.requestId, error: String((error as Error).stack ?? error) });
      answer = { response: internalError(), routeKey: '-' };
    }
    if (method !== 'OPTIONS') Object.assign(answer.response.headers, responseCorsHeaders(options.cors, request.headers.origin));
    answer.response.headers['apigw-requestid'] = request.requestId;
    answer.response.headers['content-length'] = String(answer.response.body.length);
    return answer;
  };
}
