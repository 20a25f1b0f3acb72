// Warm latency in process, one function per process as in Lambda (each bundle carries its own
// Powertools instances and X-Ray async context, which would also weigh on the other functions):
//   node bench/warm-child.mjs handler <bundle index.mjs> <operation> <calls> <warmup>
//   node bench/warm-child.mjs floor   <the floor bundle or another module exporting `floor`> <operation> <calls> <warmup>
// Each call is timed on its own, sequentially, after `warmup` untimed calls; the users that get,
// update and delete need are created beforehand with the floor (BENCH_FLOOR_MODULE), outside the timing.
// Reports {samplesMs, statuses} as one JSON line on file descriptor 3.
import { writeSync } from 'node:fs';
import { apiEvent, exitAfterQueuedSends, floorOperation, handlerOf, importBundle, lambdaContext, requestFor, traceHeader } from './events.mjs';

const [mode, modulePath, operation, callsText, warmupText] = process.argv.slice(2);
if (operation === undefined) throw new Error('usage: warm-child.mjs handler|floor <module> <operation> <calls> <warmup>');
const calls = Number(callsText);
const warmup = Number(warmupText);
const createUser = floorOperation(await importBundle(process.env.BENCH_FLOOR_MODULE), 'createUser');
const imported = await importBundle(modulePath);
const handler = mode === 'handler' ? handlerOf(imported) : undefined;
// The floor under test (the floor bundle, the same instance as `floor`, or another client's).
const direct = mode === 'handler' ? undefined : floorOperation(imported, operation);
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
const deadline = Date.now() + Number(process.env.BENCH_TIME_LIMIT_MS ?? 60_000);

/** @param {unknown} id */
const asUserId = (id) => {
  if (typeof id !== 'string') throw new Error('the floor created no user id');
  return id;
};
const shared = operation === 'getUser' || operation === 'updateUser' || operation === 'patchUser' ? asUserId(await createUser()) : undefined;
/** @type {number[]} */
const samplesMs = [];
/** @type {Record<string, number>} */
const statuses = {};
for (let i = 0; i < warmup + calls && Date.now() < deadline; i++) {
  const userId = operation === 'deleteUser' ? asUserId(await createUser()) : shared;
  let elapsed;
  if (handler) {
    const event = apiEvent(operation, requestFor(operation, userId));
    const context = lambdaContext(functionName);
    process.env._X_AMZN_TRACE_ID = traceHeader();
    const started = performance.now();
    const response = await handler(event, context);
    elapsed = performance.now() - started;
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
  } else {
    if (!direct) throw new Error('no floor operation to measure');
    const started = performance.now();
    await direct(userId);
    elapsed = performance.now() - started;
    statuses.ok = (statuses.ok ?? 0) + 1;
  }
  if (i >= warmup) samplesMs.push(elapsed);
}
writeSync(3, `${JSON.stringify({ samplesMs, statuses })}\n`);
await exitAfterQueuedSends();
