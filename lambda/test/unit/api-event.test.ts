import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGatewayEvent, lambdaContext, queryStringParameters, requestTime, routeEvent } from '../../../harness/api-event.mjs';

describe('the payload 2.0 builder', () => {
  it('fills the raw path from the route template, encoding the parameters', () => {
    const event = routeEvent({ method: 'GET', path: '/users/{userId}', pathParameters: { userId: 'a b/c' } });
    assert.equal(event.rawPath, '/users/a%20b%2Fc');
    assert.equal(event.routeKey, 'GET /users/{userId}');
    assert.deepEqual(event.pathParameters, { userId: 'a b/c' });
    assert.equal(event.requestContext.http.path, '/users/a%20b%2Fc');
  });

  it('joins repeated query parameters with commas, as API Gateway does', () => {
    assert.deepEqual(queryStringParameters('limit=5&tag=a&tag=b'), { limit: '5', tag: 'a,b' });
    assert.equal(queryStringParameters(''), undefined);
    const event = apiGatewayEvent({ method: 'GET', routeKey: 'GET /users', rawPath: '/users', rawQueryString: 'limit=5' });
    assert.deepEqual(event.queryStringParameters, { limit: '5' });
    assert.equal('pathParameters' in event, false);
  });

  it('encodes a JSON body with its headers, or sends it base64-encoded', () => {
    const plain = routeEvent({ method: 'POST', path: '/users', body: { name: 'É' }, headers: { 'If-Match': '"1"' } });
    assert.equal(plain.body, '{"name":"É"}');
    assert.equal(plain.headers['content-length'], String(Buffer.byteLength('{"name":"É"}')));
    assert.equal(plain.headers['if-match'], '"1"');
    assert.equal(plain.isBase64Encoded, false);
    const binary = routeEvent({ method: 'POST', path: '/users', body: 'x', base64: true });
    assert.equal(binary.body, Buffer.from('x').toString('base64'));
    assert.equal(binary.isBase64Encoded, true);
  });

  it('carries the authorizer claims and scopes, and the request time in API Gateway format', () => {
    const now = new Date(Date.UTC(2020, 2, 12, 19, 3, 58));
    const event = apiGatewayEvent({ method: 'GET', routeKey: 'GET /users', rawPath: '/users', scopes: ['users/read'], now });
    assert.deepEqual(event.requestContext.authorizer.jwt, { claims: { scope: 'users/read' }, scopes: ['users/read'] });
    assert.equal(event.requestContext.time, '12/Mar/2020:19:03:58 +0000');
    assert.equal(requestTime(now), '12/Mar/2020:19:03:58 +0000');
    assert.equal(event.requestContext.timeEpoch, now.getTime());
  });

  it('gives a context whose remaining time counts down from the timeout', () => {
    const context = lambdaContext({ functionName: 'f', timeoutMs: 1_000, memoryMb: 512 });
    assert.ok(context.getRemainingTimeInMillis() <= 1_000 && context.getRemainingTimeInMillis() > 900);
    assert.equal(context.memoryLimitInMB, '512');
    assert.match(context.invokedFunctionArn, /^arn:aws:lambda:eu-west-1:\d{12}:function:f$/);
  });
});
