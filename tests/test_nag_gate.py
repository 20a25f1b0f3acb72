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

import pytest
from aws_cdk import App
from aws_cdk import aws_s3 as s3

from app import build_app
from config import StageName
from stages.service_stage import ServiceStage
from tests.conftest import PROJECT_ROOT, shipped_context
from tests.stage_support import SKIP_BUNDLING

pytestmark = pytest.mark.synth

PLANTED_RULES = ("AwsSolutions-S1", "AwsSolutions-S10")


def _plant_unencrypted_bucket(stage: ServiceStage) -> None:
    # No access logs, no TLS-only policy: two AwsSolutions findings nobody acknowledged.
    s3.Bucket(stage.service, "PlantedNonCompliantBucket")


def _service_stages(app: App) -> list[ServiceStage]:
    return [construct for construct in app.node.find_all() if isinstance(construct, ServiceStage)]


def test_the_real_app_synthesizes_with_no_unacknowledged_finding(tmp_path: Path) -> None:
    app = build_app(App(context={**shipped_context(), **SKIP_BUNDLING}, outdir=str(tmp_path)))
    assembly = app.synth()
    assert assembly.stacks or assembly.nested_assemblies


def test_a_planted_violation_in_a_stage_fails_the_synth(tmp_path: Path) -> None:
    app = build_app(App(context={**shipped_context(), **SKIP_BUNDLING}, outdir=str(tmp_path)))
    stages = {stage.config.name: stage for stage in _service_stages(app)}
    assert set(stages) >= {StageName.DEV, StageName.QA, StageName.PROD}
    _plant_unencrypted_bucket(stages[StageName.QA])

    with pytest.raises(RuntimeError, match="[Vv]alidation"):
        app.synth()

    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {
        (violation["ruleName"], resource["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for resource in violation["violatingConstructs"]
    }
    # Under the pipeline the stage sits deeper in the tree; the suffix is what identifies it.
    planted = "Qa/UsersService/PlantedNonCompliantBucket/Resource"
    assert {rule for rule, path in findings if path.endswith(planted)} >= set(PLANTED_RULES)
    assert all(path.endswith(planted) for _, path in findings), findings


WRAPPER_APP = """
import sys
sys.path.insert(0, {root!r})
from aws_cdk import App
from aws_cdk import aws_s3 as s3
from app import build_app
from stages.service_stage import ServiceStage

app = build_app(App())
target = [c for c in app.node.find_all() if isinstance(c, ServiceStage) and c.node.id == {stage!r}]
assert len(target) == 1, target
s3.Bucket(target[0].service, "PlantedNonCompliantBucket")
app.synth()
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
