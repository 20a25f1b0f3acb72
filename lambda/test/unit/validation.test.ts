import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LIMITS,
  parseCursor,
  matchableVersions,
  parseEntityTags,
  parseWritePreconditions,
  parseJsonBody,
  parseLimit,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  validateUserId,
  validateUserInput,
  validateUserPatch,
  ValidationError,
} from '../../src/lib/validation.ts';
import { encodeCursor, keyOf, uuidv7 } from '../../src/lib/user-keys.ts';

function rejects(fn: () => unknown, field: string, message?: RegExp, status = 400): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.equal(error.status, status);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('validateUserInput', () => {
  it('normalises e-mail and name and defaults status', () => {
    assert.deepEqual(validateUserInput({ email: '  Ada.Lovelace@Example.COM ', name: '  Ada Lovelace  ' }), {
      email: 'ada.lovelace@example.com',
      name: 'Ada Lovelace',
      status: 'active',
    });
  });

  it('keeps optional status and phoneNumber', () => {
    assert.deepEqual(
      validateUserInput({ email: 'a@b.co', name: 'A', status: 'suspended', phoneNumber: '+447700900123' }),
      { email: 'a@b.co', name: 'A', status: 'suspended', phoneNumber: '+447700900123' },
    );
  });

  it('rejects a body that is not an object', () => {
    for (const value of [null, [], 42, 'text', true]) rejects(() => validateUserInput(value), 'body', /JSON object/);
  });

  it('requires email and name', () => {
    rejects(() => validateUserInput({ name: 'A' }), 'email', /email is required/);
    rejects(() => validateUserInput({ email: 'a@b.co' }), 'name', /name is required/);
  });

  it('rejects wrong types, naming the field', () => {
    rejects(() => validateUserInput({ email: 42, name: 'A' }), 'email', /must be a string/);
    rejects(() => validateUserInput({ email: 'a@b.co', name: ['A'] }), 'name', /must be a string/);
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'A', status: null }), 'status');
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'A', phoneNumber: 447700900123 }), 'phoneNumber', /string/);
  });

  it('rejects read-only and unknown fields', () => {
    for (const field of ['userId', 'createdDate', 'updatedDate', 'version']) {
      rejects(() => validateUserInput({ email: 'a@b.co', name: 'A', [field]: 'x' }), field, /read-only/);
    }
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'A', role: 'admin' }), 'role', /not a recognised field/);
    rejects(() => validateUserInput(JSON.parse('{"email":"a@b.co","name":"A","__proto__":{}}')), '__proto__');
  });

  it('enforces length limits', () => {
    assert.equal(validateUserInput({ email: 'a@b.co', name: 'n'.repeat(LIMITS.nameMaxLength) }).name.length, 200);
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'n'.repeat(LIMITS.nameMaxLength + 1) }), 'name', /at most 200/);
    const longEmail = `${'a'.repeat(64)}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(63)}.com`;
    assert.ok(longEmail.length > LIMITS.emailMaxLength);
    rejects(() => validateUserInput({ email: longEmail, name: 'A' }), 'email', /at most 254/);
  });

  it('rejects empty and blank strings', () => {
    rejects(() => validateUserInput({ email: 'a@b.co', name: '   ' }), 'name', /must not be empty/);
    rejects(() => validateUserInput({ email: ' ', name: 'A' }), 'email', /must not be empty/);
  });

  it('rejects invalid e-mail addresses', () => {
    for (const email of ['plain', 'a@', '@b.co', 'a@b', 'a b@c.co', 'a..b@c.co', '.a@b.co', 'a@-b.co', 'a@b.c', `${'x'.repeat(65)}@b.co`]) {
      rejects(() => validateUserInput({ email, name: 'A' }), 'email', /valid e-mail address/);
    }
  });

  it('accepts common e-mail shapes', () => {
    for (const email of ['first.last+tag@sub.example.org', "o'brien@example.ie", 'x@xn--bcher-kva.example', 'a_b-c@ex-ample.io']) {
      assert.equal(validateUserInput({ email, name: 'A' }).email, email);
    }
  });

  it('rejects invalid status, phone numbers and control characters', () => {
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'A', status: 'Active' }), 'status', /active, suspended/);
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'A', phoneNumber: '07700 900123' }), 'phoneNumber', /E\.164/);
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'A', phoneNumber: '+0123' }), 'phoneNumber');
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'A\u0000B' }), 'name', /control characters/);
  });
});

describe('parseJsonBody', () => {
  const JSON_TYPE = 'application/json';

  it('parses plain and base64-encoded JSON', () => {
    assert.deepEqual(parseJsonBody('{"a":1}', false, JSON_TYPE), { a: 1 });
    assert.deepEqual(parseJsonBody(Buffer.from('{"a":"é"}').toString('base64'), true, JSON_TYPE), { a: 'é' });
  });

  it('rejects missing, empty and non-JSON bodies', () => {
    rejects(() => parseJsonBody(undefined, false, JSON_TYPE), 'body', /required/);
    rejects(() => parseJsonBody('', false, JSON_TYPE), 'body', /required/);
    rejects(() => parseJsonBody('  \n', false, JSON_TYPE), 'body', /required/);
    rejects(() => parseJsonBody('{"a":', false, JSON_TYPE), 'body', /valid JSON/);
    rejects(() => parseJsonBody('{"a":1}', true, JSON_TYPE), 'body', /valid JSON/);
  });

  it('answers an oversized body with 413', () => {
    const limit = JSON.stringify({ name: 'x'.repeat(LIMITS.bodyMaxBytes - 11) });
    assert.equal(Buffer.byteLength(limit), LIMITS.bodyMaxBytes);
    assert.deepEqual(Object.keys(parseJsonBody(limit, false, JSON_TYPE) as object), ['name']);
    const over = JSON.stringify({ name: 'x'.repeat(LIMITS.bodyMaxBytes - 10) });
    rejects(() => parseJsonBody(over, false, JSON_TYPE), 'body', /at most 16384 bytes/, 413);
    rejects(() => parseJsonBody(Buffer.from(over).toString('base64'), true, JSON_TYPE), 'body', /at most/, 413);
    assert.throws(() => parseJsonBody(over, false, JSON_TYPE), PayloadTooLargeError);
  });

  it('reads JSON in UTF-8 only, answering any other media type with 415', () => {
    for (const accepted of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
      assert.deepEqual(parseJsonBody('{"a":1}', false, accepted), { a: 1 }, accepted);
    }
    for (const refused of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/json; charset=latin1', 'application/merge-patch+json']) {
      rejects(() => parseJsonBody('{"a":1}', false, refused), 'Content-Type', /must be application\/json/, 415);
    }
    assert.throws(() => parseJsonBody('{"a":1}', false, 'text/plain'), UnsupportedMediaTypeError);
    // An operation may name the media types it reads.
    const patchTypes = ['application/merge-patch+json'];
    assert.deepEqual(parseJsonBody('{"a":null}', false, 'application/merge-patch+json', patchTypes), { a: null });
    rejects(() => parseJsonBody('{}', false, JSON_TYPE, patchTypes), 'Content-Type', /application\/merge-patch\+json/, 415);
  });

  it('refuses bytes that are not UTF-8 rather than reading them as U+FFFD', () => {
    const latin1 = Buffer.concat([Buffer.from('{"name":"Jos'), Buffer.from([0xe9]), Buffer.from('"}')]);
    rejects(() => parseJsonBody(latin1.toString('base64'), true, JSON_TYPE), 'body', /valid UTF-8/);
    const overlong = Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]);
    rejects(() => parseJsonBody(overlong.toString('base64'), true, JSON_TYPE), 'body', /valid UTF-8/);
    // A text body holding a lone surrogate has no UTF-8 encoding either.
    rejects(() => parseJsonBody('{"name":"\ud800"}', false, JSON_TYPE), 'body', /valid UTF-8/);
    assert.deepEqual(parseJsonBody(Buffer.from('{"name":"José"}').toString('base64'), true, JSON_TYPE), { name: 'José' });
  });
});

describe('text fields', () => {
  const named = (name: unknown) => validateUserInput({ email: 'a@b.co', name });

  it('stores names in NFC', () => {
    const decomposed = 'Jose\u0301 Ban\u0303o';
    assert.equal(named(decomposed).name, 'José Baño');
    assert.equal(named(decomposed).name, named('José Baño').name);
    assert.equal(named('Ａｄａ').name, 'Ａｄａ', 'NFC, not NFKC: full-width letters are kept');
  });

  it('refuses bidirectional embeddings, overrides and isolates', () => {
    for (const control of ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']) {
      rejects(() => named(`Ada${control}ecalovel`), 'name', /bidirectional/);
    }
    assert.equal(named('\u05e9\u05dc\u05d5\u05dd \u200fAda').name, '\u05e9\u05dc\u05d5\u05dd \u200fAda', 'a right-to-left mark is allowed');
  });

  it('refuses names made only of invisible characters', () => {
    for (const invisible of ['\u200b', '\u200b\u200c\u200d', '\u2060\ufeff\u00ad', '\u3164', '\u115f\u1160', '\u2800', '\u3000\u200b']) {
      rejects(() => named(invisible), 'name', /visible character|must not be empty/);
    }
    assert.equal(named('A\u200dB').name, 'A\u200dB', 'a joiner between visible letters is kept');
  });

  it('refuses lone surrogates and control characters', () => {
    rejects(() => named('Ada\ud800'), 'name', /lone surrogates/);
    rejects(() => named(JSON.parse('"\\udfff Ada"')), 'name', /lone surrogates/);
    for (const control of ['\u0000', '\u001b', '\u007f', '\u0085', '\u2028']) rejects(() => named(`A${control}B`), 'name', /control characters/);
    assert.equal(named('😀 Ada').name, '😀 Ada', 'a surrogate pair is one well-formed character');
  });
});

describe('validateUserPatch (RFC 7396)', () => {
  it('sets the named fields, validated and normalised as on create, and removes optional ones on null', () => {
    assert.deepEqual(validateUserPatch({ name: ' Jose\u0301 ', email: ' A@B.CO' }), { set: { name: 'José', email: 'a@b.co' }, remove: [] });
    assert.deepEqual(validateUserPatch({ phoneNumber: null, status: 'suspended' }), { set: { status: 'suspended' }, remove: ['phoneNumber'] });
    assert.deepEqual(validateUserPatch({ phoneNumber: '+447700900123' }), { set: { phoneNumber: '+447700900123' }, remove: [] });
  });

  it('refuses what it cannot apply, naming the field', () => {
    rejects(() => validateUserPatch({}), 'body', /body must name at least one field/);
    for (const body of [null, [], 'name', 3]) rejects(() => validateUserPatch(body), 'body', /JSON object/);
    for (const required of ['email', 'name', 'status']) rejects(() => validateUserPatch({ [required]: null }), required, /cannot be removed/);
    rejects(() => validateUserPatch({ version: 3 }), 'version', /read-only/);
    rejects(() => validateUserPatch({ nickname: 'x' }), 'nickname', /not a recognised field/);
    rejects(() => validateUserPatch({ name: { first: 'A' } }), 'name', /must be a string/);
    rejects(() => validateUserPatch({ status: 'deleted' }), 'status');
  });
});

describe('full replacement', () => {
  it('needs status, so that a PUT never silently reactivates a suspended user', () => {
    rejects(() => validateUserInput({ email: 'a@b.co', name: 'A' }, 'replace'), 'status', /status is required/);
    assert.equal(validateUserInput({ email: 'a@b.co', name: 'A', status: 'suspended' }, 'replace').status, 'suspended');
    assert.equal(validateUserInput({ email: 'a@b.co', name: 'A' }, 'create').status, 'active');
    assert.equal(validateUserInput({ email: 'a@b.co', name: 'A', status: 'active' }, 'replace').phoneNumber, undefined);
  });
});

describe('path, query and header parameters', () => {
  it('accepts only canonical UUIDv7 user ids', () => {
    const id = uuidv7();
    assert.equal(validateUserId(id), id);
    rejects(() => validateUserId(undefined), 'userId');
    rejects(() => validateUserId(id.toUpperCase()), 'userId', /UUIDv7/);
    rejects(() => validateUserId('6fa459ea-ee8a-4ca4-894e-db77e160355e'), 'userId', /UUIDv7/); // v4
    rejects(() => validateUserId('not-a-uuid'), 'userId');
  });

  it('bounds limit to 1..100 with default 20', () => {
    assert.equal(parseLimit(undefined), 20);
    assert.equal(parseLimit('1'), 1);
    assert.equal(parseLimit('100'), 100);
    for (const bad of ['0', '101', '-1', '1.5', 'ten', '', '1e2', ' 5', '2,3', '0010']) rejects(() => parseLimit(bad), 'limit');
  });

  it('decodes only cursors this API produced', () => {
    const key = keyOf(uuidv7());
    assert.deepEqual(parseCursor(encodeCursor(key)), key);
    assert.equal(parseCursor(undefined), undefined);
    const forged = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const bad of [
      '',
      'not base64!',
      `${encodeCursor(key)}=`,
      forged({ userId: key.userId }),
      forged({ ...key, extra: 1 }),
      forged({ ...key, createdDate: '2020-01-01T00:00:00.000Z' }),
      forged({ userId: 'x', createdDate: key.createdDate }),
      forged([key.userId, key.createdDate]),
      Buffer.from('{not json').toString('base64url'),
    ]) {
      rejects(() => parseCursor(bad), 'cursor');
    }
  });

  it('parses If-Match and If-None-Match as RFC 9110 lists of entity-tags', () => {
    assert.equal(parseEntityTags('If-Match', undefined), undefined);
    assert.equal(parseEntityTags('If-Match', ' * '), '*');
    assert.deepEqual(parseEntityTags('If-Match', '"7"'), [{ weak: false, opaque: '7' }]);
    assert.deepEqual(parseEntityTags('If-None-Match', ' W/"1" ,, "2", "a,b" '), [
      { weak: true, opaque: '1' },
      { weak: false, opaque: '2' },
      { weak: false, opaque: 'a,b' },
    ]);
    for (const bad of ['', ' , ', '7', 'W/7', 'w/"7"', '"7', '"7" "8"', '**', '*, "1"', '"a"b"', '"\u0001"']) {
      rejects(() => parseEntityTags('If-Match', bad), 'If-Match', /entity-tags/);
    }
    rejects(() => parseEntityTags('If-None-Match', Array.from({ length: 51 }, (_, i) => `"${i + 1}"`).join(',')), 'If-None-Match', /at most 50/);
  });

  it('compares strongly for If-Match and weakly for If-None-Match', () => {
    const tags = parseEntityTags('If-Match', 'W/"1", "2", "x", "0", "2"');
    assert.ok(tags);
    assert.deepEqual(matchableVersions(tags, 'strong'), [2]);
    assert.deepEqual(matchableVersions(tags, 'weak'), [1, 2]);
    assert.deepEqual(matchableVersions('*', 'strong'), 'any');
    assert.deepEqual(parseWritePreconditions({ 'if-match': 'W/"3"' }), { ifMatch: [] });
    assert.deepEqual(parseWritePreconditions({ 'if-none-match': '*' }), { ifNoneMatch: 'any' });
    assert.deepEqual(parseWritePreconditions({}), {});
  });
});
