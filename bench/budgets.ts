// The budgets `make bench` holds the measurements to (docs/benchmarks.md).

export const BUDGETS = {
  coldOverheadMs: 25, // handler load+init over its SDK floor, median
  bundleBytes: 150 * 1024, // minified index.mjs, source map excluded
  warmOverheadP50Ms: 2, // in-process handler p50 over the DynamoDB floor p50
  createColdTotalMs: 0.45 * 250, // create handler load+init, median
  // full `cdk synth '**'` over the same synth of bench/minimal_app.py (one empty stack), medians of
  // alternating runs: the commit before the synth-time work measured 3.8-4.0 here, after it 2.1-3.0.
  synthRatio: 3.3,
} as const;
