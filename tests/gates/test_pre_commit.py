"""The pre-commit hooks (.pre-commit-config.yaml) run in a scratch repository that holds the
project's configuration and tools: a planted lint finding, formatting slip, secret and ESLint
finding each fail their hook on the files of a commit, and clean files pass every hook."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

CONFIGURATION = (
    ".pre-commit-config.yaml",
    "pyproject.toml",
    "eslint.config.js",
    "tsconfig.json",
    "tsconfig.base.json",
    "package.json",
    ".secrets.baseline",
    "scripts/check_secrets.py",
)
# Assembled here so that this file itself holds no key-shaped string.
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"  # pragma: allowlist secret


def pre_commit(root: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name in CONFIGURATION:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT_ROOT / name, root / name)
    for tool in (".venv", "node_modules"):
        (root / tool).symlink_to(PROJECT_ROOT / tool, target_is_directory=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    return subprocess.run(
        [str(PROJECT_ROOT / ".venv/bin/pre-commit"), "run", "--color", "never", "--files", *files],
        cwd=root,
        env={**os.environ, "PRE_COMMIT_HOME": str(root.parent / "pre-commit-home")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("name", "source", "hook", "finding"),
    [
        ("service/planted.py", "def run(text: str) -> object:\n    return eval(text)\n", "ruff", "S307"),
        ("service/planted.py", "x=1\n", "ruff-format", "would be reformatted"),
        ("config/planted.txt", f'aws_secret_access_key = "{FAKE_SECRET_KEY}"\n', "secrets", "planted.txt:1:"),
        (
            "lambda/src/planted.ts",
            "async function save(): Promise<void> {}\nexport function handle(): void {\n  save();\n}\n",
            "eslint",
            "@typescript-eslint/no-floating-promises",
        ),
    ],
)
def test_a_planted_finding_fails_its_hook(tmp_path: Path, name: str, source: str, hook: str, finding: str) -> None:
    result = pre_commit(tmp_path / "repository", {name: source})
    assert result.returncode == 1, result.stdout
    # Each hook's report starts with its `name....Passed|Failed|Skipped` line.
    reports = re.split(r"^(?=\S.*\.{3}.*(?:Passed|Failed|Skipped)$)", result.stdout, flags=re.MULTILINE)
    (failed,) = [report for report in reports if f"- hook id: {hook}\n" in report]
    assert "Failed\n" in failed
    assert finding in failed


def test_clean_files_pass_every_hook(tmp_path: Path) -> None:
    result = pre_commit(
        tmp_path / "repository",
        {
            "service/clean.py": "def double(value: int) -> int:\n    return value * 2\n",
            "lambda/src/clean.ts": "export function double(value: number): number {\n  return value * 2;\n}\n",
        },
    )
    assert result.returncode == 0, result.stdout
    for hook in ("ruff", "ruff format", "detect-secrets", "ESLint"):
        assert any(line.startswith(hook) and line.endswith("Passed") for line in result.stdout.splitlines()), hook
