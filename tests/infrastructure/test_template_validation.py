"""cfn-lint is the template validator: CDK's built-in CloudFormation validation is off (app.new_app),
so a schema error in a stage must still fail `make test` (its cfn-lint target, which the pipeline's
Build runs) even though the synth itself succeeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import CfnResource

import app as app_module
from stages.service_stage import ServiceStage
from tests.assembly import synthesize_app
from tests.conftest import PROJECT_ROOT


def cfn_lint(templates: list[Path]) -> subprocess.CompletedProcess[str]:
    """The command `make cfn-lint` runs, over the given files (cfn-lint expands no quoted glob)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--non-zero-exit-code", "warning", "--", *map(str, templates)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class SchemaErrorStage(ServiceStage):
    """Qa with a property its table's CloudFormation schema does not have."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if self.node.id == "Qa":
            table = self.service.table.node.default_child
            assert isinstance(table, CfnResource)
            table.add_property_override("BillingModeTypo", "PAY_PER_REQUEST")


def test_a_planted_schema_error_synthesizes_but_fails_cfn_lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "ServiceStage", SchemaErrorStage)
    planted = synthesize_app(tmp_path / "cdk.out")
    qa_template = next((tmp_path / "cdk.out").glob("assembly-Qa/*.template.json"))
    (table,) = [
        r
        for r in json.loads(qa_template.read_text())["Resources"].values()
        if r.get("Metadata", {}).get("aws:cdk:path", "").endswith("/Database/Table/Resource")
    ]
    assert "BillingModeTypo" in table["Properties"]
    assert len(planted.stacks) == 4

    result = cfn_lint([qa_template])

    assert result.returncode != 0
    assert "E3002" in result.stdout, result.stdout
    assert "BillingModeTypo" in result.stdout
    assert qa_template.name in result.stdout


def test_make_test_runs_cfn_lint_over_every_template() -> None:
    assert "builtin_cloud_formation_validation=False" in (PROJECT_ROOT / "app.py").read_text()
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    test_prerequisites = next(line for line in makefile.splitlines() if line.startswith("test:")).split()
    assert "cfn-lint" in test_prerequisites
    recipe = makefile.split("\ncfn-lint: synth", 1)[1].split("\n\n", 1)[0]
    assert "find cdk.out -name '*.template.json'" in recipe
    assert "cfn-lint --non-zero-exit-code warning" in recipe
