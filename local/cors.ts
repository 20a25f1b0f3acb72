// CORS as an HTTP API with a CORS configuration answers it: API Gateway itself replies to every
// preflight (the functions never see OPTIONS) and adds the allow-origin/expose headers to responses
// for allowed origins only. The configuration is the dev template's own (harness/deployed.ts).
import type { DeployedCors } from '../harness/deployed.ts';

function allowed(config: DeployedCors, origin: string | undefined): origin is string {
  return origin !== undefined && (config.allowOrigins.includes('*') || config.allowOrigins.includes(origin));
}

/** Headers of API Gateway's 204 answer to a preflight; none when the origin is not allowed. */
export function preflightHeaders(config: DeployedCors, origin: string | undefined): Record<string, string> {
  if (!allowed(config, origin)) return {};
  return {
    'access-control-allow-origin': config.allowOrigins.includes('*') ? '*' : origin,
    'access-control-allow-methods': config.allowMethods.join(','),
    'access-control-allow-headers': config.allowHeaders.join(','),
    'access-control-max-age': String(config.maxAgeSeconds),
  };
}

/** Headers API Gateway adds to an actual response for an allowed origin. */
export function responseCorsHeaders(config: DeployedCors, origin: string | undefined): Record<string, string> {
  if (!allowed(config, origin)) return {};
  return {
    'access-control-allow-origin': config.allowOrigins.includes('*') ? '*' : origin,
    'access-control-expose-headers': config.exposeHeaders.join(','),
  };
}
