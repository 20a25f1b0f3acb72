// 1. The synth (against a minimal app, alternately) and pytest.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT, OUT, SYNTH_RUNS, run, median, round, step } from './common.ts';

// ---- 1. synth and pytest -----------------------------------------------------------------------
export interface SynthResult {
  runsMs: number[];
  medianMs: number;
  minimalRunsMs: number[];
  minimalMedianMs: number;
  /** medianMs / minimalMedianMs */
  ratio: number;
  /** undefined when the synth failed: the bundles then come from the identical local esbuild build. */
  outdir: string | undefined;
  error?: string;
}

export async function synth(): Promise<SynthResult> {
  const runsMs: number[] = [];
  const minimalRunsMs: number[] = [];
  const outdir = path.join(OUT, 'synth');
  const minimalOutdir = path.join(OUT, 'synth-minimal');
  const minimalApp = `${path.join(ROOT, '.venv', 'bin', 'python')} ${path.join(ROOT, 'bench', 'minimal_app.py')}`;
  let error: string | undefined;
  // Alternating with the minimal app, so both see the same machine load.
  for (let i = 1; i <= SYNTH_RUNS && error === undefined; i++) {
    step(`synth ${i}/${SYNTH_RUNS} (minimal app, then the full app)`);
    rmSync(minimalOutdir, { recursive: true, force: true });
    const minimal = await run('cdk', ['synth', '**', '--quiet', '--app', minimalApp, '-o', minimalOutdir], { timeoutMs: 60_000 });
    if (minimal.code !== 0) error = `minimal cdk synth failed (exit ${String(minimal.code)}): ${minimal.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    else minimalRunsMs.push(minimal.wallMs);
    rmSync(outdir, { recursive: true, force: true });
    const result = await run('cdk', ['synth', '**', '--quiet', '-o', outdir], { timeoutMs: 180_000 });
    if (result.code !== 0) {
      error = `cdk synth failed (exit ${String(result.code)}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      process.stderr.write(`${result.stderr.slice(-4000)}\n`);
    } else runsMs.push(result.wallMs);
  }
  return {
    runsMs: runsMs.map((ms) => round(ms, 0)),
    medianMs: round(median(runsMs), 0),
    minimalRunsMs: minimalRunsMs.map((ms) => round(ms, 0)),
    minimalMedianMs: round(median(minimalRunsMs), 0),
    ratio: round(median(runsMs) / median(minimalRunsMs), 2),
    outdir: error === undefined ? outdir : undefined,
    ...(error === undefined ? {} : { error }),
  };
}

/** The Python test suite once (its wall time is reported, its failures are not the bench's). */
export interface PytestSummary {
  wallMs: number;
  exitCode: number | null;
  summary: string;
}

export async function pytest(): Promise<PytestSummary> {
  step('pytest -q');
  const tests = await run('pytest', ['-q', '-p', 'no:cacheprovider'], { timeoutMs: 240_000 });
  const summary = tests.stdout.trim().split('\n').pop() ?? '';
  return { wallMs: round(tests.wallMs, 0), exitCode: tests.code, summary };
}
