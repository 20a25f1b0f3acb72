// API Gateway HTTP API payload format 2.0: the event a route's Lambda integration receives, the
// Lambda context, and how API Gateway turns the function's result into an HTTP response.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface RequestInput {
  method: string;
  rawPath: string;
  rawQueryString: string;
  headers: IncomingHttpHeaders;
  body: string;
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** requestContext.time's format: "12/Mar/2020:19:03:58 +0000". */
export function requestTime(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(now.getUTCDate())}/${MONTHS[now.getUTCMonth()]}/${now.getUTCFullYear()}:${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())} +0000`;
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

/** Repeated query parameters joined with commas, as in payload 2.0; undefined when there are none. */
export function queryStringParameters(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    out[name] = name in out ? `${out[name]},${value}` : value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

export function buildEvent(input: RequestInput) {
  const now = input.now ?? new Date();
  const headers = eventHeaders(input.headers);
  const cookieHeader = input.headers.cookie;
  const cookies = cookieHeader
    ? cookieHeader
        .split(';')
        .map((cookie) => cookie.trim())
        .filter((cookie) => cookie !== '')
    : undefined;
  const host = headers.host ?? '127.0.0.1';
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    queryStringParameters: queryStringParameters(input.rawQueryString),
    pathParameters: Object.keys(input.pathParameters).length === 0 ? undefined : input.pathParameters,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: { jwt: { claims: input.claims, scopes: input.scopes } },
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: {
        method: input.method,
        path: input.rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: input.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: input.requestId,
      routeKey: input.routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    body: input.body === '' ? undefined : input.body,
    isBase64Encoded: false,
    stageVariables: undefined,
  };
}

export function buildContext(functionName: string, timeoutMs: number, region: string) {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${awsRequestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
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
      if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
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
