// `make local-token`: mints an access token for the API that `make local` runs, shaped like a
// Cognito client-credentials access token. The token is the last line of stdout.
//   SCOPES="users/read"  space- or comma-separated scopes (default: every scope of the contract)
//   TOKEN_TTL_SECONDS     lifetime (default 3600)
import { randomUUID } from 'node:crypto';
import { contract } from '../lambda/src/contract.ts';
import { signJwt } from './jwt.ts';
import { readSigningFile, signingFilePath, type TokenSigningFile } from './token-signing.ts';

function contractScopes(): string[] {
  return Object.values(contract.scopes);
}

function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function main(): number {
  const path = signingFilePath();
  let signing: TokenSigningFile;
  try {
    signing = readSigningFile(path);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  if (!isAlive(signing.serverPid)) {
    process.stderr.write(
      `warning: the server that wrote ${path} (pid ${signing.serverPid}) is not running; the next \`make local\` uses a new key and will reject this token\n`,
    );
  }
  const scopes = (process.env.SCOPES ?? contractScopes().join(' ')).split(/[\s,]+/).filter((s) => s !== '');
  const ttl = Number(process.env.TOKEN_TTL_SECONDS ?? 3600);
  if (!Number.isFinite(ttl) || ttl <= 0) {
    process.stderr.write(`TOKEN_TTL_SECONDS must be a positive number, got ${String(process.env.TOKEN_TTL_SECONDS)}\n`);
    return 1;
  }
  const now = Math.floor(Date.now() / 1000);
  const token = signJwt(
    {
      sub: signing.audience,
      token_use: 'access',
      scope: scopes.join(' '),
      auth_time: now,
      iss: signing.issuer,
      exp: now + ttl,
      iat: now,
      nbf: now,
      jti: randomUUID(),
      client_id: signing.audience,
      version: 2,
    },
    signing.privateKeyPem,
    signing.kid,
  );
  process.stderr.write(`scopes: ${scopes.join(' ') || '(none)'}; expires in ${ttl}s; API: ${signing.apiUrl}\n`);
  process.stdout.write(`${token}\n`);
  return 0;
}

process.exitCode = main();
