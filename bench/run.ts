// `make bench`: measured speed and size of what we ship, against budgets (docs/benchmarks.md).
//
//   1. synth    median wall time of `cdk synth '**' --quiet -o <tmp>` over 3 runs; `pytest -q` once
//   2. bundles  bytes of each function's deployed code, read from the last synth's assets
//               (index.mjs and index.mjs.map, mapped to functions through aws:asset:path), and
//               what fills them (esbuild metafile of an identical build, checked byte for byte)
//   3. cold     per function, medians over 15 fresh Node processes of importing the bundle
//               (load + init) and of its first invocation against DynamoDB Local; the floors are
//               `node -e 0` and a process loading only the SDK v3 clients the handler uses
//   4. warm     p50/p99 per operation: the bundled handler invoked in process vs the same
//               DynamoDB request on the same client (budget), and through the local server vs
//               that floor (HTTP + JWT + payload-v2 event, reported)
//   5. load     requests/s of a create/get mix at concurrency 8 through the local server
// Cold and in-process runs trace as deployed (active tracing, a sampled trace header per call):
// a UDP sink stands in for the X-Ray daemon and must receive a datagram per invocation and one per
// DynamoDB call it makes.
//
// Only 127.0.0.1 is used; DynamoDB Local and the local server are started on free ports and
// stopped here; every loop is bounded in count and time. Exit 1 when a budget is exceeded (or
// the datagrams fall short), 2 when the bench itself fails. Results: .bench/results.json.
//
//   BENCH_SKIP_SYNTH=1 reuses .bench/synth (and skips pytest): for iterating on the bench only.
//
// This file orchestrates and reports; each measurement is a module of its own (synth.ts,
// bundles.ts, cold.ts, warm.ts, local-server.ts, throughput.ts) over common.ts.

import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createTable, startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { findDevTemplate, FIXTURE_CDK_OUT } from '../harness/cdk-out.ts';
import { devConfiguration, localTableNames } from '../harness/deployed.ts';
import { contract, TABLE_ROLES } from '../lambda/src/contract.ts';
import { ROOT, OUT, COLD_RUNS, WARM_CALLS, WARM_WARMUP, killChildren, onInterrupt, round, step, machine } from './common.ts';
import { BUDGETS } from './budgets.ts';
import { buildFloor, bundles } from './bundles.ts';
import { useDeployedConfiguration } from './lambda-env.ts';
import { type PytestSummary, type SynthResult, synth, pytest } from './synth.ts';
import { coldStarts } from './cold.ts';
import { warmInProcess } from './warm.ts';
import { startLocalServer, agent, warmThroughServer } from './local-server.ts';
import { throughput } from './throughput.ts';

// ---- the run and its report --------------------------------------------------------------------
function table(headers: string[], rows: Array<Array<string | number>>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: Array<string | number>): string => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i] as number) : String(c).padStart(widths[i] as number))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  mkdirSync(OUT, { recursive: true });
  const machineInfo = machine();
  const results: Record<string, unknown> = { machine: machineInfo, budgets: BUDGETS };
  const started = performance.now();

  const synthResult =
    process.env.BENCH_SKIP_SYNTH === '1' && existsSync(path.join(OUT, 'synth'))
      ? ({ runsMs: [], medianMs: Number.NaN, minimalRunsMs: [], minimalMedianMs: Number.NaN, ratio: Number.NaN, outdir: path.join(OUT, 'synth') } as SynthResult)
      : await synth();
  results.synth = synthResult;
  const failures: string[] = [];
  if ('error' in synthResult && synthResult.error) failures.push(`synth: ${synthResult.error} (bundles measured from the identical local esbuild build)`);
  // Right after the synth, so that the byte-for-byte comparison sees the same sources.
  const { bundles: bundleList, devTemplate: synthesizedDevTemplate } = await bundles(synthResult.outdir);
  await buildFloor();
  const pytestResult = process.env.BENCH_SKIP_SYNTH === '1' ? { skipped: true } : await pytest();
  results.pytest = pytestResult;
  // Without a synth of our own, the local server finds cdk.out's dev template, or uses the fixture.
  const devTemplate =
    synthesizedDevTemplate ?? (existsSync(path.join(ROOT, 'cdk.out')) ? undefined : findDevTemplate(FIXTURE_CDK_OUT));
  useDeployedConfiguration(devConfiguration({ ...(devTemplate ? { USERS_TABLE_TEMPLATE: devTemplate } : {}) }));
  results.bundles = bundleList;

  // DynamoDB Local of our own for the cold starts and in-process calls, and a UDP sink standing in
  // for the X-Ray daemon (the handlers trace as deployed, with Tracing.ACTIVE).
  const xray = createSocket('udp4');
  let segments = 0;
  xray.on('message', () => {
    segments += 1;
  });
  await new Promise<void>((resolve) => {
    xray.bind(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const xrayPort = xray.address().port;
  step('starting DynamoDB Local');
  const dynamo = await startDynamoDbLocal();
  const stopDynamo = () => dynamo.stop();
  onInterrupt.push(stopDynamo);
  try {
    const tableName = 'users-service-bench';
    const names = localTableNames(tableName);
    for (const role of TABLE_ROLES) await createTable(dynamo.endpoint, names[role], contract.tables[role]);
    // The create function is measured twice: as most requests use it, and with an Idempotency-Key.
    const measured = [...bundleList, ...bundleList.filter((b) => b.operation === 'createUser').map((b) => ({ ...b, operation: 'createUserWithKey' }))];
    results.cold = await coldStarts(measured, dynamo.endpoint, tableName, xrayPort, () => segments);
    results.warmInProcess = await warmInProcess(measured, dynamo.endpoint, tableName, xrayPort, () => segments);
  } finally {
    await dynamo.stop();
    onInterrupt.splice(onInterrupt.indexOf(stopDynamo), 1);
    xray.close();
  }
  results.xraySegmentsReceived = segments;

  const server = await startLocalServer(devTemplate);
  try {
    results.warmThroughServer = await warmThroughServer(server);
    results.throughput = await throughput(server);
  } finally {
    agent.destroy();
    await server.stop();
  }
  const benchSeconds = round((performance.now() - started) / 1000, 1);
  results.benchSeconds = benchSeconds;

  // ---- budgets ----
  const cold = results.cold as Awaited<ReturnType<typeof coldStarts>>;
  const warm = results.warmInProcess as Awaited<ReturnType<typeof warmInProcess>>;
  const viaServer = results.warmThroughServer as Awaited<ReturnType<typeof warmThroughServer>>;
  const load = results.throughput as Awaited<ReturnType<typeof throughput>>;
  const checks: Array<{ budget: string; operation: string; value: number; limit: number; pass: boolean }> = [];
  const check = (budget: string, operation: string, value: number, limit: number, strict = false): void => {
    const pass = strict ? value < limit : value <= limit;
    checks.push({ budget, operation, value, limit, pass });
    if (!pass) failures.push(`${budget} ${operation}: ${value} > ${strict ? '' : '= '}limit ${round(limit, 1)}`.replace('> = ', '> '));
  };
  if (!Number.isNaN(synthResult.ratio)) check('synth ratio to the minimal app', 'app', synthResult.ratio, BUDGETS.synthRatio);
  for (const b of bundleList) check('bundle bytes', b.operation, b.bytes, BUDGETS.bundleBytes);
  for (const c of cold.functions) check('cold overhead ms', c.operation, c.overheadMs, BUDGETS.coldOverheadMs);
  const create = cold.functions.find((c) => c.operation === 'createUser');
  if (create) check('create cold total ms', 'createUser', create.handlerLoadMs, BUDGETS.createColdTotalMs, true);
  for (const w of warm) check('warm overhead p50 ms', w.operation, w.overheadP50Ms, BUDGETS.warmOverheadP50Ms);
  for (const [phase, runs] of [['cold', cold.functions], ['warm', warm]] as const) {
    for (const { operation, xray } of runs) {
      if (xray.received !== xray.expected) failures.push(`tracing ${phase} ${operation}: ${xray.received} X-Ray datagrams for ${xray.invocations} invocations (${xray.expected} expected)`);
    }
  }
  if (load.errors > 0) failures.push(`throughput: ${load.errors} errors (${load.firstErrors.join('; ')})`);
  results.checks = checks;
  results.failures = failures;
  writeFileSync(path.join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

  // ---- table ----
  const m = machineInfo;
  const pytestSummary: Partial<PytestSummary> = 'skipped' in pytestResult ? {} : pytestResult;
  const kb = (bytes: number): string => (bytes / 1024).toFixed(1);
  const mark = (pass: boolean): string => (pass ? 'ok' : 'OVER');
  const passOf = (budget: string, operation: string): boolean => checks.find((c) => c.budget === budget && c.operation === operation)?.pass ?? true;
  const out: string[] = [];
  out.push(`users-service bench — ${m.date} — ${m.nproc} x ${m.cpuModel} — Node ${m.node}`);
  out.push('');
  out.push(`synth  cdk synth '**' median ${synthResult.medianMs} ms (runs ${synthResult.runsMs.join(', ')}); minimal app median ${synthResult.minimalMedianMs} ms (runs ${synthResult.minimalRunsMs.join(', ')}); ratio ${synthResult.ratio} (budget <= ${BUDGETS.synthRatio})   pytest -q ${String(pytestSummary.wallMs ?? '-')} ms (exit ${String(pytestSummary.exitCode ?? '-')}: ${pytestSummary.summary ?? 'skipped'})`);
  out.push('');
  out.push(
    table(
      ['function', 'bundle KiB', 'map KiB', '', 'load+init ms', 'SDK floor ms', 'overhead ms', '', '1st invoke ms', 'SDK 1st call ms', 'warm p50', 'floor p50', 'ovh p50', '', 'warm p99', 'floor p99', 'http p50', 'http p99', 'http ovh p50'],
      [...bundleList, ...bundleList.filter((b) => b.operation === 'createUser').map((b) => ({ ...b, operation: 'createUserWithKey' }))].map((b) => {
        const c = cold.functions.find((x) => x.operation === b.operation);
        const w = warm.find((x) => x.operation === b.operation);
        const s = viaServer.find((x) => x.operation === b.operation);
        return [
          b.operation,
          kb(b.bytes),
          kb(b.mapBytes),
          mark(passOf('bundle bytes', b.operation)),
          c?.handlerLoadMs ?? '-',
          c?.sdkFloorLoadMs ?? '-',
          c?.overheadMs ?? '-',
          mark(passOf('cold overhead ms', b.operation) && passOf('create cold total ms', b.operation)),
          c?.handlerFirstInvokeMs ?? '-',
          c?.sdkFloorFirstCallMs ?? '-',
          w?.handler.p50 ?? '-',
          w?.floor.p50 ?? '-',
          w?.overheadP50Ms ?? '-',
          mark(passOf('warm overhead p50 ms', b.operation)),
          w?.handler.p99 ?? '-',
          w?.floor.p99 ?? '-',
          s?.server.p50 ?? '-',
          s?.server.p99 ?? '-',
          s?.overheadP50Ms ?? '-',
        ];
      }),
    ),
  );
  out.push('');
  out.push(`cold floor: node -e 0 ${cold.nodeFloorMs} ms wall; Node boot before the import ${cold.functions[0]?.nodeStartMs ?? '-'} ms; ${COLD_RUNS} processes each (medians)`);
  const traced = [...cold.functions, ...warm].reduce((sum, r) => ({ received: sum.received + r.xray.received, expected: sum.expected + r.xray.expected }), { received: 0, expected: 0 });
  out.push(`warm: ${WARM_CALLS} calls each after ${WARM_WARMUP} warm-up; in process = bundled handler; http = local server, HTTP + JWT, tracing off`);
  out.push(`tracing: cold and in-process runs traced as deployed, X-Ray datagrams received ${traced.received} of ${traced.expected} expected (one per invocation and per DynamoDB call)`);
  out.push(`throughput: ${load.requestsPerSecond} req/s, ${load.requests} requests in ${load.seconds} s, concurrency ${load.concurrency}, errors ${load.errors}`);
  out.push(`bundles identical to a local esbuild build with lambda/bundling.json: ${bundleList.every((b) => b.identicalToLocalBuild === null) ? 'n/a (no synth)' : bundleList.every((b) => b.identicalToLocalBuild) ? 'yes' : 'NO (options drifted?)'}`);
  out.push(`largest inputs (${bundleList[0]?.operation ?? '-'}): ${(bundleList[0]?.topInputs ?? []).map((t) => `${t.package} ${kb(t.bytes)}`).join(', ')}`);
  out.push('');
  out.push(`budgets: bundle <= ${kb(BUDGETS.bundleBytes)} KiB; cold overhead <= ${BUDGETS.coldOverheadMs} ms; create load+init < ${BUDGETS.createColdTotalMs} ms; warm overhead p50 <= ${BUDGETS.warmOverheadP50Ms} ms; synth <= ${BUDGETS.synthRatio} x the minimal app`);
  out.push(failures.length === 0 ? 'all budgets met' : `BUDGETS EXCEEDED (${failures.length}):\n  ${failures.join('\n  ')}`);
  out.push(`(${benchSeconds} s; .bench/results.json)`);
  process.stdout.write(`${out.join('\n')}\n`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    killChildren();
    await Promise.allSettled(onInterrupt.map((stop) => stop()));
    process.exitCode = 2;
  },
);
