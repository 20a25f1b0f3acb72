/**
 * The handlers' layers: domain types at the bottom (no SDK), validation and HTTP mapping over
 * them, and one module that owns DynamoDB and its errors. Checked on the import graph, so a
 * shortcut (validation reaching into the repository, HTTP learning a DynamoDB error name) fails
 * here before it spreads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { apiEvent } from '../support/events.ts';
import { invoke } from '../support/environment.ts';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** The import specifiers of one TypeScript source (static and dynamic). */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
    found.push((match[1] ?? match[2]) as string);
  }
  return found;
}

/** Every module reachable from `entry` by relative imports, and every package they import. */
export function closure(entry: string, read: (file: string) => string = (file) => readFileSync(file, 'utf8')): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const pending = [path.resolve(entry)];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (modules.has(file)) continue;
    modules.add(file);
    for (const specifier of importsOf(read(file))) {
      if (specifier.startsWith('.')) pending.push(path.resolve(path.dirname(file), specifier));
      else packages.add(specifier);
    }
  }
  return { modules, packages };
}

const relative = (modules: Set<string>): string[] => [...modules].map((file) => path.relative(SRC, file)).sort();
const sdk = (packages: Set<string>): string[] => [...packages].filter((name) => name.startsWith('@aws-sdk/')).sort();

describe('the layers', () => {
  it('the domain module is a leaf: no SDK, no client, nothing but key types', () => {
    const { modules, packages } = closure(path.join(SRC, 'lib/domain.ts'));
    assert.deepEqual(relative(modules), ['lib/domain.ts', 'lib/user-keys.ts']);
    assert.deepEqual(sdk(packages), []);
  });

  it('validation depends on the domain, not on the repository or the SDK', () => {
    const { modules, packages } = closure(path.join(SRC, 'lib/validation.ts'));
    assert.ok(!modules.has(path.join(SRC, 'lib/users-repository.ts')), relative(modules).join(', '));
    assert.deepEqual(sdk(packages), []);
  });

  it('only the repository, the idempotency store and their client factory (and X-Ray instrumenting it) import DynamoDB', () => {
    const owners = ['lib/dynamodb-client.ts', 'lib/users-repository.ts', 'lib/idempotency.ts', 'lib/xray.ts'];
    for (const handler of ['create-user', 'list-users', 'get-user', 'update-user', 'patch-user', 'delete-user']) {
      const { modules } = closure(path.join(SRC, `handlers/${handler}.ts`));
      for (const module of modules) {
        const imports = importsOf(readFileSync(module, 'utf8')).filter((name) => name.includes('dynamodb'));
        const name = path.relative(SRC, module);
        if (!owners.includes(name)) assert.deepEqual(imports, [], `${name} imports ${imports.join(', ')}`);
      }
    }
  });

  it('http.ts knows no DynamoDB error name or network code', () => {
    const source = readFileSync(path.join(SRC, 'lib/http.ts'), 'utf8');
    for (const word of ['ConditionalCheckFailed', 'ProvisionedThroughputExceeded', 'Throttling', 'ECONNREFUSED', 'ETIMEDOUT', '$metadata']) {
      assert.ok(!source.includes(word), `http.ts mentions ${word}`);
    }
  });

  it('the checks see a planted shortcut', () => {
    const files: Record<string, string> = {
      '/p/lib/domain.ts': "import type { UserKey } from './user-keys.ts';\nimport { PutCommand } from '@aws-sdk/lib-dynamodb';\n",
      '/p/lib/user-keys.ts': "export const x = await import('./users-repository.ts');\n",
      '/p/lib/users-repository.ts': "import {\n  DynamoDBDocumentClient,\n} from '@aws-sdk/lib-dynamodb';\n",
    };
    const { modules, packages } = closure('/p/lib/domain.ts', (file) => files[file] ?? '');
    assert.deepEqual([...modules].sort(), ['/p/lib/domain.ts', '/p/lib/user-keys.ts', '/p/lib/users-repository.ts']);
    assert.deepEqual(sdk(packages), ['@aws-sdk/lib-dynamodb']);
  });
});

describe('importing a handler', () => {
  it('builds no client: the repository reads its configuration on first use', async () => {
    delete process.env.TABLE_NAME;
    delete process.env.DYNAMODB_ENDPOINT;
    Object.assign(process.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT' });
    const { handler } = await import('../../src/handlers/get-user.ts');
    // Configured only after the import: a client built at import time would have no table name
    // (a 500), one built on first use reaches this endpoint, which refuses connections (a 503).
    Object.assign(process.env, {
      TABLE_NAME: 'users',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const userId = '01890a5d-ac96-774b-bcce-b302099a8057';
    const reply = await invoke(handler, apiEvent({ method: 'GET', path: '/users/{userId}', pathParameters: { userId } }));
    assert.equal(reply.status, 503, JSON.stringify(reply.body));
  });
});
