// One cold start in a fresh process, as the Lambda Node.js runtime does it: import the module
// (load + module-scope initialisation), then invoke once against DynamoDB Local.
//   node bench/cold-child.mjs handler <bundle index.mjs> <operation> [userId]
//   node bench/cold-child.mjs floor   <.bench/floor/index.mjs> <operation> [userId]
// Reports one JSON line on file descriptor 3 (stdout carries the handler's own log lines):
//   startMs   process start -> before the import (Node's own boot, measured by Node)
//   loadMs    the import: module load + initialisation
//   invokeMs  the first invocation, including its DynamoDB round trip
import { writeSync } from 'node:fs';
import { apiEvent, exitAfterQueuedSends, floorOperation, handlerOf, importBundle, lambdaContext, requestFor, traceHeader } from './events.mjs';

const [mode, modulePath, operation, userId] = process.argv.slice(2);
if (operation === undefined) throw new Error('usage: cold-child.mjs handler|floor <module> <operation> [userId]');
const startMs = performance.now();
const module = await importBundle(modulePath);
const loadMs = performance.now() - startMs;

process.env._X_AMZN_TRACE_ID = traceHeader();
const invokeStarted = performance.now();
let status;
if (mode === 'handler') {
  const response = await handlerOf(module)(apiEvent(operation, requestFor(operation, userId)), lambdaContext(process.env.AWS_LAMBDA_FUNCTION_NAME));
  status = response.statusCode;
} else {
  await floorOperation(module, operation)(userId);
  status = 0;
}
const invokeMs = performance.now() - invokeStarted;
writeSync(3, `${JSON.stringify({ startMs, loadMs, invokeMs, status })}\n`);
await exitAfterQueuedSends();
