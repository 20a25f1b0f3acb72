"""TypeScript static analysis is ESLint with typescript-eslint's type-checked strict rules
(eslint.config.js, `make lint`). These plant findings in a copy that holds the project's own
ESLint and TypeScript configuration, and see ESLint refuse each one: the rules need the types of
a real program, so the planted files sit where tsconfig.json includes them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

CONFIGURATION = ("eslint.config.js", "tsconfig.json", "tsconfig.base.json", "package.json")
CLEAN_HANDLER = "export function double(value: number): number {\n  return value * 2;\n}\n"


def lint(tmp_path: Path, files: dict[str, str]) -> tuple[int, list[str]]:
    """ESLint's exit code and its findings as `path: rule: message`."""
    for name in CONFIGURATION:
        shutil.copyfile(PROJECT_ROOT / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(PROJECT_ROOT / "node_modules", target_is_directory=True)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    eslint = PROJECT_ROOT / "node_modules/.bin/eslint"
    environment = {**os.environ, "PATH": f"{PROJECT_ROOT / 'node_modules/.bin'}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [str(eslint), "--max-warnings=0", "--format", "json", *files],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    findings = [
        f"{Path(report['filePath']).relative_to(tmp_path)}: {message.get('ruleId')}: {message['message']}"
        for report in json.loads(result.stdout)
        for message in report["messages"]
    ]
    return result.returncode, findings


@pytest.mark.parametrize(
    ("path", "source", "rule"),
    [
        (
            "lambda/src/lib/planted.ts",
            "async function save(): Promise<void> {}\nexport function handle(): void {\n  save();\n}\n",
            "@typescript-eslint/no-floating-promises",
        ),
        (
            "lambda/src/lib/planted.ts",
            "export function read(text: string): string {\n  return JSON.parse(text).name;\n}\n",
            "@typescript-eslint/no-unsafe-member-access",
        ),
        (
            "local/planted.ts",
            "export function status(code: number | undefined): string {\n  return `status ${code}`;\n}\n",
            "@typescript-eslint/restrict-template-expressions",
        ),
        (
            "bench/planted.ts",
            "export async function one(): Promise<number> {\n  return await 1;\n}\n",
            "@typescript-eslint/await-thenable",
        ),
        (
            "lambda/test/unit/planted.test.ts",
            "export const loose: any = 1;\n",
            "@typescript-eslint/no-explicit-any",
        ),
        (
            "lambda/src/lib/planted.ts",
            "// eslint-disable-next-line @typescript-eslint/no-explicit-any\nexport const loose: any = 1;\n",
            "eslint-comments/require-description",
        ),
        (
            "lambda/src/lib/planted.ts",
            "// eslint-disable-next-line no-console -- nothing here logs\nexport const quiet = 1;\n",
            "Unused eslint-disable directive",
        ),
        (
            "canary/nodejs/node_modules/planted.js",
            "'use strict';\nexports.handler = async () => missing();\n",
            "no-undef",
        ),
    ],
)
def test_a_planted_finding_fails_the_lint(tmp_path: Path, path: str, source: str, rule: str) -> None:
    exit_code, findings = lint(tmp_path, {path: source})
    assert exit_code == 1, findings
    assert all(finding.startswith(f"{path}: ") for finding in findings), findings
    assert any(rule in finding for finding in findings), findings


def test_the_same_folders_pass_when_clean_and_a_reasoned_disable_is_accepted(tmp_path: Path) -> None:
    exit_code, findings = lint(
        tmp_path,
        {
            "lambda/src/lib/planted.ts": CLEAN_HANDLER,
            "local/planted.ts": (
                "// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a reason, as every disable gives\n"
                "export const loose: any = 1;\n"
            ),
            # A test reads the JSON a handler answered; its assertions check the shape.
            "lambda/test/unit/planted.test.ts": "export const name: unknown = JSON.parse('{}').name;\n",
            "canary/nodejs/node_modules/planted.js": "'use strict';\nexports.handler = async () => process.env.X;\n",
        },
    )
    assert (exit_code, findings) == (0, [])
