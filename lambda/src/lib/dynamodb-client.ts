/**
 * The low-level DynamoDB client every repository (and the benchmark's SDK floor) is built with.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Timeouts and retries: worst case 2 attempts x 1.5 s plus a short back-off, about 3.2 s. */
export const CLIENT_LIMITS = { connectionTimeoutMs: 1000, requestTimeoutMs: 1500, maxAttempts: 2 } as const;

export function createDynamoDbClient(options: { endpoint?: string | undefined; region?: string | undefined }): DynamoDBClient {
  const endpoint = options.endpoint || undefined;
  const region = options.region || (endpoint ? 'us-east-1' : undefined);
  return new DynamoDBClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    // DynamoDB Local accepts any credentials; avoid the provider chain's instance-metadata probe.
    ...(endpoint && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    maxAttempts: CLIENT_LIMITS.maxAttempts,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: CLIENT_LIMITS.connectionTimeoutMs,
      requestTimeout: CLIENT_LIMITS.requestTimeoutMs,
      // Without this, recent @smithy/node-http-handler versions only log a warning when
      // requestTimeout passes and the request keeps waiting (up to the Lambda timeout).
      throwOnRequestTimeout: true,
      // Idle-socket bound as well, for runtimes whose handler predates throwOnRequestTimeout.
      socketTimeout: CLIENT_LIMITS.requestTimeoutMs,
    },
  });
}

