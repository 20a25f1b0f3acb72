"""pipeline/change_guard.py, the step between a stage's change set and its execution: it fails on a
change set that replaces or deletes a stateful resource, naming it and the property, and passes
everything else by itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.change_guard import STATEFUL_TYPES, findings, main
from tests.stateful_resources import STATEFUL_TYPES as WATCHED_BEFORE_MERGE


def change(kind: str, action: str, replacement: str | None = None, *causes: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": "DatabaseTableF104A135",
        "PhysicalResourceId": "Prod-UsersService-DatabaseTable-1",
        "ResourceType": kind,
        "Details": [
            {"Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": "Always"}} for name in causes
        ],
    }
    if replacement is not None:
        resource["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": resource}


def test_it_watches_what_the_merge_check_watches() -> None:
    assert set(STATEFUL_TYPES) == set(WATCHED_BEFORE_MERGE)


def test_a_replaced_table_fails_naming_it_and_the_property() -> None:
    (finding,) = findings([change("AWS::DynamoDB::Table", "Modify", "True", "KeySchema")])
    assert finding == (
        "DatabaseTableF104A135 (AWS::DynamoDB::Table, Prod-UsersService-DatabaseTable-1) would be replaced: KeySchema"
    )


@pytest.mark.parametrize("kind", STATEFUL_TYPES)
def test_a_deleted_or_conditionally_replaced_stateful_resource_fails(kind: str) -> None:
    assert findings([change(kind, "Remove")])[0].endswith("would be deleted")
    assert "may be replaced: Name" in findings([change(kind, "Modify", "Conditional", "Name")])[0]


def test_everything_else_passes() -> None:
    assert (
        findings(
            [
                change("AWS::Lambda::Function", "Modify", "True", "FunctionName"),
                change("AWS::Lambda::Version", "Remove"),
                change("AWS::DynamoDB::Table", "Modify", "False"),
                change("AWS::S3::Bucket", "Add"),
            ]
        )
        == []
    )


def test_main_reads_every_page_and_exits_non_zero_on_a_finding(capsys: pytest.CaptureFixture[str]) -> None:
    pages = {
        None: {"Changes": [change("AWS::Lambda::Function", "Modify", "True")], "NextToken": "2"},
        "2": {"Changes": [change("AWS::KMS::Key", "Remove")]},
    }
    calls: list[list[str]] = []

    def run(command: list[str]) -> str:
        calls.append(command)
        token = command[command.index("--next-token") + 1] if "--next-token" in command else None
        return json.dumps(pages[token])

    assert main(["--stack-name", "Prod-UsersService"], run) == 1
    assert [c[c.index("--change-set-name") + 1] for c in calls] == ["PipelineChange", "PipelineChange"]
    assert "AWS::KMS::Key" in capsys.readouterr().err
    pages["2"] = {"Changes": []}
    assert main(["--stack-name", "Prod-UsersService"], run) == 0
