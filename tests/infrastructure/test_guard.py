"""The second policy engine (scripts/check_guard.py, `make guard`): AWS Control Tower's proactive
controls run by cfn-guard over the synthesized templates. `make guard` itself holds the real
assembly to it in `make test`; here a planted violation, a dropped acknowledgment and a stale one
each fail, named, and the rules follow the resource types the templates hold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from scripts.check_guard import ACKNOWLEDGED, PLUGIN, applicable_rules, main, toolchain
from tests.assembly import SynthesizedApp

DEV = "Dev/UsersService"


def dev_assembly(synthesized_app: SynthesizedApp, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of the dev stage's template and metadata only (one template keeps each run short)."""
    artifact_id = synthesized_app.stacks[DEV].artifact_id
    source = synthesized_app.outdir / "assembly-Dev"
    out = tmp_path / "cdk.out"
    out.mkdir()
    template = out / f"{artifact_id}.template.json"
    metadata = out / f"{artifact_id}.metadata.json"
    shutil.copyfile(source / template.name, template)
    shutil.copyfile(source / metadata.name, metadata)
    return out, template, metadata


def edit(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def function_log_group(template: dict[str, Any]) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup"
        and resource["Metadata"]["aws:cdk:path"] == f"{DEV}/Functions/GetUser/Logs/Resource"
    ]
    return str(logical_id)


def test_a_planted_violation_fails_naming_the_control_and_the_resource(
    synthesized_app: SynthesizedApp, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, template, _ = dev_assembly(synthesized_app, tmp_path)
    logical_id = function_log_group(json.loads(template.read_text()))
    edit(template, lambda t: t["Resources"][logical_id]["Properties"].pop("KmsKeyId"))
    assert main(out) == 1
    error = capsys.readouterr().err
    assert (
        f"CT.CLOUDWATCH.PR.3 cloudwatch_log_group_encrypted_check: {DEV}/Functions/GetUser/Logs/Resource "
        f"({logical_id})" in error
    )
    assert error.count("  CT.") == 1, error


def test_a_dropped_acknowledgment_fails_and_a_stale_one_too(
    synthesized_app: SynthesizedApp, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _, metadata = dev_assembly(synthesized_app, tmp_path)
    queue = f"/{DEV}/Functions/GetUser/DeadLetterQueue/Resource"
    bucket = f"/{DEV}/Logs/Bucket/Resource"

    def drop_and_plant(document: dict[str, Any]) -> None:
        for entry in document[queue]:
            if entry["type"] == ACKNOWLEDGED:
                entry["data"].pop(f"{PLUGIN}::sqs_dlq_check", None)
        document[bucket].append({"type": ACKNOWLEDGED, "data": {f"{PLUGIN}::s3_bucket_versioning_enabled_check": "r"}})

    edit(metadata, drop_and_plant)
    assert main(out) == 1
    error = capsys.readouterr().err
    assert f"CT.SQS.PR.1 sqs_dlq_check: {queue[1:]}" in error
    assert f"acknowledgment of s3_bucket_versioning_enabled_check on {bucket[1:]} matches no finding" in error


def test_the_rules_follow_the_resource_types_present(tmp_path: Path) -> None:
    _, rules = toolchain()
    queue_rules = {rule.parent.name for rule in applicable_rules(rules, {"AWS::SQS::Queue"})}
    assert queue_rules == {"sqs"}
    untyped = tmp_path / "rules"
    untyped.mkdir()
    (untyped / "any.guard").write_text("rule any_template { Resources exists }\n")
    (untyped / "buckets.guard").write_text("let b = Resources.*[ Type == 'AWS::S3::Bucket' ]\n")
    assert [rule.name for rule in applicable_rules(untyped, {"AWS::SQS::Queue"})] == ["any.guard"]
