/**
 * CodeDeploy's BeforeAllowTraffic hook of one function: before any traffic moves to the new
 * version, it invokes that version directly with the operation's probe from
 * lambda/service-contract.json (a request that reads at most, e.g. GET /users/{an id nobody has}
 * expecting 404: the answer proves the version loads, is configured and reaches its table) and
 * tells CodeDeploy Succeeded or Failed. A failed hook ends the deployment and rolls it back, so a
 * version that cannot answer never takes a request.
 *
 * Environment: TARGET_VERSION_ARN (the version CloudFormation publishes with this deployment),
 * PROBE (the probe as JSON), OPERATION_SCOPE (the scope the probe's token claims carry).
 */
import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { Probe } from '../contract.ts';

/** What CodeDeploy hands a lifecycle hook. */
export interface LifecycleEvent {
  DeploymentId: string;
  LifecycleEventHookExecutionId: string;
}

export type HookStatus = 'Succeeded' | 'Failed';

export interface HookDependencies {
  /** Invokes the version under test; its answer and, when it threw, Lambda's FunctionError. */
  invoke(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<{ payload: unknown; functionError?: string | undefined }>;
  report(event: LifecycleEvent, status: HookStatus): Promise<void>;
  log(message: string, details: Record<string, unknown>): void;
}

/** The probe as the payload 2.0 event API Gateway would send for it, from a caller with the operation's scope. */
export function probeEvent(probe: Probe, scope: string, now = new Date()): APIGatewayProxyEventV2WithJWTAuthorizer {
  const rawPath = probe.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(probe.pathParameters?.[name] ?? ''));
  const query = probe.query ?? {};
  const body = probe.body === undefined ? undefined : JSON.stringify(probe.body);
  return {
    version: '2.0',
    routeKey: `${probe.method} ${probe.path}`,
    rawPath,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': probe.contentType ?? 'application/json' }), 'user-agent': 'users-service-pre-traffic-hook' },
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(probe.pathParameters ? { pathParameters: probe.pathParameters } : {}),
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'pre-traffic-hook',
      apiId: 'pre-traffic-hook',
      domainName: 'pre-traffic-hook',
      domainPrefix: 'pre-traffic-hook',
      http: { method: probe.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'users-service-pre-traffic-hook' },
      requestId: randomUUID(),
      routeKey: `${probe.method} ${probe.path}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: { sub: 'pre-traffic-hook', scope }, scopes: [scope] } },
    },
  };
}

/** Runs the probe once and reports the verdict; never throws, so CodeDeploy always hears back. */
export async function runHook(event: LifecycleEvent, probe: Probe, scope: string, dependencies: HookDependencies): Promise<HookStatus> {
  let status: HookStatus = 'Failed';
  try {
    const { payload, functionError } = await dependencies.invoke(probeEvent(probe, scope));
    const statusCode = (payload as { statusCode?: unknown } | null)?.statusCode;
    status = functionError === undefined && statusCode === probe.expectedStatus ? 'Succeeded' : 'Failed';
    dependencies.log('probe answered', { expectedStatus: probe.expectedStatus, statusCode, functionError, status });
  } catch (error) {
    dependencies.log('probe could not be sent', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
  await dependencies.report(event, status);
  return status;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not configured`);
  return value;
}

let clients: { lambda: LambdaClient; codedeploy: CodeDeployClient } | undefined;

export async function handler(event: LifecycleEvent): Promise<HookStatus> {
  const target = required('TARGET_VERSION_ARN');
  const probe = JSON.parse(required('PROBE')) as Probe;
  clients ??= { lambda: new LambdaClient({}), codedeploy: new CodeDeployClient({}) };
  const { lambda, codedeploy } = clients;
  return runHook(event, probe, required('OPERATION_SCOPE'), {
    async invoke(probeRequest) {
      const answer = await lambda.send(new InvokeCommand({ FunctionName: target, Payload: Buffer.from(JSON.stringify(probeRequest)) }));
      const text = answer.Payload ? Buffer.from(answer.Payload).toString('utf8') : 'null';
      return { payload: JSON.parse(text) as unknown, functionError: answer.FunctionError };
    },
    async report({ DeploymentId, LifecycleEventHookExecutionId }, status) {
      await codedeploy.send(new PutLifecycleEventHookExecutionStatusCommand({ deploymentId: DeploymentId, lifecycleEventHookExecutionId: LifecycleEventHookExecutionId, status }));
    },
    log(message, details) {
      process.stdout.write(`${JSON.stringify({ level: 'INFO', message, target, ...details })}\n`);
    },
  });
}
