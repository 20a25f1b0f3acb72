// The users table of the dev stage as synthesized by the CDK app: the local table is created from
// the template's own AWS::DynamoDB::Table Properties so local and deployed key schemas cannot drift.
//
//   node local/table-template.ts            prints the chosen template and the table's Properties
//   node local/table-template.ts --fresh    exits 1 when the dev template is missing or older than the CDK sources
//
// USERS_TABLE_TEMPLATE=<file> uses that template instead of searching cdk.out.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { REPO_ROOT } from './token-signing.ts';

export interface TableTemplate {
  templatePath: string;
  logicalId: string;
  properties: Record<string, unknown>;
}

/** What DynamoDB Local needs of the resource; encryption, PITR, tags and the like are deployment concerns. */
export const LOCAL_TABLE_PROPERTIES = [
  'KeySchema',
  'AttributeDefinitions',
  'BillingMode',
  'ProvisionedThroughput',
  'GlobalSecondaryIndexes',
  'LocalSecondaryIndexes',
] as const;

/** The paths the synthesized templates derive from (anything newer makes the template stale). */
export const CDK_SOURCES = ['app.py', 'cdk.json', 'service', 'stages', 'pipeline', 'config', 'lambda/service-contract.json'];

type Resource = { Type?: string; Properties?: Record<string, unknown> };

export function findTemplates(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTemplates(path));
    else if (entry.name.endsWith('.template.json')) found.push(path);
  }
  return found.sort();
}

function tables(templatePath: string): Array<[string, Resource]> {
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as { Resources?: Record<string, Resource> };
  return Object.entries(template.Resources ?? {}).filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table');
}

function taggedDevelopment(resource: Resource): boolean {
  const tags = resource.Properties?.Tags;
  return (
    Array.isArray(tags) &&
    tags.some((tag: { Key?: unknown; Value?: unknown }) => tag.Key === 'Environment' && /^dev(elopment)?$/i.test(String(tag.Value)))
  );
}

/** Picks the dev stage's template among those under cdkOut that hold a table. */
export function findDevTemplate(cdkOut: string): string {
  const withTable = findTemplates(cdkOut)
    .map((path) => ({ path, tables: tables(path) }))
    .filter((candidate) => candidate.tables.length > 0);
  if (withTable.length === 0) {
    throw new Error(`no template with an AWS::DynamoDB::Table under ${cdkOut}: run \`make synth\` first`);
  }
  const byTag = withTable.filter((candidate) => candidate.tables.some(([, resource]) => taggedDevelopment(resource)));
  const byPath = withTable.filter((candidate) => /Dev(?![a-z])/.test(relative(cdkOut, candidate.path)));
  const chosen = byTag.length > 0 ? byTag : byPath;
  if (chosen.length !== 1) {
    const listed = (chosen.length === 0 ? withTable : chosen).map((candidate) => `  ${candidate.path}`).join('\n');
    throw new Error(
      `${chosen.length === 0 ? 'none' : 'more than one'} of the templates with a table is the dev stage's (tag Environment=Development or "Dev" in its path):\n${listed}\nSet USERS_TABLE_TEMPLATE to the one to use.`,
    );
  }
  return (chosen[0] as { path: string }).path;
}

export function readTableTemplate(templatePath: string): TableTemplate {
  const found = tables(templatePath);
  if (found.length !== 1 || found[0] === undefined) {
    throw new Error(`${templatePath} has ${found.length} AWS::DynamoDB::Table resources; expected exactly one`);
  }
  const [logicalId, resource] = found[0];
  const properties: Record<string, unknown> = {};
  for (const key of LOCAL_TABLE_PROPERTIES) {
    if (resource.Properties?.[key] !== undefined) properties[key] = resource.Properties[key];
  }
  if (!Array.isArray(properties.KeySchema) || !Array.isArray(properties.AttributeDefinitions)) {
    throw new Error(`${templatePath}: ${logicalId} has no KeySchema/AttributeDefinitions`);
  }
  return { templatePath, logicalId, properties };
}

export function devTableTemplate(env: NodeJS.ProcessEnv = process.env, cdkOut = resolve(REPO_ROOT, 'cdk.out')): TableTemplate {
  const explicit = env.USERS_TABLE_TEMPLATE;
  return readTableTemplate(explicit ? resolve(REPO_ROOT, explicit) : findDevTemplate(cdkOut));
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === '__pycache__' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** Why the dev template needs a synth, or undefined when it is up to date. */
export function staleness(root = REPO_ROOT): string | undefined {
  let templatePath: string;
  try {
    templatePath = findDevTemplate(join(root, 'cdk.out'));
  } catch (error) {
    return (error as Error).message;
  }
  const sources = Math.max(...CDK_SOURCES.map((source) => newestMtime(join(root, source))));
  if (sources > statSync(templatePath).mtimeMs) return `${relative(root, templatePath)} is older than the CDK sources`;
  return undefined;
}

if (import.meta.main) {
  if (process.argv.includes('--fresh')) {
    const reason = process.env.USERS_TABLE_TEMPLATE ? undefined : staleness();
    if (reason) process.stderr.write(`dev template needs a synth: ${reason.split('\n')[0]}\n`);
    process.exitCode = reason ? 1 : 0;
  } else {
    try {
      process.stdout.write(`${JSON.stringify(devTableTemplate(), null, 2)}\n`);
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
