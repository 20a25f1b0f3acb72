// 4a. Warm latency in process: the bundled handler against the SDK floor.
import path from 'node:path';
import { ROOT, NODE, WARM_CALLS, WARM_WARMUP, WARM_TIME_LIMIT_MS, run, quantile, round, step } from './common.ts';
import { FLOOR_BUNDLE, type Bundle } from './bundles.ts';
import { lambdaEnvironment } from './lambda-env.ts';
import { xrayCount } from './cold.ts';

// ---- 4a. warm latency in process ---------------------------------------------------------------
export async function warmChild(env: NodeJS.ProcessEnv, args: string[]): Promise<{ samplesMs: number[]; statuses: Record<string, number> }> {
  const result = await run(NODE, [path.join(ROOT, 'bench', 'warm-child.mjs'), ...args, String(WARM_CALLS), String(WARM_WARMUP)], {
    env: { ...env, BENCH_TIME_LIMIT_MS: String(WARM_TIME_LIMIT_MS), BENCH_FLOOR_MODULE: FLOOR_BUNDLE },
    keep: false,
    timeoutMs: WARM_TIME_LIMIT_MS + 30_000,
  });
  if (result.code !== 0 || !result.fd3) throw new Error(`warm ${args.join(' ')} failed (exit ${String(result.code)}):\n${result.stderr.slice(-3000)}`);
  return JSON.parse(result.fd3) as { samplesMs: number[]; statuses: Record<string, number> };
}

export function latency(samples: number[]): { n: number; p50: number; p99: number } {
  return { n: samples.length, p50: round(quantile(samples, 0.5), 3), p99: round(quantile(samples, 0.99), 3) };
}

export async function warmInProcess(bundleList: Bundle[], endpoint: string, tableName: string, xrayPort: number, datagrams: () => number) {
  step(`warm latency in process (${WARM_CALLS} calls per function and floor)`);
  const floorModule = FLOOR_BUNDLE;
  const result = [];
  for (const bundle of bundleList) {
    const taskRoot = path.join(ROOT, bundle.assetDir);
    const env = lambdaEnvironment(bundle.operation, taskRoot, endpoint, tableName, xrayPort);
    const before = datagrams();
    const handler = await warmChild(env, ['handler', path.join(taskRoot, 'index.mjs'), bundle.operation]);
    const xray = await xrayCount(datagrams, before, Object.values(handler.statuses).reduce((sum, count) => sum + count, 0), bundle.operation);
    const floor = await warmChild(env, ['floor', floorModule, bundle.operation]);
    const errors = Object.entries(handler.statuses).filter(([status]) => Number(status) >= 400);
    if (errors.length > 0) throw new Error(`${bundle.operation} in process answered ${JSON.stringify(handler.statuses)}`);
    const h = latency(handler.samplesMs);
    const f = latency(floor.samplesMs);
    result.push({ operation: bundle.operation, handler: h, floor: f, overheadP50Ms: round(h.p50 - f.p50, 3), overheadP99Ms: round(h.p99 - f.p99, 3), xray });
  }
  return result;
}
