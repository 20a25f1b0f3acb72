// RS256 JSON Web Tokens with node:crypto only: the local stand-in for the Cognito user pool that
// issues the deployed API's access tokens, and for API Gateway's JWT authorizer that checks them.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export type Claims = Record<string, unknown>;

export interface SigningKey {
  kid: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface VerifyOptions {
  issuer: string;
  /** Accepted audiences: a token passes when its `aud` or, lacking one, its `client_id` is listed. */
  audiences: string[];
  kid: string;
  nowSeconds?: number;
  clockSkewSeconds?: number;
}

export type VerifyResult = { ok: true; claims: Claims; scopes: string[] } | { ok: false; reason: string };

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid: randomUUID(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function signJwt(claims: Claims, privateKeyPem: string, kid: string): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const payload = base64url(JSON.stringify(claims));
  const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), createPrivateKey(privateKeyPem));
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

/** The token of an Authorization header, with or without the "Bearer " prefix (as API Gateway takes it). */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const token = authorization.replace(/^Bearer\s+/i, '').trim();
  return token === '' ? undefined : token;
}

export function verifyJwt(token: string, publicKey: KeyObject | string, options: VerifyOptions): VerifyResult {
  const [encodedHeader, encodedPayload, encodedSignature, ...rest] = token.split('.');
  if (encodedHeader === undefined || encodedPayload === undefined || encodedSignature === undefined || rest.length > 0) {
    return { ok: false, reason: 'not a JWS compact serialization' };
  }
  // Node decodes base64url leniently (padding, '+', '/', stray bits); a JWS segment is canonical.
  if (![encodedHeader, encodedPayload, encodedSignature].every(isCanonicalBase64url)) {
    return { ok: false, reason: 'a segment is not canonical base64url' };
  }
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(encodedPayload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'undecodable header or payload' };
  }
  if (!isJsonObject(header) || !isJsonObject(claims)) {
    return { ok: false, reason: 'header or payload is not a JSON object' };
  }
  if (header.alg !== 'RS256') return { ok: false, reason: `unsupported alg ${String(header.alg)}` };
  if (header.kid !== options.kid) return { ok: false, reason: 'unknown kid' };
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const valid = verify(
    'RSA-SHA256',
    Buffer.from(`${encodedHeader}.${encodedPayload}`),
    key,
    Buffer.from(encodedSignature, 'base64url'),
  );
  if (!valid) return { ok: false, reason: 'bad signature' };

  if (claims.iss !== options.issuer) return { ok: false, reason: 'wrong issuer' };
  const audiences = claims.aud === undefined ? [claims.client_id] : [claims.aud].flat();
  if (!audiences.some((audience) => typeof audience === 'string' && options.audiences.includes(audience))) {
    return { ok: false, reason: 'wrong audience' };
  }
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const skew = options.clockSkewSeconds ?? 0;
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'no exp' };
  if (claims.exp + skew <= now) return { ok: false, reason: 'expired' };
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf - skew > now)) {
    return { ok: false, reason: 'not yet valid' };
  }
  if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat - skew > now)) {
    return { ok: false, reason: 'issued in the future' };
  }
  const scopes = scopesOf(claims);
  if (scopes === undefined) return { ok: false, reason: 'scope is not a space-separated string' };
  return { ok: true, claims, scopes };
}

/**
 * Cognito access tokens carry the scopes as one space-separated `scope` string, and API Gateway's
 * JWT authorizer reads `scope` (or `scp`) that way; any other shape is not a valid token here.
 */
export function scopesOf(claims: Claims): string[] | undefined {
  const raw = claims.scope ?? claims.scp;
  if (raw === undefined) return [];
  if (typeof raw !== 'string') return undefined;
  return raw.split(' ').filter((scope) => scope !== '');
}

function isCanonicalBase64url(segment: string): boolean {
  return /^[A-Za-z0-9_-]*$/.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/** API Gateway hands the claims to the function as strings; lists look like "[a b]". */
export function claimsForEvent(claims: Claims): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value)) out[name] = `[${value.map(String).join(' ')}]`;
    else if (value !== null && typeof value === 'object') out[name] = JSON.stringify(value);
    else out[name] = String(value);
  }
  return out;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** RFC 7519 requires both segments to be JSON objects: null and arrays are JSON, but not objects. */
function isJsonObject(value: unknown): value is Claims {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
