// docs/openapi.json is the API written down for clients: these tests hold it to what the
// service actually declares and enforces, so that neither can change without the other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { contract } from '../../src/contract.ts';
import { USER_STATUSES } from '../../src/lib/domain.ts';
import { ERROR_CODES } from '../../src/lib/http.ts';
import { IDEMPOTENCY_KEY_MAX_LENGTH, LIMITS, READ_ONLY_FIELDS, WRITABLE_FIELDS } from '../../src/lib/validation.ts';

const DOCUMENT_PATH = path.resolve(import.meta.dirname, '../../../docs/openapi.json');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed JSON document walked by key: typing every OpenAPI node would outweigh the checks
type Json = any;

const loadDocument = (): Json => JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Follows a local `$ref` ("#/components/...") to what it names. */
function resolve(document: Json, node: Json): Json {
  if (!node || typeof node.$ref !== 'string') return node;
  return resolve(document, node.$ref.slice(2).split('/').reduce((at: Json, key: string) => at?.[key], document));
}

/** Every way the document disagrees with the contract and the validator; empty when it agrees. */
function drift(document: Json): string[] {
  const problems: string[] = [];
  if (document.openapi !== '3.1.0') problems.push(`openapi is ${document.openapi}, not 3.1.0`);

  const documented = new Map<string, Json>();
  for (const [route, item] of Object.entries<Json>(document.paths ?? {})) {
    for (const method of METHODS) if (item[method]) documented.set(`${method.toUpperCase()} ${route}`, { ...item[method], shared: item.parameters ?? [] });
  }
  const declared = new Set(contract.operations.map((operation) => operation.routeKey));
  for (const routeKey of documented.keys()) if (!declared.has(routeKey)) problems.push(`${routeKey} is documented but not in the contract`);

  const scopes = document.components?.securitySchemes?.cognito?.flows?.clientCredentials?.scopes ?? {};
  for (const scope of Object.values(contract.scopes)) if (!(scope in scopes)) problems.push(`scope ${scope} is not in the security scheme`);

  for (const operation of contract.operations) {
    const documentedOperation = documented.get(operation.routeKey);
    if (!documentedOperation) {
      problems.push(`${operation.routeKey} (${operation.name}) is not documented`);
      continue;
    }
    const where = operation.routeKey;
    if (documentedOperation.operationId !== operation.name) problems.push(`${where}: operationId ${documentedOperation.operationId}, not ${operation.name}`);
    const required = (documentedOperation.security ?? []).flatMap((requirement: Json) => requirement.cognito ?? []);
    if (required.length !== 1 || required[0] !== operation.scope) problems.push(`${where}: security ${JSON.stringify(required)}, not [${operation.scope}]`);
    const statuses = Object.keys(documentedOperation.responses ?? {});
    const expected = ['400', '401', '403', '429', '500', '503'];
    if (operation.path.includes('{userId}')) expected.push('404');
    if (['PUT', 'PATCH', 'DELETE'].includes(operation.method)) expected.push('412');
    if (documentedOperation.requestBody) expected.push('413', '415');
    if (operation.routeKey === 'GET /users/{userId}') expected.push('304');
    // A write that sets an e-mail can find it taken; a keyed POST can be in flight or reused.
    if (['POST', 'PUT', 'PATCH'].includes(operation.method)) expected.push('409');
    if (operation.method === 'POST') expected.push('422');
    for (const status of expected) if (!statuses.includes(status)) problems.push(`${where}: status ${status} is not documented`);
    const parameters = [...documentedOperation.shared, ...(documentedOperation.parameters ?? [])].map((parameter: Json) => resolve(document, parameter));
    for (const name of operation.path.match(/\{(\w+)\}/g) ?? []) {
      if (!parameters.some((parameter: Json) => parameter.in === 'path' && `{${parameter.name}}` === name)) problems.push(`${where}: path parameter ${name} is not documented`);
    }
    const has = (location: string, name: string) => parameters.some((parameter: Json) => parameter.in === location && parameter.name === name);
    if (operation.routeKey === 'POST /users' && !has('header', 'Idempotency-Key')) problems.push(`${where}: Idempotency-Key is not documented`);
    if (operation.routeKey === 'GET /users' && !has('query', 'email')) problems.push(`${where}: the email query parameter is not documented`);
    if (operation.method !== 'GET' && operation.method !== 'POST') {
      for (const header of ['If-Match', 'If-None-Match']) {
        if (!parameters.some((parameter: Json) => parameter.in === 'header' && parameter.name === header)) problems.push(`${where}: ${header} is not documented`);
      }
    }
  }

  const schemas = document.components?.schemas ?? {};
  const fields = (name: string): string[] => Object.keys(schemas[name]?.properties ?? {}).sort();
  const writable = [...WRITABLE_FIELDS].sort();
  for (const name of ['UserInput', 'UserReplacement', 'UserPatch']) {
    if (JSON.stringify(fields(name)) !== JSON.stringify(writable)) problems.push(`${name} has fields ${fields(name).join(', ')}, the validator accepts ${writable.join(', ')}`);
    if (schemas[name]?.additionalProperties !== false) problems.push(`${name} must forbid other fields, as the validator does`);
  }
  if (JSON.stringify(fields('User')) !== JSON.stringify([...writable, ...READ_ONLY_FIELDS].sort())) problems.push(`User has fields ${fields('User').join(', ')}`);
  if (JSON.stringify([...(schemas.UserReplacement?.required ?? [])].sort()) !== JSON.stringify(['email', 'name', 'status'])) problems.push('UserReplacement must require email, name and status');
  if (schemas.Name?.maxLength !== LIMITS.nameMaxLength) problems.push(`Name.maxLength is ${schemas.Name?.maxLength}, the validator's ${LIMITS.nameMaxLength}`);
  if (schemas.Email?.maxLength !== LIMITS.emailMaxLength) problems.push(`Email.maxLength is ${schemas.Email?.maxLength}, the validator's ${LIMITS.emailMaxLength}`);
  if (JSON.stringify(schemas.Status?.enum) !== JSON.stringify(USER_STATUSES)) problems.push(`Status.enum is ${JSON.stringify(schemas.Status?.enum)}, the domain's ${JSON.stringify(USER_STATUSES)}`);
  if (JSON.stringify(schemas.Error?.properties?.error?.properties?.code?.enum) !== JSON.stringify(ERROR_CODES)) problems.push('Error.code does not list exactly the handlers\' error codes');
  const limit = document.components?.parameters?.limit?.schema ?? {};
  if (limit.minimum !== LIMITS.listMin || limit.maximum !== LIMITS.listMax || limit.default !== LIMITS.listDefault) problems.push(`limit is ${JSON.stringify(limit)}, the validator's ${LIMITS.listMin}..${LIMITS.listMax} default ${LIMITS.listDefault}`);
  if (schemas.UserPage?.properties?.items?.maxItems !== LIMITS.listMax) problems.push('UserPage.items.maxItems is not the list maximum');
  const keyPattern = document.components?.parameters?.idempotencyKey?.schema?.pattern ?? '';
  if (!keyPattern.includes(`{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}`)) problems.push(`Idempotency-Key's pattern ${keyPattern} does not allow the validator's 1..${IDEMPOTENCY_KEY_MAX_LENGTH} characters`);
  if (schemas.Email?.maxLength !== document.components?.parameters?.email?.schema?.maxLength) problems.push('the email query parameter and Email differ in maxLength');
  const tooLarge = document.components?.responses?.PayloadTooLarge?.description ?? '';
  if (!tooLarge.includes(String(LIMITS.bodyMaxBytes))) problems.push(`PayloadTooLarge does not state the ${LIMITS.bodyMaxBytes}-byte limit`);
  if (!document.components?.responses?.ServiceUnavailable?.headers?.['Retry-After']) problems.push('ServiceUnavailable does not document Retry-After');
  return problems;
}

describe('docs/openapi.json', () => {
  it('matches the contract (routes, operation names, scopes) and the validator (fields, limits, codes)', () => {
    assert.deepEqual(drift(loadDocument()), []);
  });

  it('reports each planted disagreement', () => {
    const planted: Array<[string, (document: Json) => void, RegExp]> = [
      ['a route the contract lacks', (d) => (d.paths['/users/{userId}'].post = { operationId: 'ghost' }), /POST \/users\/\{userId\} is documented but not in the contract/],
      ['a contract route left out', (d) => delete d.paths['/users/{userId}'].patch, /PATCH \/users\/\{userId\} \(patchUser\) is not documented/],
      ['a wrong scope', (d) => (d.paths['/users'].post.security = [{ cognito: ['users/read'] }]), /POST \/users: security/],
      ['a missing 412', (d) => delete d.paths['/users/{userId}'].delete.responses['412'], /DELETE \/users\/\{userId\}: status 412/],
      ['a missing 304', (d) => delete d.paths['/users/{userId}'].get.responses['304'], /status 304/],
      ['a missing 415', (d) => delete d.paths['/users'].post.responses['415'], /POST \/users: status 415/],
      ['a field the validator refuses', (d) => (d.components.schemas.UserInput.properties.role = { type: 'string' }), /UserInput has fields/],
      ['an optional status on PUT', (d) => (d.components.schemas.UserReplacement.required = ['email', 'name']), /UserReplacement must require/],
      ['a different name limit', (d) => (d.components.schemas.Name.maxLength = 300), /Name.maxLength is 300/],
      ['a different list limit', (d) => (d.components.parameters.limit.schema.maximum = 1000), /limit is/],
      ['a missing 409 on PATCH', (d) => delete d.paths['/users/{userId}'].patch.responses['409'], /PATCH \/users\/\{userId\}: status 409/],
      ['a missing 422 on POST', (d) => delete d.paths['/users'].post.responses['422'], /POST \/users: status 422/],
      ['no Idempotency-Key', (d) => (d.paths['/users'].post.parameters = []), /Idempotency-Key is not documented/],
      ['a longer Idempotency-Key', (d) => (d.components.parameters.idempotencyKey.schema.pattern = '^"[a-z]{1,999}"$'), /Idempotency-Key's pattern/],
      ['no lookup by email', (d) => d.paths['/users'].get.parameters.pop(), /email query parameter is not documented/],
      ['an error code the handlers never send', (d) => d.components.schemas.Error.properties.error.properties.code.enum.push('Teapot'), /Error.code/],
    ];
    for (const [label, plant, expected] of planted) {
      const document = loadDocument();
      plant(document);
      const problems = drift(document);
      assert.ok(problems.some((problem) => expected.test(problem)), `${label}: ${JSON.stringify(problems)}`);
    }
  });
});
