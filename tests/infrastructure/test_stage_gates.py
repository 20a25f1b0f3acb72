"""The pipeline's stage conditions (pipeline/stage_gates.py), read from the synthesized templates:
qa and prod bake watching their stage's health alarm and roll back on failure, the execution mode
allows rollback, and only a change to what is deployed starts the pipeline."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from aws_cdk import aws_codepipeline as codepipeline

from config import AppConfig, StageName
from pipeline.pipeline_stack import PIPELINE_STACK_ID, PipelineStack
from pipeline.stage_gates import TRIGGER_PATHS, StageGate, apply_stage_gates
from service.bake_gate import BakeGateNames
from tests.assembly import SynthesizedStack


@pytest.fixture(scope="module")
def pipeline(synthesized_templates: dict[str, SynthesizedStack]) -> dict[str, Any]:
    (resource,) = [
        r
        for r in synthesized_templates[PIPELINE_STACK_ID].resources.values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    properties: dict[str, Any] = resource["Properties"]
    return properties


def _stage(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    stage: dict[str, Any] = next(s for s in pipeline["Stages"] if s["Name"] == name)
    return stage


def test_qa_and_prod_bake_on_their_health_alarm_and_roll_back_dev_does_neither(
    pipeline: dict[str, Any], synthesized_templates: dict[str, SynthesizedStack], app_config: AppConfig
) -> None:
    assert pipeline["ExecutionMode"] == "SUPERSEDED"
    dev = _stage(pipeline, "Dev")
    assert "OnSuccess" not in dev
    assert "OnFailure" not in dev
    for name in (StageName.QA, StageName.PROD):
        stage_config = app_config.stage(name)
        stack = synthesized_templates[f"{name.construct_id}/UsersService"]
        stage = _stage(pipeline, name.construct_id)
        assert stage["OnFailure"] == {"Result": "ROLLBACK"}
        ((condition,),) = [stage["OnSuccess"]["Conditions"]]
        assert condition["Result"] == "FAIL"
        (rule,) = condition["Rules"]
        assert rule["RuleTypeId"]["Provider"] == "CloudWatchAlarm"
        assert rule["Configuration"]["WaitTime"] == str(stage_config.deployment.bake_minutes)
        assert rule["Configuration"]["AlarmStates"] == "ALARM"
        assert rule["Region"] == stage_config.environment.region
        # The names the pipeline uses exist in the stage's account, the role reading only that alarm.
        (alarm,) = [r for r in stack.resources.values() if r["Type"] == "AWS::CloudWatch::CompositeAlarm"]
        assert alarm["Properties"]["AlarmName"] == rule["Configuration"]["AlarmName"] == f"{stack.stack_name}-health"
        (role,) = [
            r
            for r in stack.resources.values()
            if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName") == f"{stack.stack_name}-bake-gate"
        ]
        assert f":iam::{stage_config.environment.account}:role/{stack.stack_name}-bake-gate" in str(rule["RoleArn"])
        (policy,) = role["Properties"]["Policies"]
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert statement["Action"] == "cloudwatch:DescribeAlarms"
        assert statement["Resource"]["Fn::GetAtt"][1] == "Arn"
        assert app_config.toolchain.account in str(role["Properties"]["AssumeRolePolicyDocument"])


def unwatched_alarms(resources: dict[str, Any]) -> set[str]:
    """The stage's alarms that its health alarm (what the bake reads) does not include."""
    alarms = {key for key, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    (composite,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::CompositeAlarm"]
    referenced = set(
        re.findall(r"'Fn::GetAtt': \['([A-Za-z0-9]+)', 'Arn'\]", str(composite["Properties"]["AlarmRule"]))
    )
    return alarms - referenced


def test_the_health_alarm_watches_every_alarm_of_the_stage(synthesized_templates: dict[str, SynthesizedStack]) -> None:
    for name in ("Qa/UsersService", "Prod/UsersService"):
        assert unwatched_alarms(synthesized_templates[name].resources) == set()


def test_an_alarm_left_out_of_the_health_alarm_is_found(synthesized_templates: dict[str, SynthesizedStack]) -> None:
    resources = copy.deepcopy(synthesized_templates["Prod/UsersService"].resources)
    (composite,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::CompositeAlarm"]
    parts = composite["Properties"]["AlarmRule"]["Fn::Join"][1]
    (canary_part,) = [
        p for p in parts if isinstance(p, dict) and p["Fn::GetAtt"][0].startswith("MonitoringSyntheticClient")
    ]
    parts.remove(canary_part)
    assert unwatched_alarms(resources) == {canary_part["Fn::GetAtt"][0]}


def _triggers(path: str, patterns: tuple[str, ...]) -> bool:
    """CodePipeline's glob: ** crosses directories, * does not."""
    for pattern in patterns:
        regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        if re.fullmatch(regex, path):
            return True
    return False


@pytest.mark.parametrize(
    ("path", "starts"),
    [
        ("service/api.py", True),
        ("lambda/src/handlers/create-user.ts", True),
        ("lambda/service-contract.json", True),
        ("cdk.json", True),
        ("package-lock.json", True),
        ("requirements.lock", True),
        ("pipeline/pipeline_stack.py", True),
        ("tests/smoke/test_api.py", True),
        ("docs/deploying.md", False),
        ("README.md", False),
        ("bench/run.ts", False),
        ("local/server.ts", False),
        ("tests/unit/test_config.py", False),
        (".ci/run", False),
    ],
)
def test_only_a_change_to_what_is_deployed_starts_the_pipeline(
    pipeline: dict[str, Any], path: str, starts: bool
) -> None:
    ((trigger,),) = [pipeline["Triggers"]]
    assert trigger["ProviderType"] == "CodeStarSourceConnection"
    (push,) = trigger["GitConfiguration"]["Push"]
    assert push["Branches"] == {"Includes": ["main"]}
    assert tuple(push["FilePaths"]["Includes"]) == TRIGGER_PATHS
    assert _triggers(path, TRIGGER_PATHS) is starts


def test_a_gate_for_a_stage_the_pipeline_lacks_fails(pipeline_stack_for_gates: PipelineStack) -> None:
    gate = StageGate("Staging", "333333333333", "us-east-1", BakeGateNames.of_stack("Staging-UsersService"), 5, True)
    inner = pipeline_stack_for_gates.pipeline.pipeline
    assert isinstance(inner, codepipeline.Pipeline)
    with pytest.raises(ValueError, match="no stage Staging"):
        apply_stage_gates(inner, [gate], source_branch="main")


@pytest.fixture(scope="module")
def pipeline_stack_for_gates(synthesized_app: Any) -> PipelineStack:
    from tests.infrastructure.test_pipeline import _build

    app = _build()
    stack = app.node.find_child(PIPELINE_STACK_ID)
    assert isinstance(stack, PipelineStack)
    return stack


def test_each_stage_guards_its_change_set_before_executing_it(
    pipeline: dict[str, Any], synthesized_templates: dict[str, SynthesizedStack], app_config: AppConfig
) -> None:
    projects = {
        key: r
        for key, r in synthesized_templates[PIPELINE_STACK_ID].resources.items()
        if r["Type"] == "AWS::CodeBuild::Project"
    }
    for name in StageName:
        stack = synthesized_templates[f"{name.construct_id}/UsersService"]
        actions = {a["Name"]: a for a in _stage(pipeline, name.construct_id)["Actions"]}
        prepare, guard, deploy = (
            actions[f"UsersService.{step}"] for step in ("Prepare", "GuardStatefulResources", "Deploy")
        )
        assert prepare["RunOrder"] < guard["RunOrder"] < deploy["RunOrder"]
        assert deploy["Configuration"]["ChangeSetName"] == "PipelineChange"
        project = projects[guard["Configuration"]["ProjectName"]["Ref"]]
        spec = str(project["Properties"]["Source"]["BuildSpec"])
        assert (
            f"python3 pipeline/change_guard.py --stack-name {stack.stack_name} --change-set-name PipelineChange" in spec
        )
        role_name = f"{stack.stack_name}-change-guard"
        assert f":role/{role_name}" in spec
        (role,) = [r for r in stack.resources.values() if r["Properties"].get("RoleName") == role_name]
        (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        assert sorted(statement["Action"]) == ["cloudformation:DescribeChangeSet", "cloudformation:DescribeStacks"]
        assert statement["Resource"].endswith(f":stack/{stack.stack_name}/*")
        assert app_config.toolchain.account in str(role["Properties"]["AssumeRolePolicyDocument"])
