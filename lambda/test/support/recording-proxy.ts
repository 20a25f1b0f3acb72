/**
 * An HTTP proxy in front of DynamoDB Local that records, for every request, the IAM actions it
 * needs and on which table: IAM authorises each item of a transaction as its own action (a Put
 * in TransactWriteItems needs dynamodb:PutItem on that item's table; DynamoDB Developer Guide,
 * "Using IAM with DynamoDB transactions"), and DynamoDB Local authorises nothing, so this is how
 * a test sees what a role would be asked for.
 */
import { createServer, request, type IncomingMessage } from 'node:http';

export interface RecordedAction {
  action: string;
  tableName: string;
}

export interface RecordingProxy {
  endpoint: string;
  /** Everything recorded since the last call, and forget it. */
  take(): RecordedAction[];
  close(): Promise<void>;
}

const ITEM_ACTIONS: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };

/** The actions one DynamoDB request needs, from its X-Amz-Target and JSON body. */
export function actionsOfRequest(target: string, body: Record<string, unknown>): RecordedAction[] {
  const operation = target.split('.').pop() ?? target;
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    const items = (body.TransactItems ?? []) as Array<Record<string, { TableName?: string }>>;
    return items.flatMap((item) =>
      Object.entries(item).map(([kind, spec]) => ({ action: `dynamodb:${ITEM_ACTIONS[kind] ?? (kind === 'Get' ? 'GetItem' : kind)}`, tableName: spec.TableName ?? '' })),
    );
  }
  return [{ action: `dynamodb:${operation}`, tableName: typeof body.TableName === 'string' ? body.TableName : '' }];
}

async function bodyOf(message: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startRecordingProxy(targetEndpoint: string): Promise<RecordingProxy> {
  const target = new URL(targetEndpoint);
  let recorded: RecordedAction[] = [];
  const server = createServer((incoming, outgoing) => {
    void (async () => {
      const body = await bodyOf(incoming);
      const amzTarget = incoming.headers['x-amz-target'];
      if (typeof amzTarget === 'string') {
        try {
          recorded.push(...actionsOfRequest(amzTarget, JSON.parse(body.toString('utf8')) as Record<string, unknown>));
        } catch {
          recorded.push({ action: `unparsed:${amzTarget}`, tableName: '' });
        }
      }
      const forward = request(
        { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.on('error', () => outgoing.destroy());
      forward.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the proxy has no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    take() {
      const taken = recorded;
      recorded = [];
      return taken;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
