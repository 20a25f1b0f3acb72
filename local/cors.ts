// CORS as an HTTP API with a CORS configuration answers it: API Gateway itself replies to every
// preflight (the functions never see OPTIONS) and adds the allow-origin/expose headers to responses
// for allowed origins only.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from './token-signing.ts';

export interface CorsConfig {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

export const DEFAULT_ALLOWED_ORIGINS = ['http://localhost:5173'];

/** dev's allowed origins: cdk.json context stages.dev.corsAllowedOrigins, else CORS_ALLOWED_ORIGINS, else the default. */
export function devAllowedOrigins(env: NodeJS.ProcessEnv = process.env, cdkJsonPath = resolve(REPO_ROOT, 'cdk.json')): string[] {
  if (existsSync(cdkJsonPath)) {
    const cdkJson = JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: { stages?: Record<string, unknown> } };
    const stages = cdkJson.context?.stages ?? {};
    const devKey = Object.keys(stages).find((key) => key.toLowerCase() === 'dev');
    const origins = devKey ? (stages[devKey] as { corsAllowedOrigins?: unknown }).corsAllowedOrigins : undefined;
    if (Array.isArray(origins) && origins.length > 0 && origins.every((origin) => typeof origin === 'string')) {
      return origins as string[];
    }
  }
  const fromEnv = (env.CORS_ALLOWED_ORIGINS ?? '')
    .split(/[\s,]+/)
    .filter((origin) => origin !== '');
  return fromEnv.length > 0 ? fromEnv : DEFAULT_ALLOWED_ORIGINS;
}

export function corsConfig(allowOrigins: string[]): CorsConfig {
  return {
    allowOrigins,
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['authorization', 'content-type', 'if-match'],
    exposeHeaders: ['etag', 'location'],
    maxAgeSeconds: 600,
  };
}

function allowed(config: CorsConfig, origin: string | undefined): origin is string {
  return origin !== undefined && (config.allowOrigins.includes('*') || config.allowOrigins.includes(origin));
}

/** Headers of API Gateway's 204 answer to a preflight; none when the origin is not allowed. */
export function preflightHeaders(config: CorsConfig, origin: string | undefined): Record<string, string> {
  if (!allowed(config, origin)) return {};
  return {
    'access-control-allow-origin': config.allowOrigins.includes('*') ? '*' : origin,
    'access-control-allow-methods': config.allowMethods.join(','),
    'access-control-allow-headers': config.allowHeaders.join(','),
    'access-control-max-age': String(config.maxAgeSeconds),
  };
}

/** Headers API Gateway adds to an actual response for an allowed origin. */
export function responseCorsHeaders(config: CorsConfig, origin: string | undefined): Record<string, string> {
  if (!allowed(config, origin)) return {};
  return {
    'access-control-allow-origin': config.allowOrigins.includes('*') ? '*' : origin,
    'access-control-expose-headers': config.exposeHeaders.join(','),
  };
}
