/**
 * Powertools Logger and Metrics (a leaf module: it imports nothing from this project, so xray.ts,
 * which the repository uses to instrument its client, can use it without an import cycle).
 * Tracing is xray.ts, not Powertools Tracer: see there and docs/benchmarks.md.
 *
 * Logs are structured JSON and never contain request bodies, e-mail addresses or other
 * client-supplied free text: one line per request (operation, route, status, outcome, duration,
 * the userId when it is a valid one), plus error details for unexpected failures with anything
 * that looks like an e-mail address redacted.
 *
 * Metrics: one EMF metric `UserOperation` (Count) per request with dimensions
 * Operation (5 values) x Outcome (Success | ValidationFailed | NotFound | PreconditionFailed |
 * ServiceUnavailable | InternalError), plus Powertools' ColdStart metric.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

export const serviceName = process.env.POWERTOOLS_SERVICE_NAME || 'users-service';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'UsersService',
  serviceName,
});

const EMAIL_LIKE = /[^\s"'<>@,;:()[\]]+@[^\s"'<>@,;:()[\]]+/g;

/** Replaces anything shaped like an e-mail address. */
export function redact(text: string): string {
  return text.replace(EMAIL_LIKE, '[redacted]');
}

export function describeError(error: unknown): Record<string, string> {
  if (error instanceof Error) {
    const details: Record<string, string> = { name: error.name, message: redact(error.message) };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') details.code = code;
    if (error.stack) details.stack = redact(error.stack);
    return details;
  }
  return { name: typeof error, message: 'non-Error value thrown' };
}

/** Records the request's metrics: never throws, whatever Powertools thinks of the buffer. */
export function recordRequestMetric(functionName: string, operation: string, outcome: string): void {
  try {
    metrics.captureColdStartMetric(functionName);
    metrics.addDimensions({ Operation: operation, Outcome: outcome });
    metrics.addMetric('UserOperation', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  } catch (error) {
    logger.warn('metrics not published', { error: describeError(error) });
  }
}
