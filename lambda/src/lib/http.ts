/**
 * JSON responses, the mapping from errors to HTTP, and the wrapper every handler goes through.
 *
 * Error body (relied on by clients, keep exactly):
 *   {"error": {"code": "<PascalCase>", "message": "<sentence>", "field": "<what was wrong, for 400/409/413/415/422>"}}
 * Every response carries Content-Type: application/json.
 */
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { describeError, logger, recordRequestMetric } from './observability.ts';
import { isUuidV7 } from './user-keys.ts';
import { operationNamed } from '../contract.ts';
import { StoreUnavailableError, type User, type WriteResult } from './domain.ts';
import { ValidationError } from './validation.ts';
import { traceOperation, type OperationSubsegment } from './xray.ts';

export const ERROR_CODES = [
  'ValidationFailed',
  'NotFound',
  'PreconditionFailed',
  'Conflict',
  'PayloadTooLarge',
  'UnsupportedMediaType',
  'UnprocessableContent',
  'ServiceUnavailable',
  'InternalError',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type Response = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };
export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer | APIGatewayProxyEventV2;
export type ApiHandler = (event: ApiEvent, context: Context) => Promise<Response>;

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

const BASE_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function json(statusCode: number, body?: unknown, headers: Record<string, string> = {}): Response {
  return {
    statusCode,
    headers: { ...BASE_HEADERS, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
}

export function etagOf(version: number): string {
  return `"${version}"`;
}

export function userResponse(statusCode: number, user: User, headers: Record<string, string> = {}): Response {
  return json(statusCode, user, { ETag: etagOf(user.version), ...headers });
}

export function errorResponse(statusCode: number, code: ErrorCode, message: string, field?: string, headers: Record<string, string> = {}): Response {
  return json(statusCode, { error: { code, message, ...(field === undefined ? {} : { field }) } }, headers);
}

/** 304: the client's copy is current. No body, so no Content-Type; the ETag it validated. */
export function notModified(version: number): Response {
  return { statusCode: 304, headers: { 'Cache-Control': 'no-store', ETag: etagOf(version) } };
}

/** A replace or patch: 200 with the user and its new ETag, or why it was not applied. */
export function writeResponse(result: WriteResult): Response {
  switch (result.outcome) {
    case 'ok':
      return userResponse(200, result.user);
    case 'not_found':
      return notFound();
    case 'precondition_failed':
      return preconditionFailed();
    case 'email_taken':
      return emailTaken();
  }
}

export function emailTaken(): Response {
  return errorResponse(409, 'Conflict', 'another user already has this email', 'email');
}

export function notFound(message = 'user not found'): Response {
  return errorResponse(404, 'NotFound', message);
}

export function preconditionFailed(): Response {
  return errorResponse(412, 'PreconditionFailed', 'If-Match does not match the current ETag of the user');
}

export function routeNotFound(): Response {
  return errorResponse(404, 'NotFound', 'no such route');
}

export function serviceUnavailable(): Response {
  return errorResponse(503, 'ServiceUnavailable', 'the user store is temporarily unavailable, retry later', undefined, {
    'Retry-After': String(RETRY_AFTER_SECONDS),
  });
}

export function internalError(): Response {
  return errorResponse(500, 'InternalError', 'an unexpected error occurred');
}

export interface Classified {
  response: Response;
  /** Whether the error is unexpected (to be logged as an error). */
  unexpected: boolean;
}

export function responseForError(error: unknown): Classified {
  if (error instanceof ValidationError) {
    return { response: errorResponse(error.status, OUTCOME_BY_STATUS[error.status] ?? 'ValidationFailed', error.message, error.field), unexpected: false };
  }
  if (error instanceof StoreUnavailableError) return { response: serviceUnavailable(), unexpected: false };
  return { response: internalError(), unexpected: true };
}

const OUTCOME_BY_STATUS: Record<number, ErrorCode> = {
  400: 'ValidationFailed',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'UnprocessableContent',
  503: 'ServiceUnavailable',
};

/** The outcome of a request, for metrics and logs: 'Success' or the error code. */
export function outcomeOf(response: Response): ErrorCode | 'Success' {
  if (response.statusCode < 400) return 'Success';
  return OUTCOME_BY_STATUS[response.statusCode] ?? 'InternalError';
}

/**
 * Wraps the body of the contract's operation `operationName`: serves only its route key (404
 * otherwise), maps thrown errors to responses (ValidationError 400, StoreUnavailableError 503, anything else 500; a store's own errors never
 * reach here by name), and records one log line, one metric and one trace subsegment per request.
 */
export function apiHandler(operationName: string, body: (event: ApiEvent, context: Context) => Promise<Response>): ApiHandler {
  // Resolved at import: a name the contract lacks fails every test of that handler.
  const { name: operation, routeKey } = operationNamed(operationName);
  const handle = async (event: ApiEvent, context: Context, subsegment: OperationSubsegment | undefined): Promise<Response> => {
    const started = performance.now();
    logger.addContext(context);

    let response: Response;
    try {
      response = event.routeKey === routeKey ? await body(event, context) : routeNotFound();
    } catch (error) {
      const classified = responseForError(error);
      response = classified.response;
      if (classified.unexpected) {
        const details = describeError(error);
        logger.error('unexpected error', { operation, error: details });
        subsegment?.addError(details.name ?? 'Error', details.message ?? '');
      } else if (response.statusCode === 503) {
        logger.warn('user store unavailable', { operation, error: describeError(error instanceof Error ? error.cause : error) });
      }
    }

    const outcome = outcomeOf(response);
    const userId = event.pathParameters?.userId;
    logger.info('request completed', {
      operation,
      routeKey: event.routeKey,
      apiRequestId: event.requestContext.requestId,
      statusCode: response.statusCode,
      outcome,
      durationMs: Math.round(performance.now() - started),
      ...(userId && isUuidV7(userId) ? { userId } : {}),
    });

    recordRequestMetric(context.functionName, operation, outcome);
    return response;
  };
  return (event, context) => traceOperation(operation, (subsegment) => handle(event, context, subsegment));
}
