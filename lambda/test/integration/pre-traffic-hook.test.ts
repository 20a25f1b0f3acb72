/**
 * The pre-traffic hook's verdicts: each operation's probe (lambda/service-contract.json), sent to
 * the real handler against DynamoDB Local as the hook sends it to a new version, is answered as
 * the probe expects, so a healthy version passes; a version that answers otherwise, throws, or
 * cannot be invoked fails, and CodeDeploy hears back in every case.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Probe } from '../../src/contract.ts';
import { probeEvent, runHook, type HookStatus, type LifecycleEvent } from '../../src/hooks/pre-traffic.ts';
import { lambdaContext } from '../support/events.ts';
import { contract, startTestEnvironment, type Handlers, type TestEnvironment } from '../support/environment.ts';

let env: TestEnvironment;
// What before() got to start: after() runs even when before() failed, and stops only that.
let started: TestEnvironment | undefined;
before(async () => {
  env = started = await startTestEnvironment();
});
after(async () => {
  await started?.stop();
});

const lifecycle: LifecycleEvent = { DeploymentId: 'd-EXAMPLE', LifecycleEventHookExecutionId: 'hook-execution' };

function firstProbe(): Probe {
  const [first] = contract.operations;
  if (!first) throw new Error('the contract declares no operation');
  return first.probe;
}

async function verdict(invoke: Parameters<typeof runHook>[3]['invoke'], probe = firstProbe()): Promise<{ status: HookStatus; reported: HookStatus[] }> {
  const reported: HookStatus[] = [];
  const status = await runHook(lifecycle, probe, 'users/read', {
    invoke,
    report(event, hookStatus) {
      assert.deepEqual(event, lifecycle);
      reported.push(hookStatus);
      return Promise.resolve();
    },
    log: () => undefined,
  });
  return { status, reported };
}

describe('the pre-traffic hook', () => {
  for (const operation of contract.operations) {
    it(`passes a healthy ${operation.name}: its probe ${operation.probe.method} ${operation.probe.path} answers ${operation.probe.expectedStatus}`, async () => {
      const handler = env.handlers[operation.name as keyof Handlers];
      const before = (await env.scanAll()).length;
      const result = await verdict(async (event) => ({ payload: await handler(event, lambdaContext()) }), operation.probe);
      assert.deepEqual(result, { status: 'Succeeded', reported: ['Succeeded'] });
      assert.equal((await env.scanAll()).length, before, 'a probe writes nothing');
    });
  }

  it('carries the operation scope in the claims and the route key the handler serves', () => {
    const getUser = contract.operations.find((operation) => operation.name === 'getUser');
    if (!getUser) throw new Error('getUser is not in the contract');
    const { probe } = getUser;
    const event = probeEvent(probe, 'users/read');
    assert.equal(event.routeKey, 'GET /users/{userId}');
    const userId = probe.pathParameters?.userId;
    assert.ok(userId, 'the getUser probe names a user');
    assert.equal(event.rawPath, `/users/${userId}`);
    assert.deepEqual(event.requestContext.authorizer.jwt.scopes, ['users/read']);
  });

  it('fails a version that answers with another status, throws, or cannot be invoked; reports every time', async () => {
    assert.deepEqual(await verdict(() => Promise.resolve({ payload: { statusCode: 503 } })), { status: 'Failed', reported: ['Failed'] });
    assert.deepEqual(await verdict(() => Promise.resolve({ payload: { errorMessage: 'boom' }, functionError: 'Unhandled' })), { status: 'Failed', reported: ['Failed'] });
    assert.deepEqual(await verdict(() => Promise.reject(new Error('AccessDeniedException'))), { status: 'Failed', reported: ['Failed'] });
  });
});
