"""The cdk-nag gate must fail a synth on any unacknowledged finding, in every stage.

Template.from_stack does not run validation plugins, so these tests synthesize whole apps:
in process, and through the CDK CLI exactly as `make synth` runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_s3 as s3

import app as app_module
from app import build_app, new_app
from pipeline.pipeline_stack import PIPELINE_STACK_ID as PIPELINE
from stages.service_stage import ServiceStage
from tests.assembly import SynthesizedApp
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


def test_the_app_as_shipped_synthesizes_with_no_unacknowledged_finding(synthesized_app: SynthesizedApp) -> None:
    # The session's shared synth ran the nag gate: a finding would have failed it.
    assert sorted(synthesized_app.stacks) == ["Dev/UsersService", "Prod/UsersService", "Qa/UsersService", PIPELINE]
    report = json.loads((synthesized_app.outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_the_app_with_every_option_synthesizes_with_no_unacknowledged_finding(tmp_path: Path) -> None:
    app = build_app(new_app(context={**shipped_context(), **SKIP_BUNDLING, **OPTIONAL_FEATURES}, outdir=str(tmp_path)))
    assembly = app.synth()
    assert len(assembly.stacks_recursively) == 5  # and the sandbox


def test_a_planted_violation_in_a_stage_fails_the_synth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "ServiceStage", planting_stage("Qa"))
    app = build_app(new_app(context={**shipped_context(), **SKIP_BUNDLING}, outdir=str(tmp_path)))

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


def _cli_synth(tmp_path: Path, app_command: str, *context: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{PROJECT_ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    env["AWS_REGION"] = "us-east-1"
    env.pop("CDK_DEFAULT_REGION", None)
    # A temp dir of its own, so a test can see what the synth leaves behind.
    (tmp_path / "tmp").mkdir()
    env["TMPDIR"] = str(tmp_path / "tmp")
    command = ["cdk", "synth", "**", "--quiet", "--app", app_command, "--output", str(tmp_path / "cdk.out")]
    for item in context:
        command += ["-c", item]
    return subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assembly_problems(outdir: Path) -> list[str]:
    """What a cloud assembly lacks that its manifests name: templates, nested assemblies, assets."""
    problems: list[str] = []
    manifests = [outdir / "manifest.json"]
    while manifests:
        manifest_path = manifests.pop()
        if not manifest_path.is_file():
            problems.append(f"missing {manifest_path}")
            continue
        base = manifest_path.parent
        for artifact_id, artifact in json.loads(manifest_path.read_text())["artifacts"].items():
            properties = artifact.get("properties", {})
            if artifact["type"] == "aws:cloudformation:stack":
                template = base / properties["templateFile"]
                if not template.is_file():
                    problems.append(f"{artifact_id}: missing {template}")
                else:
                    json.loads(template.read_text())
            elif artifact["type"] == "cdk:cloud-assembly":
                manifests.append(base / properties["directoryName"] / "manifest.json")
            elif artifact["type"] == "cdk:asset-manifest":
                assets = json.loads((base / properties["file"]).read_text())
                for asset_id, asset in assets.get("files", {}).items():
                    if not (base / asset["source"]["path"]).exists():
                        problems.append(f"{artifact_id}: asset {asset_id} missing")
    return problems


def test_the_cli_synth_of_the_real_app_exits_zero_with_a_whole_assembly(tmp_path: Path) -> None:
    # app.py ends its process right after synth() (exit_after_synth): the CLI must still find
    # every template and every asset the manifests name.
    # With the sandbox too, so every optional stage passes the gate through the CLI as well.
    result = _cli_synth(tmp_path, f"{sys.executable} {PROJECT_ROOT / 'app.py'}", "sandbox=true")

    assert result.returncode == 0, result.stdout + result.stderr
    outdir = tmp_path / "cdk.out"
    assert assembly_problems(outdir) == []
    assert (outdir / "assembly-Sandbox").is_dir()
    assert len(list(outdir.rglob("*.template.json"))) == 5
    assert len(list(outdir.glob("asset.*"))) >= 5
    # The fast exit still removes the directory jsii unpacks its runtime into.
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_assembly_check_sees_a_missing_template(tmp_path: Path, synthesized_app: SynthesizedApp) -> None:
    copy = tmp_path / "cdk.out"
    shutil.copytree(synthesized_app.outdir, copy)
    assert assembly_problems(copy) == []
    removed = next(copy.glob("assembly-Qa/*.template.json"))
    removed.unlink()
    problems = assembly_problems(copy)
    # The stack artifact names the template, and so does the asset that publishes it.
    assert len(problems) == 2, problems
    assert f"missing {removed}" in problems[0] or f"missing {removed}" in problems[1]
    assert all("QaUsersService" in problem for problem in problems)


# --- a violation planted in every stack, through the real CLI -----------------------------------

PLANTED_APP = """
import sys
sys.path.insert(0, {root!r})
from aws_cdk import App
from aws_cdk import aws_s3 as s3
import app as app_module
from stages.service_stage import ServiceStage

TARGETS = {targets!r}


class PlantingStage(ServiceStage):
    # CDK Pipelines synthesizes a stage when it is added to the pipeline, so the violation goes
    # in while the stage is built, as a change to the service would.
    def __init__(self, scope, construct_id, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        if construct_id in TARGETS:
            s3.Bucket(self.service, "PlantedNonCompliantBucket")


app_module.ServiceStage = PlantingStage
# Bundling is not what these tests check; the CLI would otherwise bundle every function.
app = app_module.build_app(app_module.new_app(post_cli_context={{"aws:cdk:bundling-stacks": []}}))
if {pipeline!r} in TARGETS:
    s3.Bucket(app.node.find_child({pipeline!r}), "PlantedNonCompliantBucket")
app.synth()
"""


def _planted_cli_synth(tmp_path: Path, targets: tuple[str, ...], *context: str) -> subprocess.CompletedProcess[str]:
    wrapper = tmp_path / "planted_app.py"
    wrapper.write_text(textwrap.dedent(PLANTED_APP.format(root=str(PROJECT_ROOT), targets=targets, pipeline=PIPELINE)))
    return _cli_synth(tmp_path, f"{sys.executable} {wrapper}", *context)


PLANTED_TARGETS = (PIPELINE, "Dev", "Qa", "Prod", app_module.SANDBOX_ID)


@pytest.mark.synth
def test_a_violation_planted_anywhere_fails_the_cli_synth_and_each_is_reported(tmp_path: Path) -> None:
    # One CLI synth for all: the packs check the whole assembly before the synth fails, so the
    # report names every planted bucket, in the pipeline stack, each pipeline stage and the sandbox.
    result = _planted_cli_synth(tmp_path, PLANTED_TARGETS, "sandbox=true")

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for target in PLANTED_TARGETS:
        service = "" if target == PIPELINE else "UsersService/"
        assert f"{target}/{service}PlantedNonCompliantBucket" in output, (target, output)
    assert "AwsSolutions-S1" in output, output
    assert "AwsSolutions-S10" in output, output
