"""The secrets gate (scripts/check_secrets.py, `make secrets`): the repository passes against its
reviewed baseline, and a planted AWS key in a copy fails it, named."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

CHECK = [sys.executable, str(PROJECT_ROOT / "scripts/check_secrets.py")]
# Assembled here so that this file itself holds no key-shaped string.
FAKE_ACCESS_KEY_ID = "AKIA" + "IOSFODNN7" + "EXAMPLE"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"  # pragma: allowlist secret


def _repository_with(tmp_path: Path, files: dict[str, str]) -> Path:
    shutil.copyfile(PROJECT_ROOT / ".secrets.baseline", tmp_path / ".secrets.baseline")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    return tmp_path


def test_the_repository_passes_against_its_reviewed_baseline() -> None:
    before = (PROJECT_ROOT / ".secrets.baseline").read_bytes()
    result = subprocess.run(CHECK, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert (PROJECT_ROOT / ".secrets.baseline").read_bytes() == before, "the baseline is left as it was"


def test_a_planted_aws_key_fails_naming_the_file(tmp_path: Path) -> None:
    root = _repository_with(
        tmp_path,
        {"deploy.py": f'AWS_ACCESS_KEY_ID = "{FAKE_ACCESS_KEY_ID}"\naws_secret_access_key = "{FAKE_SECRET_KEY}"\n'},
    )
    result = subprocess.run(CHECK, cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout
    assert "deploy.py:1: AWS Access Key" in result.stderr
    assert "deploy.py:2:" in result.stderr


def test_a_clean_copy_passes(tmp_path: Path) -> None:
    root = _repository_with(tmp_path, {"app.py": 'print("hello")\n'})
    result = subprocess.run(CHECK, cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr


def test_given_files_only_those_are_scanned_and_a_planted_key_among_them_fails(tmp_path: Path) -> None:
    root = _repository_with(
        tmp_path,
        {"deploy.py": f'AWS_ACCESS_KEY_ID = "{FAKE_ACCESS_KEY_ID}"\n', "app.py": 'print("hello")\n'},
    )
    planted = subprocess.run([*CHECK, "deploy.py"], cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert planted.returncode == 1, planted.stdout
    assert "deploy.py:1: AWS Access Key" in planted.stderr
    clean = subprocess.run([*CHECK, "app.py"], cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert clean.returncode == 0, clean.stderr


def test_a_reviewed_placeholder_passes_when_its_file_is_scanned_alone() -> None:
    reviewed = "bench/cold.ts"  # DynamoDB Local's `local` credentials, marked not secret
    assert reviewed in (PROJECT_ROOT / ".secrets.baseline").read_text()
    result = subprocess.run(
        [*CHECK, reviewed], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
