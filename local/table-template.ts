// Which synthesized dev template `make local` runs from (harness/deployed.ts reads the table, CORS
// and the functions' settings out of it), and whether it is older than the CDK sources.
//
//   node local/table-template.ts            prints the chosen template and the table's Properties
//   node local/table-template.ts --fresh    exits 1 when the dev template is missing or older than the CDK sources
//
// USERS_TABLE_TEMPLATE=<file> uses that template instead of searching cdk.out.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findDevTemplate, REPO_ROOT } from '../harness/cdk-out.ts';
import { devConfiguration } from '../harness/deployed.ts';

/** The paths the synthesized templates derive from (anything newer makes the template stale). */
export const CDK_SOURCES = ['app.py', 'cdk.json', 'service', 'stages', 'pipeline', 'config', 'lambda/service-contract.json'];

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
    if (reason) process.stderr.write(`dev template needs a synth: ${reason.split('\n')[0] ?? reason}\n`);
    process.exitCode = reason ? 1 : 0;
  } else {
    try {
      const { templatePath, tables } = devConfiguration();
      process.stdout.write(`${JSON.stringify({ templatePath, tables }, null, 2)}\n`);
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
