// What every measurement of `make bench` shares: paths, the sizes of the runs, child processes
// (bounded in time, killed on exit), free ports, statistics and the machine's description.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import * as esbuild from 'esbuild';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const OUT = path.join(ROOT, '.bench');
export const NODE = process.execPath;

// ---- sizes of the runs -------------------------------------------------------------------------
export const SYNTH_RUNS = 3;
export const COLD_RUNS = 15;
export const WARM_CALLS = 500;
export const WARM_WARMUP = 50;
export const WARM_TIME_LIMIT_MS = 60_000;
export const LOAD_CONCURRENCY = 8;
export const LOAD_MAX_REQUESTS = 4000;
export const LOAD_MAX_MS = 15_000;
export const CHILD_TIMEOUT_MS = 120_000;

// ---- processes ---------------------------------------------------------------------------------
export const children = new Set<ChildProcess>();
/** Stopped on Ctrl-C, like every child: what the orchestrator started (DynamoDB Local). */
export const onInterrupt: Array<() => Promise<void>> = [];

export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.once('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren();
    void Promise.allSettled(onInterrupt.map((stop) => stop())).finally(() => process.exit(130));
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  fd3: string;
  wallMs: number;
}

/** Runs a command to completion (killed after timeoutMs); fd 3 is a pipe for the children's results. */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; keep?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const fd3: Buffer[] = [];
    // Logs are drained (as Lambda's log pipe would be) and kept only when asked for.
    child.stdout?.on('data', (chunk: Buffer) => options.keep !== false && out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (chunk: Buffer) => fd3.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? CHILD_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      children.delete(child);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        fd3: Buffer.concat(fd3).toString('utf8'),
        wallMs,
      });
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}


// ---- statistics --------------------------------------------------------------------------------
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
export const median = (values: number[]): number => quantile(values, 0.5);
export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

export function step(title: string): void {
  process.stderr.write(`bench: ${title}\n`);
}


// ---- 0. the machine ----------------------------------------------------------------------------
export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  node: string;
  esbuild: string;
  java: string;
  platform: string;
}

export function machine(): MachineInfo {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout.trim();
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0] ?? '';
  return {
    date: new Date().toISOString(),
    nproc: Number(nproc) || cpus().length,
    cpuModel: model,
    node: process.version,
    esbuild: esbuild.version,
    java,
    platform: `${process.platform}-${process.arch}`,
  };
}
