import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contract } from '../../lambda/src/contract.ts';
import { loadRoutes } from '../contract.ts';
import { createGateway, type GatewayOptions, type GatewayRequest, type Handler } from '../gateway.ts';
import type { VerifyResult } from '../jwt.ts';

const CORS = {
  allowOrigins: ['http://localhost:5173'],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['authorization'],
  exposeHeaders: ['etag'],
  maxAgeSeconds: 3600,
};
const READ: VerifyResult = { ok: true, claims: { sub: 'c', scope: 'users/read' }, scopes: [contract.scopes.read] };

function gateway(overrides: Partial<GatewayOptions> = {}, handler: Handler = (event) => Promise.resolve({ statusCode: 200, body: JSON.stringify(event) })) {
  const handlers = new Map(contract.operations.map((operation) => [operation.name, handler]));
  const logged: string[] = [];
  const handle = createGateway({
    routes: loadRoutes(),
    cors: CORS,
    handlers,
    ready: () => true,
    verify: (token) => (token === 'good' ? READ : { ok: false, reason: 'bad signature' }),
    timeoutMs: () => 1_000,
    region: 'eu-west-1',
    log: (_level, message) => logged.push(message),
    ...overrides,
  });
  return { handle, logged };
}

function request(overrides: Partial<GatewayRequest> = {}): GatewayRequest {
  return { method: 'GET', url: '/users?limit=5', headers: { authorization: 'Bearer good' }, body: Buffer.alloc(0), sourceIp: '127.0.0.1', requestId: 'r1', ...overrides };
}

// JSON.parse's any, as the gateway answered it: the assertions are the check of its shape.
const bodyOf = (answer: { response: { body: Buffer } }) => JSON.parse(answer.response.body.toString('utf8'));

describe('the local gateway', () => {
  it('invokes the matched route with a payload 2.0 event and answers with its result', async () => {
    const { handle } = gateway();
    const answer = await handle(request({ headers: { authorization: 'Bearer good', origin: 'http://localhost:5173' } }));
    assert.equal(answer.response.statusCode, 200);
    assert.equal(answer.routeKey, 'GET /users');
    const event = bodyOf(answer);
    assert.equal(event.routeKey, 'GET /users');
    assert.deepEqual(event.queryStringParameters, { limit: '5' });
    assert.deepEqual(event.requestContext.authorizer.jwt.scopes, ['users/read']);
    assert.equal(answer.response.headers['access-control-allow-origin'], 'http://localhost:5173');
    assert.equal(answer.response.headers['apigw-requestid'], 'r1');
    assert.equal(answer.response.headers['content-length'], String(answer.response.body.length));
  });

  it('passes a body that is not UTF-8 as base64, so the function sees its bytes', async () => {
    const { handle } = gateway();
    const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]);
    const binary = bodyOf(await handle(request({ body: bytes })));
    assert.equal(binary.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(binary.body, 'base64'), bytes);
    const text = bodyOf(await handle(request({ body: Buffer.from('{"a":"é"}') })));
    assert.equal(text.isBase64Encoded, false);
    assert.equal(text.body, '{"a":"é"}');
  });

  it('answers what API Gateway answers before the function runs', async () => {
    const { handle } = gateway();
    const cases: Array<[Partial<GatewayRequest>, number]> = [
      [{ url: '//[' }, 400],
      [{ url: 'users' }, 400],
      [{ url: '/nowhere' }, 404],
      [{ method: 'PATCH', url: '/users' }, 404],
      [{ headers: {} }, 401],
      [{ headers: { authorization: 'Bearer forged' } }, 401],
      [{ method: 'POST', url: '/users' }, 403],
      [{ body: undefined }, 413],
    ];
    for (const [overrides, status] of cases) {
      const answer = await handle(request(overrides));
      assert.equal(answer.response.statusCode, status, JSON.stringify(overrides));
    }
    const forbidden = await handle(request({ method: 'POST', url: '/users' }));
    assert.match(String(forbidden.response.headers['www-authenticate']), /insufficient_scope/);
  });

  it('answers preflights itself, with CORS headers only for allowed origins', async () => {
    const { handle } = gateway();
    const allowed = await handle(request({ method: 'OPTIONS', headers: { origin: 'http://localhost:5173' } }));
    assert.equal(allowed.response.statusCode, 204);
    assert.equal(allowed.response.headers['access-control-max-age'], '3600');
    const other = await handle(request({ method: 'OPTIONS', headers: { origin: 'https://evil.example' } }));
    assert.equal(other.response.headers['access-control-allow-origin'], undefined);
  });

  it('answers 500 when the function throws or outlives its timeout, and 503 until ready', async () => {
    const throwing = gateway({}, () => Promise.reject(new Error('boom')));
    assert.equal((await throwing.handle(request())).response.statusCode, 500);
    assert.deepEqual(throwing.logged, ['function error']);

    const slow = gateway({ timeoutMs: () => 20 }, () => new Promise(() => undefined));
    const answer = await slow.handle(request());
    assert.equal(answer.response.statusCode, 500);
    assert.deepEqual(bodyOf(answer), { message: 'Internal Server Error' });
    assert.deepEqual(slow.logged, ['function timed out']);

    const starting = gateway({ ready: () => false });
    assert.equal((await starting.handle(request())).response.statusCode, 503);
  });
});
