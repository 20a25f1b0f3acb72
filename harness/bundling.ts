/**
 * lambda/bundling.json as the esbuild options NodejsFunction passes for service/functions.py, run
 * from the project root as CDK does. The bench and the SBOM build with these and check that their
 * build is byte-identical to the synthesized asset, so what they measure or list is what ships.
 */
import type { BuildOptions, Format } from 'esbuild';
import bundlingDocument from '../lambda/bundling.json' with { type: 'json' };
import { REPO_ROOT } from './cdk-out.ts';

const bundling = bundlingDocument as { target: string; format: Format; minify: boolean; sourcemap: boolean; external: string[]; mainFields: string[]; banner: string };

export const LAMBDA_BUNDLING = {
  bundle: true,
  platform: 'node',
  target: bundling.target,
  format: bundling.format,
  minify: bundling.minify,
  sourcemap: bundling.sourcemap,
  external: bundling.external,
  mainFields: bundling.mainFields,
  banner: { js: bundling.banner },
  absWorkingDir: REPO_ROOT,
  logLevel: 'warning',
} satisfies BuildOptions;
