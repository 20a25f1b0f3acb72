// The local issuer's key, shared between the running server and `make local-token` through a
// git-ignored file (mode 0600). The server writes a new key on every start, after it owns its port.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..');
export const LOCAL_ISSUER = 'http://127.0.0.1/users-service-local-issuer';
export const LOCAL_CLIENT_ID = 'users-service-local-client';

export interface TokenSigningFile {
  issuer: string;
  audience: string;
  kid: string;
  privateKeyPem: string;
  apiUrl: string;
  serverPid: number;
  createdAt: string;
}

export function signingFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(REPO_ROOT, env.TOKEN_SIGNING_FILE ?? '.local/token-signing.json');
}

export function writeSigningFile(path: string, content: TokenSigningFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

export function readSigningFile(path: string): TokenSigningFile {
  if (!existsSync(path)) {
    throw new Error(`No local signing key at ${path}: start the local API first with \`make local\` (it writes a new key on every start).`);
  }
  const content = JSON.parse(readFileSync(path, 'utf8')) as Partial<TokenSigningFile>;
  for (const key of ['issuer', 'audience', 'kid', 'privateKeyPem'] as const) {
    if (typeof content[key] !== 'string') throw new Error(`${path} has no ${key}: restart \`make local\``);
  }
  return content as TokenSigningFile;
}
