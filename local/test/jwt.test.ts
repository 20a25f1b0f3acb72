import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSigningKey, signJwt, verifyJwt, type Claims } from '../jwt.ts';

const key = generateSigningKey();
const options = { issuer: 'https://local', audiences: ['client'], kid: key.kid, nowSeconds: 1_000_000 };
const claims = (extra: Claims = {}): Claims => ({ iss: 'https://local', client_id: 'client', exp: 1_000_600, iat: 999_990, scope: 'users/read users/write', ...extra });
const verdict = (token: string) => verifyJwt(token, key.publicKeyPem, options);

describe("the local issuer's token checks, as API Gateway's JWT authorizer makes them", () => {
  it('accepts a well-formed token and reads its space-separated scopes', () => {
    const result = verdict(signJwt(claims(), key.privateKeyPem, key.kid));
    assert.deepEqual(result.ok && result.scopes, ['users/read', 'users/write']);
  });

  it('rejects a token issued in the future', () => {
    assert.deepEqual(verdict(signJwt(claims({ iat: 1_000_100 }), key.privateKeyPem, key.kid)), { ok: false, reason: 'issued in the future' });
  });

  it('rejects scopes given as a JSON array', () => {
    const result = verdict(signJwt(claims({ scope: ['users/read'] }), key.privateKeyPem, key.kid));
    assert.deepEqual(result, { ok: false, reason: 'scope is not a space-separated string' });
  });

  it('rejects a signature in non-canonical base64url, although it decodes to the same bytes', () => {
    const token = signJwt(claims(), key.privateKeyPem, key.kid);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    for (const variant of [`${signature}=`, Buffer.from(signature, 'base64url').toString('base64')]) {
      if (variant === signature) continue;
      assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(signature, 'base64url'), 'the same bytes');
      assert.equal(verdict(`${header}.${payload}.${variant}`).ok, false, variant);
    }
  });
});
