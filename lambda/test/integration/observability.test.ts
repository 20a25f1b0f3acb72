import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { captureOutput, type LogRecord } from '../support/capture.ts';
import { apiEvent } from '../support/events.ts';
import { invoke, startTestEnvironment, type TestEnvironment } from '../support/environment.ts';

let env: TestEnvironment;
// What before() got to start: after() runs even when before() failed, and stops only that.
let started: TestEnvironment | undefined;
let observability: typeof import('../../src/lib/observability.ts');
let http: typeof import('../../src/lib/http.ts');

before(async () => {
  env = started = await startTestEnvironment({ metrics: true });
  observability = await import('../../src/lib/observability.ts');
  http = await import('../../src/lib/http.ts');
  observability.logger.setLogLevel('INFO');
});
after(async () => {
  await started?.stop();
});

const EMAIL = 'Zebedee.Quux+Private@Example.ORG';
const NAME = 'Zebedee Quux';
const PHONE = '+15555550123';

function assertNoPersonalData(text: string): void {
  for (const secret of [EMAIL, EMAIL.toLowerCase(), 'zebedee.quux', NAME, PHONE]) {
    assert.equal(text.toLowerCase().includes(secret.toLowerCase()), false, `logs contain ${secret}`);
  }
}

function metricFor(records: LogRecord[], operation: string, outcome: string): LogRecord | undefined {
  return records.find((r) => r._aws && r.UserOperation === 1 && r.Operation === operation && r.Outcome === outcome);
}

describe('logs and metrics', () => {
  it('logs each request without the e-mail, name or phone number and emits a UserOperation metric', async () => {
    const { result: reply, text, records } = await captureOutput(() =>
      invoke(env.handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: { email: EMAIL, name: NAME, phoneNumber: PHONE } })),
    );
    assert.equal(reply.status, 201);
    assertNoPersonalData(text);

    const line = records.find((r) => r.message === 'request completed');
    assert.ok(line, `no request log in: ${text}`);
    assert.equal(line.level, 'INFO');
    assert.equal(line.service, 'users-service');
    assert.equal(line.operation, 'createUser');
    assert.equal(line.statusCode, 201);
    assert.equal(line.outcome, 'Success');
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(line.function_name, 'users-service-test');

    const metric = metricFor(records, 'createUser', 'Success');
    assert.ok(metric, `no metric in: ${text}`);
    assert.equal(metric._aws.CloudWatchMetrics[0].Namespace, 'UsersService');
    assert.deepEqual(metric._aws.CloudWatchMetrics[0].Dimensions, [['service', 'Operation', 'Outcome']]);

    const userId: string = reply.body.userId;
    const more = await captureOutput(async () => {
      await invoke(env.handlers.getUser, apiEvent({ method: 'GET', path: '/users/{userId}', pathParameters: { userId } }));
      await invoke(
        env.handlers.updateUser,
        apiEvent({ method: 'PUT', path: '/users/{userId}', pathParameters: { userId }, body: { email: EMAIL, name: NAME, status: 'active' } }),
      );
      await invoke(env.handlers.listUsers, apiEvent({ method: 'GET', path: '/users' }));
    });
    assertNoPersonalData(more.text);
    assert.ok(more.records.some((r) => r.message === 'request completed' && r.operation === 'getUser' && r.userId === userId));
    assert.ok(metricFor(more.records, 'updateUser', 'Success'));
    assert.ok(metricFor(more.records, 'listUsers', 'Success'));
  });

  it('does not log rejected input, and counts it as ValidationFailed', async () => {
    const { result: reply, text, records } = await captureOutput(() =>
      invoke(
        env.handlers.createUser,
        apiEvent({ method: 'POST', path: '/users', body: { email: EMAIL, name: NAME, [EMAIL]: 'x' } }),
      ),
    );
    assert.equal(reply.status, 400);
    assertNoPersonalData(text);
    assert.ok(metricFor(records, 'createUser', 'ValidationFailed'), text);
    assert.ok(records.some((r) => r.message === 'request completed' && r.statusCode === 400));
  });

  it('answers an unexpected error with a 500 InternalError body and logs it with e-mail addresses redacted', async () => {
    const failing = http.apiHandler('getUser', () => Promise.reject(new Error(`cannot handle ${EMAIL}`)));
    const event = apiEvent({ method: 'GET', path: '/users/{userId}', pathParameters: { userId: 'x' } });
    const { result: reply, text, records } = await captureOutput(() => invoke(failing, event));
    assert.equal(reply.status, 500);
    assert.deepEqual(reply.body, { error: { code: 'InternalError', message: 'an unexpected error occurred' } });
    assert.equal(reply.headers['Content-Type'], 'application/json');
    assertNoPersonalData(text);
    const error = records.find((r) => r.message === 'unexpected error');
    assert.ok(error, text);
    assert.equal(error.level, 'ERROR');
    assert.match(error.error.message, /cannot handle \[redacted\]/);
    assert.ok(metricFor(records, 'getUser', 'InternalError'));
  });

  it('counts unknown routes as NotFound', async () => {
    const { result: reply, records } = await captureOutput(() =>
      invoke(env.handlers.deleteUser, apiEvent({ method: 'GET', path: '/admin', routeKey: 'GET /admin' })),
    );
    assert.equal(reply.status, 404);
    assert.ok(metricFor(records, 'deleteUser', 'NotFound'));
  });

  it('never throws when there are no metrics to publish', async () => {
    const { records } = await captureOutput(() => {
      observability.metrics.publishStoredMetrics();
      observability.recordRequestMetric('fn', 'getUser', 'Success');
      observability.metrics.publishStoredMetrics();
      return Promise.resolve();
    });
    assert.equal(records.filter((r) => r._aws && r.UserOperation === 1).length, 1);
  });
});
