"""TypeScript static analysis is ESLint with typescript-eslint's type-checked strict rules
(eslint.config.js, `make lint`). These plant findings in a copy that holds the project's own
ESLint and TypeScript configuration, and see ESLint refuse each one: the rules need the types of
a real program, so the planted files sit where tsconfig.json includes them. One ESLint run lints
every planted file (each in a file of its own) and the clean ones beside them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

CONFIGURATION = ("eslint.config.js", "tsconfig.json", "tsconfig.base.json", "package.json")

# path -> (source, the rule that must refuse it)
PLANTED: dict[str, tuple[str, str]] = {
    "lambda/src/lib/floating.ts": (
        "async function save(): Promise<void> {}\nexport function handle(): void {\n  save();\n}\n",
        "@typescript-eslint/no-floating-promises",
    ),
    "lambda/src/lib/unsafe.ts": (
        "export function read(text: string): string {\n  return JSON.parse(text).name;\n}\n",
        "@typescript-eslint/no-unsafe-member-access",
    ),
    "local/template.ts": (
        "export function status(code: number | undefined): string {\n  return `status ${code}`;\n}\n",
        "@typescript-eslint/restrict-template-expressions",
    ),
    "bench/thenable.ts": (
        "export async function one(): Promise<number> {\n  return await 1;\n}\n",
        "@typescript-eslint/await-thenable",
    ),
    "scripts/unused.ts": (
        "export function run(): number {\n  const unused = 1;\n  return 2;\n}\n",
        "@typescript-eslint/no-unused-vars",
    ),
    "lambda/test/unit/explicit-any.test.ts": (
        "export const loose: any = 1;\n",
        "@typescript-eslint/no-explicit-any",
    ),
    "lambda/src/lib/unreasoned.ts": (
        "// eslint-disable-next-line @typescript-eslint/no-explicit-any\nexport const loose: any = 1;\n",
        "eslint-comments/require-description",
    ),
    "lambda/src/lib/blanket.ts": (
        "/* eslint-disable -- everything */\nexport const loose: any = 1;\n",
        "eslint-comments/no-unlimited-disable",
    ),
    "lambda/src/lib/stale-disable.ts": (
        "// eslint-disable-next-line no-console -- nothing here logs\nexport const quiet = 1;\n",
        "Unused eslint-disable directive",
    ),
    "canary/nodejs/node_modules/undefined.js": (
        "'use strict';\nexports.handler = async () => missing();\n",
        "no-undef",
    ),
}

CLEAN: dict[str, str] = {
    "lambda/src/lib/clean.ts": "export function double(value: number): number {\n  return value * 2;\n}\n",
    "local/reasoned.ts": (
        "// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a reason, as every disable gives\n"
        "export const loose: any = 1;\n"
    ),
    # A test reads the JSON a handler answered; its assertions check the shape.
    "lambda/test/unit/parsed.test.ts": "export const name: unknown = JSON.parse('{}').name;\n",
    "canary/nodejs/node_modules/clean.js": "'use strict';\nexports.handler = async () => process.env.X;\n",
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Each linted file's findings as `rule: message`, from one ESLint run over a copy."""
    root = tmp_path_factory.mktemp("eslint")
    for name in CONFIGURATION:
        shutil.copyfile(PROJECT_ROOT / name, root / name)
    (root / "node_modules").symlink_to(PROJECT_ROOT / "node_modules", target_is_directory=True)
    files = {path: source for path, (source, _) in PLANTED.items()} | CLEAN
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    environment = {**os.environ, "PATH": f"{PROJECT_ROOT / 'node_modules/.bin'}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [str(PROJECT_ROOT / "node_modules/.bin/eslint"), "--max-warnings=0", "--format", "json", *files],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    return {
        str(Path(report["filePath"]).relative_to(root)): [
            f"{message.get('ruleId')}: {message['message']}" for message in report["messages"]
        ]
        for report in json.loads(result.stdout)
    }


@pytest.mark.parametrize("path", sorted(PLANTED))
def test_a_planted_finding_fails_the_lint(findings: dict[str, list[str]], path: str) -> None:
    rule = PLANTED[path][1]
    assert any(rule in finding for finding in findings[path]), findings[path]


@pytest.mark.parametrize("path", sorted(CLEAN))
def test_clean_code_and_a_reasoned_disable_pass(findings: dict[str, list[str]], path: str) -> None:
    assert findings[path] == []
