"""Python static analysis is ruff with its bandit rules (S) on, in `make lint`: these plant the
problems bandit exists for in code of the app and see ruff refuse them, and show what the tests
may do that the app may not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

RUFF = str(Path(sys.executable).with_name("ruff"))


def ruff(path: str, source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RUFF, "check", "--no-cache", "--output-format", "concise", "--stdin-filename", path, "-"],
        cwd=PROJECT_ROOT,
        input=source,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("import subprocess\n\nsubprocess.run('ls', shell=True)\n", "S602"),
        ("def run(text: str) -> object:\n    return eval(text)\n", "S307"),
        ("import pickle\n\n\ndef load(data: bytes) -> object:\n    return pickle.loads(data)\n", "S301"),
        ("PASSWORD = 'hunter2'\n", "S105"),  # pragma: allowlist secret
        ("def check(flag: bool) -> None:\n    assert flag\n", "S101"),
    ],
)
def test_a_planted_problem_in_the_app_fails_the_lint(source: str, rule: str) -> None:
    result = ruff("service/planted.py", source)
    assert result.returncode == 1
    assert rule in result.stdout


def test_tests_may_assert_and_the_app_passes_as_it_is() -> None:
    assert ruff("tests/unit/planted_test.py", "def test_it() -> None:\n    assert 1 + 1 == 2\n").returncode == 0
    whole = subprocess.run(
        [RUFF, "check", "--no-cache", "."], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert whole.returncode == 0, whole.stdout
