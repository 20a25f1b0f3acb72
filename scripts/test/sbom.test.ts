// The functions' SBOMs (scripts/sbom.ts): they list the packages actually inside a bundle, found
// here independently of the script (each bundled file's own package.json, as installed), at the
// versions package-lock.json records; the check finds a planted omission, version or extra; and
// `make sbom` refuses an assembly whose bundles it did not build or cannot account for.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Metafile } from 'esbuild';
import { REPO_ROOT } from '../../harness/cdk-out.ts';
import { BUNDLED, build, readLock, sbomFor, sbomProblems, writeSboms, type Bundled, type Sbom } from '../sbom.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'sbom-test-'));
const lock = readLock();
const createUser = BUNDLED.find((bundled) => bundled.name === 'createUser');
let built: { code: Buffer; metafile: Metafile };
const quiet = (): void => undefined;
let sbom: Sbom;

function bundledOf(name: string): Bundled {
  const found = BUNDLED.find((bundled) => bundled.name === name);
  if (!found) throw new Error(`${name} is not bundled`);
  return found;
}

/** name@version of the package each bundled file belongs to: the nearest package.json with a name. */
function installedPackagesWithCode(metafile: Metafile): Set<string> {
  const output = Object.values(metafile.outputs).find((candidate) => candidate.entryPoint !== undefined);
  assert.ok(output);
  const found = new Set<string>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    if (bytesInOutput === 0 || !input.includes('node_modules/')) continue;
    for (let dir = path.dirname(path.join(REPO_ROOT, input)); dir.startsWith(REPO_ROOT); dir = path.dirname(dir)) {
      const manifest = path.join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (name === undefined || version === undefined) continue;
      found.add(`${name}@${version}`);
      break;
    }
  }
  return found;
}

function listed(document: Sbom): Set<string> {
  return new Set(document.components.map((component) => `${component.group ? `${component.group}/` : ''}${component.name}@${component.version}`));
}

function copyOf(document: Sbom): Sbom {
  return JSON.parse(JSON.stringify(document)) as Sbom;
}

function assembly(assets: Record<string, Buffer>): string {
  const cdkOut = mkdtempSync(path.join(scratch, 'cdk.out-'));
  const resources: Record<string, unknown> = {};
  for (const [name, code] of Object.entries(assets)) {
    mkdirSync(path.join(cdkOut, `asset.${name}`));
    writeFileSync(path.join(cdkOut, `asset.${name}`, 'index.mjs'), code);
    resources[name] = { Type: 'AWS::Lambda::Function', Metadata: { 'aws:asset:path': `asset.${name}`, 'aws:cdk:path': `Test/${name}/Resource` } };
  }
  writeFileSync(path.join(cdkOut, 'Test.template.json'), JSON.stringify({ Resources: resources }));
  return cdkOut;
}

before(async () => {
  assert.ok(createUser);
  built = await build(createUser, scratch);
  sbom = sbomFor(createUser, built.metafile, built.code, lock);
});

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('the SBOM of a bundle', () => {
  it('lists exactly the packages with code in the bundle, at their installed and locked versions', () => {
    const inside = installedPackagesWithCode(built.metafile);
    assert.ok(inside.size >= 3, `createUser bundles Powertools: ${[...inside].join(', ')}`);
    assert.deepEqual(listed(sbom), inside);
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.ok(listed(sbom).has(`@aws-lambda-powertools/idempotency@${String(manifest.dependencies['@aws-lambda-powertools/idempotency'])}`));
    assert.deepEqual(sbomProblems(sbom, built.metafile, lock), []);
  });

  it('names the AWS SDK the runtime provides instead of listing it as bundled', () => {
    assert.ok(![...listed(sbom)].some((name) => name.startsWith('@aws-sdk/')));
    const provided = sbom.metadata.component.properties?.filter((property) => property.name === 'users-service:providedByRuntime').map((property) => property.value);
    assert.deepEqual(provided, ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/util-dynamodb']);
  });

  it('carries purls, the lock integrity as SHA-512 and the bundle hash', () => {
    const logger = sbom.components.find((component) => component.name === 'logger');
    assert.ok(logger);
    assert.equal(logger.group, '@aws-lambda-powertools');
    assert.equal(logger.purl, `pkg:npm/%40aws-lambda-powertools/logger@${logger.version}`);
    const integrity = lock['node_modules/@aws-lambda-powertools/logger']?.integrity ?? '';
    assert.deepEqual(logger.hashes, [{ alg: 'SHA-512', content: Buffer.from(integrity.replace(/^sha512-/, ''), 'base64').toString('hex') }]);
    assert.equal(sbom.metadata.component.hashes?.[0]?.content.length, 64);
    assert.equal(sbom.bomFormat, 'CycloneDX');
    assert.equal(sbom.specVersion, '1.6');
  });

  it('finds a planted omission, a wrong version, an extra package and a wrong purl', () => {
    const omitted = copyOf(sbom);
    const dropped = omitted.components.shift();
    assert.ok(dropped);
    const droppedName = `${dropped.group ? `${dropped.group}/` : ''}${dropped.name}`;
    assert.deepEqual(sbomProblems(omitted, built.metafile, lock), [`${droppedName}@${dropped.version} is in the bundle but not in the SBOM`]);

    const stale = copyOf(sbom);
    const first = stale.components[0];
    assert.ok(first);
    const locked = first.version;
    first.version = '0.0.1';
    first.purl = `pkg:npm/${first.group ? `${first.group.replace('@', '%40')}/` : ''}${first.name}@0.0.1`;
    const staleName = `${first.group ? `${first.group}/` : ''}${first.name}`;
    assert.deepEqual(sbomProblems(stale, built.metafile, lock), [`${staleName} is in the SBOM at 0.0.1, but the bundle holds the locked ${locked}`]);

    const padded = copyOf(sbom);
    padded.components.push({ type: 'library', 'bom-ref': 'pkg:npm/left-pad@1.3.0', name: 'left-pad', version: '1.3.0', purl: 'pkg:npm/left-pad@1.3.0' });
    assert.deepEqual(sbomProblems(padded, built.metafile, lock), ['left-pad@1.3.0 is in the SBOM but not in the bundle']);

    const misnamed = copyOf(sbom);
    const renamed = misnamed.components[0];
    assert.ok(renamed);
    renamed.purl = 'pkg:npm/something-else@1.0.0';
    assert.equal(sbomProblems(misnamed, built.metafile, lock).length, 1);
    assert.match(sbomProblems(misnamed, built.metafile, lock)[0] ?? '', /purl pkg:npm\/something-else@1.0.0 does not name/);
  });
});

describe('make sbom over an assembly', () => {
  it('writes one SBOM per bundle when every asset is one of its builds', async () => {
    const bundles: Record<string, Buffer> = {};
    for (const bundled of BUNDLED) bundles[bundled.name] = (await build(bundled, scratch)).code;
    const cdkOut = assembly(bundles);
    const written = await writeSboms(cdkOut, path.join(cdkOut, 'sbom'), quiet);
    assert.deepEqual(written.map((file) => path.basename(file)).sort(), BUNDLED.map((bundled) => `${bundled.name}.cdx.json`).sort());
    const document = JSON.parse(readFileSync(path.join(cdkOut, 'sbom', 'createUser.cdx.json'), 'utf8')) as Sbom;
    assert.deepEqual(listed(document), listed(sbom));
    assert.ok(document.metadata.component.properties?.some((property) => property.name === 'users-service:asset' && property.value === 'asset.createUser'));
  });

  it('refuses a shipped bundle that differs from its build, and a bundled asset it has no entry for', async () => {
    const bundles: Record<string, Buffer> = {};
    for (const bundled of BUNDLED) bundles[bundled.name] = (await build(bundled, scratch)).code;
    const drifted = assembly({ ...bundles, getUser: Buffer.concat([bundles.getUser ?? Buffer.alloc(0), Buffer.from('\n// changed')]) });
    await assert.rejects(writeSboms(drifted, path.join(drifted, 'sbom'), quiet), /no asset in .* is the bundle of getUser \(lambda\/src\/handlers\/get-user\.ts\)/);
    const extra = assembly({ ...bundles, unknownFunction: Buffer.from('export const handler = async () => ({});\n') });
    await assert.rejects(writeSboms(extra, path.join(extra, 'sbom'), quiet), /bundled assets without an SBOM[^]*asset\.unknownFunction \(Test\/unknownFunction\/Resource\)/);
    assert.ok(bundledOf('preTrafficHook').entry.endsWith('pre-traffic.ts'));
  });
});
