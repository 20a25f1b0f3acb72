// ESLint over every folder of code that runs: the functions (lambda/), the local run (local/), the
// bench (bench/), what they share (harness/), the build scripts (scripts/) and the stage's
// synthetic client (canary/).
// typescript-eslint's type-checked strict rules read the same program tsconfig.json defines, so a
// finding is about the types the compiler sees, not a guess from syntax; the canary is plain
// CommonJS for the Synthetics runtime and gets the rules that need no types. Findings fail
// `make lint`; a disable comment names its rules and says why after `--`, and one that no longer
// silences anything is itself a finding.
import comments from "@eslint-community/eslint-plugin-eslint-comments/configs";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const TYPESCRIPT = ["lambda/**/*.ts", "local/**/*.ts", "bench/**/*.ts", "harness/**/*.ts", "scripts/**/*.ts", "bench/**/*.mjs", "harness/**/*.mjs"];
// The Synthetics runtime loads the script from nodejs/node_modules/, so that folder is source.
const CANARY = ["canary/nodejs/node_modules/*.js"];

export default tseslint.config(
  {
    // ESLint skips every node_modules folder by default; the canary's is source (see below).
    ignores: ["cdk.out/**", ".venv/**", ".cache/**", ".bench/**", ".local/**", "!canary/nodejs/node_modules/"],
  },
  {
    files: [...TYPESCRIPT, ...CANARY],
    extends: [comments.recommended],
    rules: {
      "@eslint-community/eslint-comments/require-description": ["error", { ignore: [] }],
      // A disable names the rules it silences: a blanket one would hide the next finding too.
      "@eslint-community/eslint-comments/no-unlimited-disable": "error",
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error",
    },
  },
  {
    files: CANARY,
    extends: [js.configs.recommended],
    languageOptions: {
      sourceType: "commonjs",
      globals: { process: "readonly", Buffer: "readonly", fetch: "readonly", URL: "readonly", URLSearchParams: "readonly", AbortSignal: "readonly" },
    },
  },
  {
    files: TYPESCRIPT,
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits; every other
      // promise must still be awaited or handled.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] }],
        },
      ],
      // A number renders the same in every locale inside a template; everything else the strict
      // preset rejects stays a finding. Each option is spelled out: one left out takes the rule's
      // lenient default (undefined and null would pass), not the preset's.
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowAny: false, allowBoolean: false, allowNullish: false, allowRegExp: false, allowNever: false, allowArray: false },
      ],
    },
  },
  {
    // A test reads the JSON a handler answered (JSON.parse gives any) and its assertions are the
    // check of that shape: a declared type there would be a cast nothing verifies. Explicit any
    // stays a finding, so each source of an untyped value is named where it is made.
    files: ["lambda/test/**/*.ts", "local/test/**/*.ts", "scripts/test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // The same parsed values in an assertion's message.
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowAny: true, allowBoolean: false, allowNullish: false, allowRegExp: false, allowNever: false, allowArray: false },
      ],
    },
  },
);
