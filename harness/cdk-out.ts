/**
 * Finding things in a cloud assembly (cdk.out): its templates, the dev stage's template, resources
 * by type, each function's construct path and asset folder. The local stack, the handler tests'
 * fixture checks and the bench all look here, so the assembly's layout is known in one place.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..');
export const DEFAULT_CDK_OUT = join(REPO_ROOT, 'cdk.out');
/**
 * The synthesized dev stack reduced to what the harness reads, checked in for runs without a synth
 * (the handler tests, the local end-to-end tests); tests/local_fixture.py regenerates it.
 */
export const FIXTURE_CDK_OUT = join(REPO_ROOT, 'local', 'test', 'fixtures', 'synth');

export interface TemplateResource {
  Type?: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

export interface Template {
  path: string;
  resources: Record<string, TemplateResource>;
}

/** Every *.template.json under `dir`, nested assemblies included, sorted. */
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

export function readTemplate(path: string): Template {
  const document = JSON.parse(readFileSync(path, 'utf8')) as { Resources?: Record<string, TemplateResource> };
  return { path, resources: document.Resources ?? {} };
}

export function resourcesOfType(template: Template, type: string): Array<[string, TemplateResource]> {
  return Object.entries(template.resources).filter(([, resource]) => resource.Type === type);
}

/** The one resource of `type` in the template; anything else is an error naming the template. */
export function onlyResourceOfType(template: Template, type: string): [string, TemplateResource] {
  const found = resourcesOfType(template, type);
  if (found.length !== 1 || found[0] === undefined) {
    throw new Error(`${template.path} has ${found.length} ${type} resources; expected exactly one`);
  }
  return found[0];
}

export function constructPath(resource: TemplateResource): string {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : '';
}

/** The folder of a resource's file asset (a function's bundle), or undefined when it has none. */
export function assetDirectory(template: Template, resource: TemplateResource): string | undefined {
  const asset = resource.Metadata?.['aws:asset:path'];
  return typeof asset === 'string' ? resolve(dirname(template.path), asset) : undefined;
}

/** The construct id UserFunctions gives an operation's function (service/functions.py). */
export function functionConstructId(operationName: string): string {
  return `${operationName[0]?.toUpperCase() ?? ''}${operationName.slice(1)}`;
}

/** The AWS::Lambda::Function of each operation in the template, keyed by operation name. */
export function functionsByOperation(template: Template, operationNames: readonly string[]): Map<string, TemplateResource> {
  const found = new Map<string, TemplateResource>();
  for (const [, resource] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const path = constructPath(resource);
    const name = operationNames.find((candidate) => path.endsWith(`/${functionConstructId(candidate)}/Function/Resource`));
    if (name) found.set(name, resource);
  }
  return found;
}

function taggedDevelopment(resource: TemplateResource): boolean {
  const tags = resource.Properties?.Tags;
  return (
    Array.isArray(tags) &&
    tags.some((tag: { Key?: unknown; Value?: unknown }) => tag.Key === 'Environment' && /^dev(elopment)?$/i.test(String(tag.Value)))
  );
}

/** The dev stage's template: the one whose table is tagged Environment=Development (or "Dev" in its path). */
export function findDevTemplate(cdkOut: string = DEFAULT_CDK_OUT): string {
  const withTable = findTemplates(cdkOut)
    .map((path) => ({ path, tables: resourcesOfType(readTemplate(path), 'AWS::DynamoDB::Table') }))
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
