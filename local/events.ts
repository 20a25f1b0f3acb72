// The local gateway's side of payload format 2.0: a Node request's headers and cookies as API
// Gateway passes them (the event itself is harness/api-event.mjs), and how API Gateway turns the
// function's result into an HTTP response.
import type { IncomingHttpHeaders } from 'node:http';
import { apiGatewayEvent, lambdaContext } from '../harness/api-event.mjs';

export interface RequestInput {
  method: string;
  rawPath: string;
  rawQueryString: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body is base64 of bytes that are not UTF-8 text. */
  isBase64Encoded?: boolean;
  sourceIp: string;
  routeKey: string;
  pathParameters: Record<string, string>;
  claims: Record<string, string>;
  scopes: string[];
  requestId: string;
  now?: Date;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/** Header names lower-cased; repeated headers joined with commas, as API Gateway does. */
export function eventHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'cookie') continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

/** The payload 2.0 event for a request the local gateway has matched and authorised. */
export function buildEvent(input: RequestInput) {
  const headers = eventHeaders(input.headers);
  const cookies = input.headers.cookie
    ?.split(';')
    .map((cookie) => cookie.trim())
    .filter((cookie) => cookie !== '');
  const host = headers.host ?? '127.0.0.1';
  return apiGatewayEvent({
    method: input.method,
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    headers,
    ...(cookies ? { cookies } : {}),
    pathParameters: input.pathParameters,
    body: input.body,
    isBase64Encoded: input.isBase64Encoded ?? false,
    claims: input.claims,
    scopes: input.scopes,
    sourceIp: input.sourceIp,
    requestId: input.requestId,
    ...(input.now ? { now: input.now } : {}),
    gateway: { accountId: '000000000000', apiId: 'local', domainName: host },
  });
}

export function buildContext(functionName: string, timeoutMs: number, region: string) {
  return lambdaContext({ functionName, timeoutMs, region, accountId: '000000000000' });
}

export function jsonResponse(statusCode: number, payload: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    cookies: [],
    body: Buffer.from(JSON.stringify(payload)),
  };
}

/**
 * Payload 2.0 response mapping: a result with a statusCode is taken as is; any other value is
 * JSON-serialised into a 200 (API Gateway's "inferred" format); nothing usable is a 500.
 */
export function responseFromResult(result: unknown): HttpResponse {
  if (result !== null && typeof result === 'object' && 'statusCode' in result) {
    const structured = result as {
      statusCode: unknown;
      headers?: Record<string, unknown>;
      cookies?: unknown;
      body?: unknown;
      isBase64Encoded?: unknown;
    };
    if (typeof structured.statusCode !== 'number' || !Number.isInteger(structured.statusCode)) {
      return jsonResponse(500, { message: 'Internal Server Error' });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(structured.headers ?? {})) {
      if (value === undefined || value === null) continue;
      // API Gateway takes a header as a string, number or boolean; anything else is a broken result.
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return jsonResponse(500, { message: 'Internal Server Error' });
      }
      headers[name.toLowerCase()] = String(value);
    }
    const text = typeof structured.body === 'string' ? structured.body : structured.body === undefined ? '' : JSON.stringify(structured.body);
    const body = structured.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text);
    const cookies = Array.isArray(structured.cookies) ? structured.cookies.map(String) : [];
    return { statusCode: structured.statusCode, headers, cookies, body };
  }
  if (result === undefined) return jsonResponse(500, { message: 'Internal Server Error' });
  const body = typeof result === 'string' ? result : JSON.stringify(result);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(body) };
}
