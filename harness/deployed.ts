/**
 * What the deployed API and its functions are configured with, read from the synthesized dev
 * template: each table's key schema, the HTTP API's CORS configuration, and each function's
 * environment, memory and timeout. The local stack and the bench run the handlers with these, so
 * they cannot drift from what the CDK app deploys.
 */
import { resolve } from 'node:path';
import { contract, TABLE_ROLES, type TableRole } from '../lambda/src/contract.ts';
import { findDevTemplate, functionsByOperation, onlyResourceOfType, readTemplate, REPO_ROOT, resourcesOfType, type Template } from './cdk-out.ts';

/** What DynamoDB Local needs of the table; encryption, PITR, tags and the like are deployment concerns. */
export const LOCAL_TABLE_PROPERTIES = [
  'KeySchema',
  'AttributeDefinitions',
  'BillingMode',
  'ProvisionedThroughput',
  'GlobalSecondaryIndexes',
  'LocalSecondaryIndexes',
] as const;

export interface DeployedTable {
  logicalId: string;
  properties: Record<string, unknown>;
}

export interface DeployedCors {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

export interface DeployedFunction {
  memoryMb: number;
  timeoutSeconds: number;
  /** The variables with literal values. */
  environment: Record<string, string>;
  /** The variables whose value CloudFormation resolves at deploy time (e.g. TABLE_NAME), by name. */
  resolvedAtDeploy: string[];
}

export interface DeployedConfiguration {
  templatePath: string;
  /** The table each role's variable names in the functions' environment. */
  tables: Record<TableRole, DeployedTable>;
  cors: DeployedCors;
  /** Keyed by the contract's operation name. */
  functions: Map<string, DeployedFunction>;
}

function strings(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new Error(`${where} must be a list of strings`);
  return value;
}

/**
 * Each table role's table: the AWS::DynamoDB::Table that the functions' variable for that role
 * (the contract's environmentVariable) refers to. A role no function is told about, or told about
 * two different tables, is refused.
 */
export function tablesOf(template: Template): Record<TableRole, DeployedTable> {
  const referenced = new Map<string, Set<string>>();
  for (const [, resource] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const variables = ((resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
    for (const [name, value] of Object.entries(variables)) {
      const ref = (value as { Ref?: unknown } | null)?.Ref;
      if (typeof ref === 'string' && template.resources[ref]?.Type === 'AWS::DynamoDB::Table') {
        referenced.set(name, (referenced.get(name) ?? new Set()).add(ref));
      }
    }
  }
  const tables = {} as Record<TableRole, DeployedTable>;
  for (const role of TABLE_ROLES) {
    const variable = contract.tables[role].environmentVariable;
    const logicalIds = [...(referenced.get(variable) ?? [])];
    if (logicalIds.length !== 1 || logicalIds[0] === undefined) {
      throw new Error(`${template.path}: ${variable} (the ${role} table) refers to ${logicalIds.length} tables; expected exactly one`);
    }
    tables[role] = tableOf(template, logicalIds[0]);
  }
  return tables;
}

export function tableOf(template: Template, logicalId: string): DeployedTable {
  const resource = template.resources[logicalId];
  if (resource?.Type !== 'AWS::DynamoDB::Table') throw new Error(`${template.path}: ${logicalId} is not an AWS::DynamoDB::Table`);
  const properties: Record<string, unknown> = {};
  for (const key of LOCAL_TABLE_PROPERTIES) {
    if (resource.Properties?.[key] !== undefined) properties[key] = resource.Properties[key];
  }
  if (!Array.isArray(properties.KeySchema) || !Array.isArray(properties.AttributeDefinitions)) {
    throw new Error(`${template.path}: ${logicalId} has no KeySchema/AttributeDefinitions`);
  }
  return { logicalId, properties };
}

/**
 * The local runs' table names: the users table is `base` (its name of old, so a persisted one is
 * found again), the others `base-<role>`.
 */
export function localTableNames(base: string): Record<TableRole, string> {
  return Object.fromEntries(TABLE_ROLES.map((role) => [role, role === 'users' ? base : `${base}-${role}`])) as Record<TableRole, string>;
}

/** The variables that tell the functions those names. */
export function tableEnvironmentOf(names: Record<TableRole, string>): Record<string, string> {
  return Object.fromEntries(TABLE_ROLES.map((role) => [contract.tables[role].environmentVariable, names[role]]));
}

export function corsOf(template: Template): DeployedCors {
  const [logicalId, api] = onlyResourceOfType(template, 'AWS::ApiGatewayV2::Api');
  const where = `${template.path}: ${logicalId}.CorsConfiguration`;
  const cors = api.Properties?.CorsConfiguration as Record<string, unknown> | undefined;
  if (!cors) throw new Error(`${where} is missing`);
  const maxAge = cors.MaxAge;
  if (typeof maxAge !== 'number') throw new Error(`${where}.MaxAge must be a number`);
  return {
    allowOrigins: strings(cors.AllowOrigins, `${where}.AllowOrigins`),
    allowMethods: strings(cors.AllowMethods, `${where}.AllowMethods`),
    allowHeaders: strings(cors.AllowHeaders, `${where}.AllowHeaders`),
    exposeHeaders: strings(cors.ExposeHeaders, `${where}.ExposeHeaders`),
    maxAgeSeconds: maxAge,
  };
}

export function functionsOf(template: Template, operationNames: readonly string[] = contract.operations.map((op) => op.name)): Map<string, DeployedFunction> {
  const resources = functionsByOperation(template, operationNames);
  const missing = operationNames.filter((name) => !resources.has(name));
  if (missing.length > 0) throw new Error(`${template.path} has no function for ${missing.join(', ')}`);
  const functions = new Map<string, DeployedFunction>();
  for (const [name, resource] of resources) {
    const properties = resource.Properties ?? {};
    const variables = ((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
    const environment: Record<string, string> = {};
    const resolvedAtDeploy: string[] = [];
    for (const [key, value] of Object.entries(variables)) {
      if (typeof value === 'string') environment[key] = value;
      else resolvedAtDeploy.push(key);
    }
    const { MemorySize: memory, Timeout: timeout } = properties;
    if (typeof memory !== 'number' || typeof timeout !== 'number') throw new Error(`${template.path}: ${name}'s function has no MemorySize/Timeout`);
    functions.set(name, { memoryMb: memory, timeoutSeconds: timeout, environment, resolvedAtDeploy: resolvedAtDeploy.sort() });
  }
  return functions;
}

export function readDeployedConfiguration(templatePath: string): DeployedConfiguration {
  const template = readTemplate(templatePath);
  return { templatePath, tables: tablesOf(template), cors: corsOf(template), functions: functionsOf(template) };
}

/**
 * The variables every function has in the dev template, the same for all of them (the local server
 * and the handler tests run every handler in one process); a template where they differ is refused.
 */
export function sharedFunctionEnvironment(deployed: DeployedConfiguration): Record<string, string> {
  const [first, ...others] = [...deployed.functions.entries()];
  if (!first) throw new Error(`${deployed.templatePath} has no functions`);
  const expected = JSON.stringify(first[1].environment);
  for (const [name, settings] of others) {
    if (JSON.stringify(settings.environment) !== expected) {
      throw new Error(`${deployed.templatePath}: ${name}'s environment differs from ${first[0]}'s; one process cannot run both as deployed`);
    }
  }
  return first[1].environment;
}

/** The dev stage's configuration; USERS_TABLE_TEMPLATE=<file> names the template instead of searching cdk.out. */
export function devConfiguration(env: NodeJS.ProcessEnv = process.env, cdkOut?: string): DeployedConfiguration {
  const explicit = env.USERS_TABLE_TEMPLATE;
  return readDeployedConfiguration(explicit ? resolve(REPO_ROOT, explicit) : findDevTemplate(cdkOut));
}
