/**
 * X-Ray subsegments for the handlers, without aws-xray-sdk-core.
 *
 * Why not Powertools Tracer: it bundles aws-xray-sdk-core with semver and cls-hooked, which the
 * Lambda runtime does not provide, so every function carried them. `make bench` measured ~118 KiB
 * of each ~164 KiB bundle (budget 150 KiB) and ~20 ms of each cold start's load (22.6 ms over the
 * SDK floor, budget 25 ms). With this module instead: 44-47 KiB and 2-4 ms (docs/benchmarks.md).
 *
 * What it records: Lambda's active tracing already writes the function's segment. Under it, each
 * sampled invocation gets a `## <operation>` subsegment (annotations ColdStart, Service, operation;
 * the cause of an unexpected error) and, below that, one `aws` subsegment per DynamoDB call
 * (operation, table, region, request id, retries, HTTP status, throttle/error/fault and cause),
 * like Powertools' captureAWSv3Client. Each closed subsegment is one UDP datagram to the daemon
 * Lambda runs (AWS_XRAY_DAEMON_ADDRESS), in the daemon's JSON format.
 *
 * Tracing must never cost a request: nothing is sent when tracing is off or the invocation is not
 * sampled, send errors are swallowed, and the socket never keeps the process alive.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { getStringFromEnv, getXrayTraceDataFromEnv, isRunningInLambda } from '@aws-lambda-powertools/commons/utils/env';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { redact, serviceName } from './observability.ts';

type Annotation = string | number | boolean;

interface Cause {
  exceptions: Array<{ id: string; type: string; message: string; remote?: true }>;
}

/** The fields of an X-Ray subsegment document that we fill. */
interface SubsegmentDocument {
  type: 'subsegment';
  id: string;
  trace_id: string;
  parent_id: string;
  name: string;
  start_time: number;
  end_time?: number;
  namespace?: 'aws';
  annotations?: Record<string, Annotation>;
  aws?: { operation: string; table_name?: string; table_names?: string[]; region?: string; request_id?: string; retries?: number };
  http?: { response: { status: number } };
  error?: true;
  throttle?: true;
  fault?: true;
  cause?: Cause;
}

const DAEMON_HEADER = '{"format":"json","version":1}\n';
// aws-xray-sdk-core's default, for a process that has no daemon address.
const DEFAULT_DAEMON_ADDRESS = '127.0.0.1:2000';

const newId = (): string => randomBytes(8).toString('hex');
const epochSeconds = (): number => Date.now() / 1000;

/**
 * The UDP address in AWS_XRAY_DAEMON_ADDRESS: either "host:port" or, when TCP and UDP differ,
 * "tcp:host:port udp:host:port" (in either order). undefined when there is no usable UDP address.
 */
export function parseDaemonAddress(value: string): { host: string; port: number } | undefined {
  const parts = value.trim().split(/\s+/);
  const plain = parts.length === 1 && !/^(tcp|udp):/.test(parts[0] ?? '') ? parts[0] : undefined;
  const udp = plain ?? parts.find((part) => part.startsWith('udp:'))?.slice('udp:'.length);
  const separator = udp?.lastIndexOf(':') ?? -1;
  if (!udp || separator <= 0) return undefined;
  const port = Number(udp.slice(separator + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host: udp.slice(0, separator), port };
}

let socket: Socket | undefined;

function send(document: SubsegmentDocument): void {
  try {
    const address = parseDaemonAddress(getStringFromEnv({ key: 'AWS_XRAY_DAEMON_ADDRESS', defaultValue: DEFAULT_DAEMON_ADDRESS }));
    if (!address) return;
    if (!socket) {
      // unref: a pending datagram must not hold the event loop open after the response. Errors
      // (e.g. an unresolvable host) only lose the datagram; without a listener they would crash.
      socket = createSocket('udp4').unref();
      socket.on('error', () => undefined);
    }
    socket.send(DAEMON_HEADER + JSON.stringify(document), address.port, address.host, () => undefined);
  } catch {
    // A trace is never worth a failed request.
  }
}

function causeOf(type: string, message: string, remote: boolean): Cause {
  return { exceptions: [{ id: newId(), type, message: redact(message), ...(remote ? { remote: true as const } : {}) }] };
}

/** The `## <operation>` subsegment, as the handler wrapper sees it. */
export interface OperationSubsegment {
  /** Marks the subsegment as failed (fault) by an unexpected error, with its type and message. */
  addError(type: string, message: string): void;
}

// The operation subsegment of the invocation in progress: the DynamoDB middleware's parent.
const current = new AsyncLocalStorage<SubsegmentDocument>();
// Powertools' cold-start rule: only the first invocation of an on-demand environment is cold
// (provisioned concurrency initialises before any request arrives).
let coldStart = getStringFromEnv({ key: 'AWS_LAMBDA_INITIALIZATION_TYPE', defaultValue: '' }) === 'on-demand';

/** Trace id and parent (the function segment) of a sampled invocation while tracing is on. */
function sampledInvocation(): { traceId: string; parentId: string } | undefined {
  if (getStringFromEnv({ key: 'POWERTOOLS_TRACE_ENABLED', defaultValue: '' }).toLowerCase() === 'false') return undefined;
  if (!isRunningInLambda()) return undefined;
  // The runtime's per-invocation trace header (InvokeStore, then _X_AMZN_TRACE_ID).
  const trace = getXrayTraceDataFromEnv();
  if (trace?.Sampled !== '1' || !trace.Root || !trace.Parent) return undefined;
  return { traceId: trace.Root, parentId: trace.Parent };
}

/** Runs `body` inside the invocation's `## <operation>` subsegment (none when not sampled). */
export async function traceOperation<T>(operation: string, body: (subsegment: OperationSubsegment | undefined) => Promise<T>): Promise<T> {
  // Taken on every invocation, sampled or not, so that only the very first one counts as cold.
  const isColdStart = coldStart;
  coldStart = false;
  const invocation = sampledInvocation();
  if (!invocation) return body(undefined);
  const document: SubsegmentDocument = {
    type: 'subsegment',
    id: newId(),
    trace_id: invocation.traceId,
    parent_id: invocation.parentId,
    name: `## ${operation}`,
    start_time: epochSeconds(),
    annotations: { ColdStart: isColdStart, Service: serviceName, operation },
  };
  const subsegment: OperationSubsegment = {
    addError(type, message) {
      document.fault = true;
      document.cause = causeOf(type, message, false);
    },
  };
  try {
    return await current.run(document, () => body(subsegment));
  } finally {
    document.end_time = epochSeconds();
    send(document);
  }
}

interface SdkError {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
}

const THROTTLING = /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded/;

/** Adds one `aws` subsegment per call (all attempts included) under the operation subsegment. */
export function instrumentClient(client: DynamoDBClient): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const parent = current.getStore();
      if (!parent) return next(args);
      const input = args.input as { TableName?: unknown; TransactItems?: Array<Record<string, { TableName?: unknown } | undefined>> };
      // A transaction names its tables per item: X-Ray's table_names, as for batch operations.
      const tableNames = [
        ...new Set((input.TransactItems ?? []).flatMap((item) => Object.values(item).map((action) => action?.TableName))),
      ].filter((name): name is string => typeof name === 'string');
      const aws: NonNullable<SubsegmentDocument['aws']> = {
        operation: (context.commandName ?? 'unknown').replace(/Command$/, ''),
        ...(typeof input.TableName === 'string' ? { table_name: input.TableName } : {}),
        ...(tableNames.length > 0 ? { table_names: tableNames } : {}),
      };
      const region = await client.config.region().catch(() => undefined);
      if (region) aws.region = region;
      const document: SubsegmentDocument = {
        type: 'subsegment',
        id: newId(),
        trace_id: parent.trace_id,
        parent_id: parent.id,
        name: (context.clientName ?? 'DynamoDB').replace(/Client$/, ''),
        start_time: epochSeconds(),
        namespace: 'aws',
        aws,
      };
      // What the call reports about itself, whether it succeeds or fails.
      let metadata: SdkError['$metadata'];
      try {
        const result = await next(args);
        metadata = result.output.$metadata;
        return result;
      } catch (error) {
        const failure = (error ?? {}) as SdkError;
        metadata = failure.$metadata;
        const status = metadata?.httpStatusCode;
        const type = typeof failure.name === 'string' ? failure.name : 'Error';
        // X-Ray's classes: 4xx is a client error (429 and DynamoDB's 400 throttling exceptions
        // also throttle); 5xx and no response at all (network, timeout) are faults.
        if (status !== undefined && status >= 400 && status < 500) {
          document.error = true;
          if (status === 429 || THROTTLING.test(type)) document.throttle = true;
        } else document.fault = true;
        document.cause = causeOf(type, typeof failure.message === 'string' ? failure.message : '', status !== undefined);
        throw error;
      } finally {
        document.end_time = epochSeconds();
        if (metadata?.requestId) aws.request_id = metadata.requestId;
        aws.retries = Math.max(0, (metadata?.attempts ?? 1) - 1);
        if (metadata?.httpStatusCode) document.http = { response: { status: metadata.httpStatusCode } };
        send(document);
      }
    },
    { step: 'initialize', name: 'xraySubsegment' },
  );
  return client;
}
