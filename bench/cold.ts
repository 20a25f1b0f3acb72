// 3. Cold starts: fresh processes importing each bundle, then one invocation.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, NODE, COLD_RUNS, run, median, round, step } from './common.ts';
import { FLOOR_BUNDLE, type Bundle } from './bundles.ts';
import { localTableNames, tableEnvironmentOf } from '../harness/deployed.ts';
import { lambdaEnvironment } from './lambda-env.ts';

// ---- 3. cold starts ----------------------------------------------------------------------------
export interface ColdSample {
  startMs: number;
  loadMs: number;
  invokeMs: number;
  status: number;
}

export async function coldChild(env: NodeJS.ProcessEnv, args: string[]): Promise<ColdSample & { wallMs: number }> {
  const result = await run(NODE, [path.join(ROOT, 'bench', 'cold-child.mjs'), ...args], { env, keep: false, timeoutMs: 30_000 });
  if (result.code !== 0 || !result.fd3) throw new Error(`cold start ${args.join(' ')} failed (exit ${String(result.code)}):\n${result.stderr.slice(-3000)}`);
  return { ...(JSON.parse(result.fd3) as ColdSample), wallMs: result.wallMs };
}

export async function seedUsers(endpoint: string, tableName: string, count: number): Promise<string[]> {
  const env = { ...process.env, DYNAMODB_ENDPOINT: endpoint, ...tableEnvironmentOf(localTableNames(tableName)), AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
  const script = `const { floor } = await import(${JSON.stringify(FLOOR_BUNDLE)});
    const ids = []; for (let i = 0; i < ${count}; i++) ids.push(await floor.createUser());
    (await import('node:fs')).writeSync(3, JSON.stringify(ids)); process.exit(0);`;
  const result = await run(NODE, ['--input-type=module', '-e', script], { env, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`seeding users failed:\n${result.stderr}`);
  return JSON.parse(result.fd3) as string[];
}

/** The DynamoDB requests one successful invocation sends (users-repository.ts): a write reads first. */
export const DYNAMODB_CALLS: Record<string, number> = { createUser: 1, createUserWithKey: 3, listUsers: 1, getUser: 1, updateUser: 2, patchUser: 2, deleteUser: 2 };

/** The X-Ray datagrams one successful invocation sends: `## <operation>` and one per DynamoDB call. */
export function datagramsPerInvocation(operation: string): number {
  const calls = DYNAMODB_CALLS[operation];
  if (calls === undefined) throw new Error(`no DynamoDB call count for ${operation}`);
  return 1 + calls;
}

export interface XrayCount {
  invocations: number;
  expected: number;
  received: number;
}

/**
 * The datagrams the sink got since `before` for `invocations` handler invocations (waiting up to
 * 2 s for stragglers): the handlers are measured with tracing on, as deployed, or not at all.
 */
export async function xrayCount(datagrams: () => number, before: number, invocations: number, operation: string): Promise<XrayCount> {
  const expected = invocations * datagramsPerInvocation(operation);
  const deadline = Date.now() + 2_000;
  while (datagrams() - before < expected && Date.now() < deadline) await sleep(10);
  return { invocations, expected, received: datagrams() - before };
}

export async function coldStarts(bundleList: Bundle[], endpoint: string, tableName: string, xrayPort: number, datagrams: () => number) {
  step(`cold starts (${COLD_RUNS} fresh processes per function and floor)`);
  const nodeFloor: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) nodeFloor.push((await run(NODE, ['-e', '0'], { timeoutMs: 10_000 })).wallMs);
  const users = await seedUsers(endpoint, tableName, COLD_RUNS * 2 + 2);
  const floorModule = FLOOR_BUNDLE;
  const perFunction = [];
  for (const bundle of bundleList) {
    const taskRoot = path.join(ROOT, bundle.assetDir);
    const env = lambdaEnvironment(bundle.operation, taskRoot, endpoint, tableName, xrayPort);
    const handler: Array<ColdSample & { wallMs: number }> = [];
    const floor: Array<ColdSample & { wallMs: number }> = [];
    const before = datagrams();
    for (let i = 0; i < COLD_RUNS; i++) {
      // Alternate handler and floor so that drift on a shared machine hits both alike; deletes
      // take a user of their own each time.
      const userFor = (k: number): string => (bundle.operation === 'deleteUser' ? (users[2 * i + k] as string) : (users[users.length - 1] as string));
      handler.push(await coldChild(env, ['handler', path.join(taskRoot, 'index.mjs'), bundle.operation, userFor(0)]));
      floor.push(await coldChild(env, ['floor', floorModule, bundle.operation, userFor(1)]));
    }
    const xray = await xrayCount(datagrams, before, handler.length, bundle.operation);
    const bad = handler.filter((s) => s.status >= 400);
    if (bad.length > 0) throw new Error(`${bundle.operation}: first invocations answered ${bad.map((s) => s.status).join(', ')}`);
    const handlerLoad = median(handler.map((s) => s.loadMs));
    const floorLoad = median(floor.map((s) => s.loadMs));
    perFunction.push({
      operation: bundle.operation,
      handlerLoadMs: round(handlerLoad),
      sdkFloorLoadMs: round(floorLoad),
      overheadMs: round(handlerLoad - floorLoad),
      handlerFirstInvokeMs: round(median(handler.map((s) => s.invokeMs))),
      sdkFloorFirstCallMs: round(median(floor.map((s) => s.invokeMs))),
      nodeStartMs: round(median(handler.map((s) => s.startMs))),
      processWallMs: round(median(handler.map((s) => s.wallMs))),
      samples: { handlerLoadMs: handler.map((s) => round(s.loadMs)), sdkFloorLoadMs: floor.map((s) => round(s.loadMs)) },
      xray,
    });
  }
  return { runs: COLD_RUNS, nodeFloorMs: round(median(nodeFloor)), functions: perFunction };
}
