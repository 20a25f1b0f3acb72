// 2. The functions' bundles: built locally with lambda/bundling.json, compared byte for byte with
// the synthesized assets, sized, and what fills them; and the SDK floor bundled the same way.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { assetDirectory, findDevTemplate, findTemplates, functionsByOperation, readTemplate } from '../harness/cdk-out.ts';
import { LAMBDA_BUNDLING } from '../harness/bundling.ts';
import { contract } from '../lambda/src/contract.ts';
import { ROOT, OUT, step } from './common.ts';

/** The SDK floor (bench/sdk-floor.ts), bundled the way the handlers are, so both load alike. */
export const FLOOR_BUNDLE = path.join(OUT, 'floor', 'index.mjs');

export async function buildFloor(): Promise<void> {
  await esbuild.build({ ...LAMBDA_BUNDLING, entryPoints: [path.join(ROOT, 'bench', 'sdk-floor.ts')], outfile: FLOOR_BUNDLE });
}

export const OPERATIONS = contract.operations;

// ---- 2. bundles --------------------------------------------------------------------------------
export interface Bundle {
  operation: string;
  assetDir: string;
  bytes: number;
  mapBytes: number;
  /** null when there was no synthesized asset to compare with. */
  identicalToLocalBuild: boolean | null;
  topInputs: Array<{ package: string; bytes: number }>;
}

/** Each operation's asset folder (the same in every stage), and the dev template, from the assembly. */
export function assetsByOperation(outdir: string): { assets: Map<string, string>; devTemplate: string | undefined } {
  const assets = new Map<string, string>();
  const names = OPERATIONS.map((operation) => operation.name);
  for (const templatePath of findTemplates(outdir)) {
    const template = readTemplate(templatePath);
    for (const [name, resource] of functionsByOperation(template, names)) {
      const dir = assetDirectory(template, resource);
      if (!dir) continue;
      const known = assets.get(name);
      if (known && known !== dir) throw new Error(`${name} has different assets in different stages: ${known} and ${dir}`);
      assets.set(name, dir);
    }
  }
  let devTemplate: string | undefined;
  try {
    devTemplate = findDevTemplate(outdir);
  } catch {
    devTemplate = undefined;
  }
  return { assets, devTemplate };
}

export async function bundles(outdir: string | undefined): Promise<{ bundles: Bundle[]; devTemplate: string | undefined }> {
  step('bundles');
  const { assets, devTemplate } = outdir ? assetsByOperation(outdir) : { assets: new Map<string, string>(), devTemplate: undefined };
  const result: Bundle[] = [];
  for (const operation of OPERATIONS) {
    const localOut = path.join(OUT, 'esbuild', operation.name, 'index.mjs');
    const built = await esbuild.build({
      ...LAMBDA_BUNDLING,
      entryPoints: [path.join(ROOT, 'lambda', operation.entry)],
      outfile: localOut,
      metafile: true,
    });
    writeFileSync(path.join(OUT, 'esbuild', operation.name, 'meta.json'), JSON.stringify(built.metafile));
    if (outdir && !assets.has(operation.name)) throw new Error(`no asset for ${operation.name} in ${outdir}`);
    const assetDir = assets.get(operation.name) ?? path.dirname(localOut);
    const code = readFileSync(path.join(assetDir, 'index.mjs'));
    const mapBytes = statSync(path.join(assetDir, 'index.mjs.map')).size;
    const output = Object.values(built.metafile.outputs).find((o) => o.entryPoint !== undefined);
    const byPackage = new Map<string, number>();
    for (const [input, info] of Object.entries(output?.inputs ?? {})) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = match?.[1] ?? (input.startsWith('lambda/') ? path.dirname(input) : input);
      byPackage.set(key, (byPackage.get(key) ?? 0) + info.bytesInOutput);
    }
    result.push({
      operation: operation.name,
      assetDir: path.relative(ROOT, assetDir),
      bytes: code.length,
      mapBytes,
      identicalToLocalBuild: outdir ? readFileSync(localOut).equals(code) : null,
      topInputs: [...byPackage.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([name, bytes]) => ({ package: name, bytes })),
    });
  }
  return { bundles: result, devTemplate };
}
