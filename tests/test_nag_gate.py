"""The cdk-nag gate must fail a synth on any unacknowledged finding, in every stage.

Template.from_stack does not run validation plugins, so these tests synthesize whole apps:
in process, and through the CDK CLI exactly as `make synth` runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_s3 as s3

import app as app_module
from app import build_app
from stages.service_stage import ServiceStage
from tests.conftest import PROJECT_ROOT, shipped_context
from tests.stage_support import SKIP_BUNDLING

pytestmark = pytest.mark.synth

PLANTED_RULES = ("AwsSolutions-S1", "AwsSolutions-S10")


def planting_stage(target_stage_id: str) -> type[ServiceStage]:
    """A ServiceStage that also holds a bucket with no access logs and no TLS-only policy: two
    AwsSolutions findings nobody acknowledged. It is planted while the stage is built because
    CDK Pipelines synthesizes each stage when it is added, after which the tree is frozen."""

    class PlantingServiceStage(ServiceStage):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self.node.id == target_stage_id:
                s3.Bucket(self.service, "PlantedNonCompliantBucket")

    return PlantingServiceStage


OPTIONAL_FEATURES = {
    "stages.prod.alarmEmail": "oncall@example.com",
    "pipeline.notificationEmail": "releases@example.com",
    "sandbox": "true",
}


@pytest.mark.parametrize("options", [{}, OPTIONAL_FEATURES], ids=["as-shipped", "every-option"])
def test_the_real_app_synthesizes_with_no_unacknowledged_finding(tmp_path: Path, options: dict[str, str]) -> None:
    app = build_app(App(context={**shipped_context(), **SKIP_BUNDLING, **options}, outdir=str(tmp_path)))
    assembly = app.synth()
    assert assembly.stacks


def test_a_planted_violation_in_a_stage_fails_the_synth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "ServiceStage", planting_stage("Qa"))
    app = build_app(App(context={**shipped_context(), **SKIP_BUNDLING}, outdir=str(tmp_path)))

    with pytest.raises(RuntimeError, match=r"[Vv]alidation"):
        app.synth()

    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {
        (violation["ruleName"], resource["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for resource in violation["violatingConstructs"]
    }
    planted = "Qa/UsersService/PlantedNonCompliantBucket/Resource"
    assert {rule for rule, path in findings if path.endswith(planted)} >= set(PLANTED_RULES)
    assert all(path.endswith(planted) for _, path in findings), findings


WRAPPER_APP = """
import sys
sys.path.insert(0, {root!r})
from aws_cdk import App
import app as app_module
from tests.test_nag_gate import planting_stage

app_module.ServiceStage = planting_stage({stage!r})
app_module.build_app(App()).synth()
"""


def _cli_synth(tmp_path: Path, app_command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{PROJECT_ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return subprocess.run(
        [
            "cdk",
            "synth",
            "**",
            "--quiet",
            "--app",
            app_command,
            "--output",
            str(tmp_path / "cdk.out"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("stage_id", ["Dev", "Prod"])
def test_the_cli_synth_exits_non_zero_over_a_planted_violation(tmp_path: Path, stage_id: str) -> None:
    wrapper = tmp_path / "planted_app.py"
    wrapper.write_text(textwrap.dedent(WRAPPER_APP.format(root=str(PROJECT_ROOT), stage=stage_id)))

    result = _cli_synth(tmp_path, f"{sys.executable} {wrapper}")

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "PlantedNonCompliantBucket" in output
    assert "AwsSolutions-S1" in output


def test_the_cli_synth_of_the_real_app_exits_zero(tmp_path: Path) -> None:
    result = _cli_synth(tmp_path, f"{sys.executable} {PROJECT_ROOT / 'app.py'}")

    assert result.returncode == 0, result.stdout + result.stderr
