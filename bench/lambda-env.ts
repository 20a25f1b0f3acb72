// The environment a bundled handler runs with in the bench: the function's own variables from
// the dev template, and the runtime's reserved ones, pointed at DynamoDB Local and a UDP sink.
import { localTableNames, tableEnvironmentOf, type DeployedConfiguration, type DeployedFunction } from '../harness/deployed.ts';
import { OPERATIONS } from './bundles.ts';

// ---- Lambda-like environment -------------------------------------------------------------------
/**
 * What the Lambda runtime and the CDK set for a function (service/stack.py's environment, the
 * runtime's reserved variables with active tracing), pointed at DynamoDB Local; X-Ray segments go
 * to a UDP sink on 127.0.0.1 that counts them.
 */
let deployed: DeployedConfiguration | undefined;

/** Measured variants of an operation, by the function they run (bench/events.mjs builds their requests). */
export const VARIANT_OF: Record<string, string> = { createUserWithKey: 'createUser' };

/** Once the dev template is known: what each function is configured with there. */
export function useDeployedConfiguration(configuration: DeployedConfiguration): void {
  deployed = configuration;
}

/** What the dev template configures the operation's function with (read once the template is known). */
export function deployedFunction(operation: string): DeployedFunction {
  const found = deployed?.functions.get(VARIANT_OF[operation] ?? operation);
  if (!found) throw new Error(`no deployed settings for ${operation}: the dev template has not been read`);
  return found;
}

export function lambdaEnvironment(operation: string, taskRoot: string, endpoint: string, tableName: string, xrayPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    // The function's own variables as the dev template sets them, the table name resolved locally.
    ...deployedFunction(operation).environment,
    ...tableEnvironmentOf(localTableNames(tableName)),
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    AWS_LAMBDA_FUNCTION_NAME: `users-service-bench-${operation}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(deployedFunction(operation).memoryMb),
    // The routes bench/events.mjs builds requests for, from the one contract loader.
    BENCH_ROUTES: JSON.stringify(Object.fromEntries(OPERATIONS.map(({ name, method, path, scope }) => [name, { method, path, scope }]))),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_FORMAT: 'JSON',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/users-service-bench-${operation}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${xrayPort}`,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  };
  return env;
}
