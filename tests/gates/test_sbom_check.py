"""The SBOM check (scripts/check_sbom.py, `make sbom`): the CDK app's Python SBOM, as cyclonedx-py
writes it from requirements.lock, passes; a package left out, listed at another version or not
locked fails, and so does a document that is not valid CycloneDX."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.check_sbom import PYTHON_SBOM, main
from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def python_sbom(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("sbom") / PYTHON_SBOM
    command = ["requirements", "requirements.lock", "--pyproject", "pyproject.toml", "--sv", "1.6", "--output-file"]
    subprocess.run(
        [sys.executable, "-W", "ignore::UserWarning", "-m", "cyclonedx_py", *command, str(out)],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=120,
    )
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def check(tmp_path: Path, document: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (tmp_path / PYTHON_SBOM).write_text(json.dumps(document))
    exit_code = main(tmp_path)
    captured = capsys.readouterr()
    return exit_code, captured.out + captured.err


def test_the_python_sbom_of_the_lock_passes(
    tmp_path: Path, python_sbom: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    names = {component["name"] for component in python_sbom["components"]}
    assert {"aws-cdk-lib", "cdk-nag", "constructs", "jsii"} <= names
    assert check(tmp_path, python_sbom, capsys) == (
        0,
        "sbom: 1 SBOMs in " + str(tmp_path) + ", valid CycloneDX 1.6; the Python one matches requirements.lock\n",
    )


def test_a_package_left_out_or_at_another_version_fails(
    tmp_path: Path, python_sbom: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(json.dumps(python_sbom))
    document["components"] = [c for c in document["components"] if c["name"] != "jsii"]
    for component in document["components"]:
        if component["name"] == "cdk-nag":
            component["version"] = "2.0.0"
    exit_code, output = check(tmp_path, document, capsys)
    assert exit_code == 1
    assert "jsii==" in output
    assert "is locked but listed nowhere" in output
    assert "cdk-nag==3.0.2 is locked but listed at 2.0.0" in output


def test_a_package_that_is_not_locked_fails(
    tmp_path: Path, python_sbom: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(json.dumps(python_sbom))
    document["components"].append(
        {"type": "library", "bom-ref": "lp", "name": "left-pad", "version": "1.0", "purl": "pkg:pypi/left-pad@1.0"}
    )
    exit_code, output = check(tmp_path, document, capsys)
    assert exit_code == 1
    assert "left-pad is listed but not locked" in output


def test_a_document_that_is_not_cyclonedx_fails(
    tmp_path: Path, python_sbom: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "createUser.cdx.json").write_text(json.dumps({"bomFormat": "SPDX", "specVersion": "1.6"}))
    exit_code, output = check(tmp_path, python_sbom, capsys)
    assert exit_code == 1
    assert "createUser.cdx.json: not valid CycloneDX 1.6" in output


def test_a_missing_python_sbom_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(tmp_path) == 1
    assert f"{PYTHON_SBOM} is missing" in capsys.readouterr().err
