/**
 * CycloneDX SBOMs of what each function ships (`make sbom`, run by `make test` after the synth).
 *
 * Every bundle is built again with lambda/bundling.json and esbuild's metafile, and must be byte
 * for byte the index.mjs of its synthesized asset: the metafile then says exactly which files of
 * which npm packages are inside what is deployed. Each package is listed at the version, integrity
 * and licence package-lock.json records for the folder esbuild read it from; a package whose code
 * was shaken out entirely is not listed, and the AWS SDK (external: the runtime provides it) is not
 * in a bundle at all: the packages a bundle imports from the runtime are named on its component. Every bundled asset of the assembly must be one of these builds, so a new
 * function without an SBOM fails here.
 *
 *   node scripts/sbom.ts [cdk.out] [out dir]        # defaults: cdk.out, cdk.out/sbom
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { LAMBDA_BUNDLING } from '../harness/bundling.ts';
import { DEFAULT_CDK_OUT, REPO_ROOT, assetDirectory, constructPath, findTemplates, readTemplate, resourcesOfType } from '../harness/cdk-out.ts';
import { contract } from '../lambda/src/contract.ts';

/** A function's bundle: its name in the SBOM and its entry, relative to the repository. */
export interface Bundled {
  name: string;
  entry: string;
}

/** The handlers of the contract, and the pre-traffic hook every deployment runs (service/deployment.py). */
export const BUNDLED: readonly Bundled[] = [
  ...contract.operations.map((operation) => ({ name: operation.name, entry: path.join('lambda', operation.entry) })),
  { name: 'preTrafficHook', entry: 'lambda/src/hooks/pre-traffic.ts' },
];

export interface LockedPackage {
  version?: string;
  integrity?: string;
  license?: string;
}

/** package-lock.json's packages, keyed by folder (node_modules/@scope/name, nested ones too). */
export type Lock = Record<string, LockedPackage>;

export function readLock(root: string = REPO_ROOT): Lock {
  const document = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages?: Lock };
  if (!document.packages) throw new Error('package-lock.json has no packages: lockfileVersion 2 or later is needed');
  return document.packages;
}

interface Hash {
  alg: 'SHA-256' | 'SHA-512';
  content: string;
}

interface Property {
  name: string;
  value: string;
}

export interface Component {
  type: 'library' | 'application';
  'bom-ref': string;
  group?: string;
  name: string;
  version: string;
  purl?: string;
  hashes?: Hash[];
  licenses?: Array<{ expression: string }>;
  properties?: Property[];
}

export interface Sbom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: number;
  metadata: {
    timestamp: string;
    tools: { components: Component[] };
    component: Component;
  };
  components: Component[];
  dependencies: Array<{ ref: string; dependsOn: string[] }>;
}

const PACKAGE_FOLDER = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//;

/** The package-lock folder of each npm package with code in the bundle, and its bytes there. */
export function bundledPackages(metafile: esbuild.Metafile): Map<string, number> {
  const outputs = Object.values(metafile.outputs).filter((output) => output.entryPoint !== undefined);
  const [output] = outputs;
  if (outputs.length !== 1 || !output) throw new Error(`expected one entry point's output in the metafile, found ${outputs.length}`);
  const packages = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const folder = PACKAGE_FOLDER.exec(input)?.[1];
    if (folder === undefined || bytesInOutput === 0) continue;
    packages.set(folder, (packages.get(folder) ?? 0) + bytesInOutput);
  }
  return packages;
}

/** The packages the bundle imports but does not hold (the AWS SDK the Lambda runtime ships). */
export function providedByRuntime(metafile: esbuild.Metafile): string[] {
  const imports = Object.values(metafile.outputs).flatMap((output) => output.imports);
  return [...new Set(imports.filter((entry) => entry.external === true && !entry.path.startsWith('node:')).map((entry) => entry.path))].sort();
}

function packageName(folder: string): string {
  return folder.slice(folder.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** The package URL of an npm package (the scope's @ encoded, as the purl spec asks). */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

/** An SRI integrity (sha512-<base64>) as a CycloneDX hash (hex). */
function integrityHash(integrity: string | undefined): Hash[] {
  const match = /^sha512-([A-Za-z0-9+/=]+)$/.exec(integrity ?? '');
  return match?.[1] ? [{ alg: 'SHA-512', content: Buffer.from(match[1], 'base64').toString('hex') }] : [];
}

function packageComponent(folder: string, bytes: number, lock: Lock): Component {
  const locked = lock[folder];
  const name = packageName(folder);
  if (!locked?.version) throw new Error(`${folder} is in the bundle but not in package-lock.json: run npm ci`);
  const slash = name.indexOf('/');
  const scoped = name.startsWith('@') && slash > 0;
  const purl = npmPurl(name, locked.version);
  return {
    type: 'library',
    'bom-ref': purl,
    ...(scoped ? { group: name.slice(0, slash) } : {}),
    name: scoped ? name.slice(slash + 1) : name,
    version: locked.version,
    purl,
    hashes: integrityHash(locked.integrity),
    ...(locked.license ? { licenses: [{ expression: locked.license }] } : {}),
    properties: [
      { name: 'users-service:lockFolder', value: folder },
      { name: 'users-service:bytesInBundle', value: String(bytes) },
    ],
  };
}

/** The SBOM of one function's bundle (`code`, as esbuild wrote it) from that build's metafile. */
export function sbomFor(bundled: Bundled, metafile: esbuild.Metafile, code: Buffer, lock: Lock, assets: readonly string[] = []): Sbom {
  const self = lock[''] ?? {};
  const components = [...bundledPackages(metafile)]
    .map(([folder, bytes]) => packageComponent(folder, bytes, lock))
    .sort((a, b) => (a.purl ?? '').localeCompare(b.purl ?? ''));
  const root: Component = {
    type: 'application',
    'bom-ref': `users-service/${bundled.name}`,
    group: 'users-service',
    name: bundled.name,
    version: self.version ?? '0.0.0',
    hashes: [{ alg: 'SHA-256', content: createHash('sha256').update(code).digest('hex') }],
    properties: [
      { name: 'users-service:entry', value: bundled.entry },
      ...assets.map((asset) => ({ name: 'users-service:asset', value: asset })),
      ...providedByRuntime(metafile).map((name) => ({ name: 'users-service:providedByRuntime', value: name })),
    ],
  };
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: { components: [{ type: 'application', 'bom-ref': `esbuild@${esbuild.version}`, name: 'esbuild', version: esbuild.version }] },
      component: root,
    },
    components,
    dependencies: [{ ref: root['bom-ref'], dependsOn: components.map((component) => component['bom-ref']) }, ...components.map((component) => ({ ref: component['bom-ref'], dependsOn: [] }))],
  };
}

/**
 * Where an SBOM and the bundle disagree: a package with code in the bundle (per the metafile) the
 * SBOM leaves out or lists at another version than the lock's, or a package it lists that the
 * bundle does not hold. Empty when it lists exactly what is inside.
 */
export function sbomProblems(sbom: Sbom, metafile: esbuild.Metafile, lock: Lock): string[] {
  const inside = new Map([...bundledPackages(metafile).keys()].map((folder) => [packageName(folder), lock[folder]?.version ?? '(not locked)']));
  const problems: string[] = [];
  const listed = new Map<string, string>();
  for (const component of sbom.components) {
    const name = component.group ? `${component.group}/${component.name}` : component.name;
    listed.set(name, component.version);
    if (component.purl !== npmPurl(name, component.version)) problems.push(`${name}: purl ${String(component.purl)} does not name ${name}@${component.version}`);
  }
  for (const [name, version] of inside) {
    const at = listed.get(name);
    if (at === undefined) problems.push(`${name}@${version} is in the bundle but not in the SBOM`);
    else if (at !== version) problems.push(`${name} is in the SBOM at ${at}, but the bundle holds the locked ${version}`);
  }
  for (const [name, version] of listed) if (!inside.has(name)) problems.push(`${name}@${version} is in the SBOM but not in the bundle`);
  return problems;
}

/** Builds one function's bundle as NodejsFunction does, with esbuild's metafile. */
export async function build(bundled: Bundled, outdir: string): Promise<{ code: Buffer; metafile: esbuild.Metafile }> {
  const outfile = path.join(outdir, bundled.name, 'index.mjs');
  const result = await esbuild.build({ ...LAMBDA_BUNDLING, entryPoints: [path.join(REPO_ROOT, bundled.entry)], outfile, metafile: true });
  return { code: readFileSync(outfile), metafile: result.metafile };
}

/** Every function asset of the assembly that holds a bundle (index.mjs), with the functions using it. */
function bundledAssets(cdkOut: string): Map<string, string[]> {
  const assets = new Map<string, string[]>();
  for (const templatePath of findTemplates(cdkOut)) {
    const template = readTemplate(templatePath);
    for (const [, resource] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const dir = assetDirectory(template, resource);
      if (!dir || !existsSync(path.join(dir, 'index.mjs'))) continue;
      assets.set(dir, [...(assets.get(dir) ?? []), constructPath(resource)]);
    }
  }
  return assets;
}

export async function writeSboms(cdkOut: string, outDir: string, report: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<string[]> {
  const assets = bundledAssets(cdkOut);
  if (assets.size === 0) throw new Error(`no bundled function in ${cdkOut}: run \`make synth\` first`);
  const lock = readLock();
  const scratch = mkdtempSync(path.join(tmpdir(), 'users-service-sbom-'));
  const unmatched = new Set(assets.keys());
  const written: string[] = [];
  mkdirSync(outDir, { recursive: true });
  try {
    for (const bundled of BUNDLED) {
      const { code, metafile } = await build(bundled, scratch);
      const shipped = [...assets.keys()].filter((dir) => readFileSync(path.join(dir, 'index.mjs')).equals(code));
      if (shipped.length === 0) {
        throw new Error(`no asset in ${cdkOut} is the bundle of ${bundled.name} (${bundled.entry}): lambda/bundling.json and the synth disagree, or cdk.out is stale`);
      }
      for (const dir of shipped) unmatched.delete(dir);
      const sbom = sbomFor(bundled, metafile, code, lock, shipped.map((dir) => path.basename(dir)));
      const problems = sbomProblems(sbom, metafile, lock);
      if (problems.length > 0) throw new Error(`the SBOM of ${bundled.name} disagrees with its bundle:\n  ${problems.join('\n  ')}`);
      const file = path.join(outDir, `${bundled.name}.cdx.json`);
      writeFileSync(file, `${JSON.stringify(sbom, null, 2)}\n`);
      writeFileSync(path.join(outDir, `${bundled.name}.meta.json`), `${JSON.stringify(metafile)}\n`);
      written.push(file);
      const listed = sbom.components.map((component) => `${component.group ? `${component.group}/` : ''}${component.name}@${component.version}`);
      report(`sbom: ${bundled.name}: ${listed.length} packages (${listed.join(', ')}) in ${shipped.map((dir) => path.basename(dir)).join(', ')}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (unmatched.size > 0) {
    const described = [...unmatched].map((dir) => `${path.basename(dir)} (${(assets.get(dir) ?? []).join(', ')})`);
    throw new Error(`bundled assets without an SBOM; add their entry to BUNDLED in scripts/sbom.ts:\n  ${described.join('\n  ')}`);
  }
  return written;
}

if (import.meta.main) {
  const cdkOut = path.resolve(process.argv[2] ?? DEFAULT_CDK_OUT);
  const outDir = path.resolve(process.argv[3] ?? path.join(cdkOut, 'sbom'));
  try {
    await writeSboms(cdkOut, outDir);
  } catch (error) {
    process.stderr.write(`sbom: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
