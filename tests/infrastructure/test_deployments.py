"""Canary deployments (service/deployment.py): traffic reaches every function through its `live`
alias, CodeDeploy shifts that alias with the stage's strategy, rolls back on its alarms and on a
failed pre-traffic probe, and a new version is published only when the function changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Template

from config import AppConfig, StageName
from service.contract import load_contract
from tests.assembly import SynthesizedStack
from tests.stage_support import build_stage, template_of

CONTRACT = load_contract()
STRATEGIES = {
    "Dev/UsersService": "CodeDeployDefault.LambdaAllAtOnce",
    "Qa/UsersService": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "Prod/UsersService": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
}


def of_type(template: Mapping[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == type_name}


def ref_of(value: Any) -> str:
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


@pytest.fixture(scope="module", params=list(STRATEGIES))
def stage(
    request: pytest.FixtureRequest, synthesized_templates: dict[str, SynthesizedStack]
) -> tuple[str, dict[str, Any]]:
    return request.param, synthesized_templates[request.param].template


def test_every_route_integrates_the_live_alias_never_the_function(stage: tuple[str, dict[str, Any]]) -> None:
    _, template = stage
    aliases = of_type(template, "AWS::Lambda::Alias")
    integrations = of_type(template, "AWS::ApiGatewayV2::Integration")
    assert len(integrations) == len(CONTRACT.operations)
    for integration in integrations.values():
        target = ref_of(integration["Properties"]["IntegrationUri"])
        assert target in aliases, target
        assert aliases[target]["Properties"]["Name"] == "live"
    # API Gateway may invoke the aliases only.
    permissions = [
        p["Properties"]
        for p in of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert {ref_of(p["FunctionName"]) for p in permissions} == set(aliases)


def test_a_deployment_group_per_function_with_the_stages_strategy_alarms_rollback_and_hook(
    stage: tuple[str, dict[str, Any]],
) -> None:
    name, template = stage
    groups = of_type(template, "AWS::CodeDeploy::DeploymentGroup")
    aliases = of_type(template, "AWS::Lambda::Alias")
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert len(groups) == len(aliases) == len(CONTRACT.operations)
    for alias_id, alias in aliases.items():
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        group = groups[update["DeploymentGroupName"]["Ref"]]["Properties"]
        assert group["DeploymentConfigName"] == STRATEGIES[name]
        assert set(group["AutoRollbackConfiguration"]["Events"]) == {
            "DEPLOYMENT_FAILURE",
            "DEPLOYMENT_STOP_ON_REQUEST",
            "DEPLOYMENT_STOP_ON_ALARM",
        }
        assert group["AutoRollbackConfiguration"]["Enabled"] is True
        watched = {entry["Name"]["Ref"] for entry in group["AlarmConfiguration"]["Alarms"]}
        function = ref_of(alias["Properties"]["FunctionName"])
        operation = next(
            op for op in CONTRACT.operations if f"/Functions/{op.construct_id}/" in alias["Metadata"]["aws:cdk:path"]
        )
        suffixes = {
            f"{operation.construct_id}Slow",
            f"{operation.construct_id}Errors",
            f"{operation.construct_id}Throttles",
            "Api5xx",
        } | ({"SyntheticClientFailed"} if name != "Dev/UsersService" else set())
        assert {next(s for s in suffixes if alarm_id.startswith(f"Monitoring{s}")) for alarm_id in watched} == suffixes
        for alarm_id in watched - {
            a for a in watched if a.startswith(("MonitoringApi5xx", "MonitoringSyntheticClient"))
        }:
            dimensions = {d["Name"]: d["Value"] for d in alarms[alarm_id]["Properties"]["Dimensions"]}
            assert dimensions["Resource"] == {"Fn::Join": ["", [{"Ref": function}, ":live"]]}, (
                "the alarm watches the alias"
            )
        hook = update["BeforeAllowTrafficHook"]["Ref"]
        assert "/Deployments/" in template["Resources"][hook]["Metadata"]["aws:cdk:path"]
        assert alias_id  # every alias has its group and its hook


def test_aliases_leave_traffic_to_codedeploy_and_old_versions_stay(stage: tuple[str, dict[str, Any]]) -> None:
    _, template = stage
    for alias in of_type(template, "AWS::Lambda::Alias").values():
        # Weights set by the template or provisioned concurrency changed with it would fight the deployment.
        assert "RoutingConfig" not in alias["Properties"]
        assert "ProvisionedConcurrencyConfig" not in alias["Properties"]
    versions = of_type(template, "AWS::Lambda::Version")
    assert len(versions) == len(CONTRACT.operations)
    assert {version["DeletionPolicy"] for version in versions.values()} == {"Retain"}


def _statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_codedeploy_and_the_hooks_hold_only_what_one_deployment_needs(stage: tuple[str, dict[str, Any]]) -> None:
    _, template = stage
    roles = of_type(template, "AWS::IAM::Role")
    for group in of_type(template, "AWS::CodeDeploy::DeploymentGroup").values():
        role_id = ref_of(group["Properties"]["ServiceRoleArn"])
        assert "ManagedPolicyArns" not in roles[role_id]["Properties"], "no AWSCodeDeployRoleForLambdaLimited"
        actions = sorted(
            a
            for s in _statements(template, role_id)
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )
        assert actions == sorted(
            [
                "cloudwatch:DescribeAlarms",
                "lambda:GetAlias",
                "lambda:GetProvisionedConcurrencyConfig",
                "lambda:InvokeFunction",
                "lambda:UpdateAlias",
            ]
        )
        assert all(s["Resource"] != "*" for s in _statements(template, role_id))
    for alias in of_type(template, "AWS::Lambda::Alias").values():
        hook_id = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["BeforeAllowTrafficHook"]["Ref"]
        hook = template["Resources"][hook_id]["Properties"]
        version = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert hook["Environment"]["Variables"]["TARGET_VERSION_ARN"] == {"Ref": version}
        invoke = [s for s in _statements(template, ref_of(hook["Role"])) if s["Action"] == "lambda:InvokeFunction"]
        assert [s["Resource"] for s in invoke] == [{"Ref": version}], "the hook may invoke that version only"


def _version_ids(context: dict[str, Any] | None = None) -> dict[str, str]:
    template = template_of(build_stage(StageName.DEV, context)).to_json()
    return {
        alias["Metadata"]["aws:cdk:path"]: alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        for alias in of_type(template, "AWS::Lambda::Alias").values()
    }


def test_a_new_version_is_published_when_and_only_when_the_function_changes() -> None:
    shipped = _version_ids()
    assert _version_ids() == shipped, "the same source publishes the same versions"
    assert _version_ids({"stages.dev.wafRateLimit": 1234}) == shipped, "a change elsewhere publishes none"
    changed = _version_ids({"serviceName": "people-service"})
    assert set(changed) == set(shipped)
    assert all(changed[path] != shipped[path] for path in shipped), "a changed function environment publishes all"


def test_the_runtime_is_pinned_so_a_cdk_upgrade_cannot_move_it(
    synthesized_templates: dict[str, SynthesizedStack],
) -> None:
    template = Template.from_json(synthesized_templates["Dev/UsersService"].template)
    runtimes = {
        f["Properties"]["Runtime"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if "Runtime" in f["Properties"] and "/Functions/" in f["Metadata"]["aws:cdk:path"]
    }
    assert runtimes == {"nodejs24.x"}


def test_each_stage_has_a_dashboard_of_what_on_call_looks_at_first(stage: tuple[str, dict[str, Any]]) -> None:
    _, template = stage
    (dashboard,) = of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = str(dashboard["Properties"]["DashboardBody"])
    for title in (
        "Requests",
        "Latency (ms)",
        "4xx and 5xx",
        "Function errors",
        "Function duration p99 (ms)",
        "Throttles and concurrency",
        "DynamoDB consumed capacity",
        "DynamoDB throttled requests",
        "WAF blocked requests",
        "Alarms",
    ):
        assert f'\\"title\\":\\"{title}\\"' in body or f'"title":"{title}"' in body, title
    for operation in CONTRACT.operations:
        assert f"{operation.name}" in body
    for table_id in of_type(template, "AWS::DynamoDB::Table"):
        assert table_id in body
    assert "BlockedRequests" in body
    assert "UsersServiceWebAcl" in body
    has_canary = bool(of_type(template, "AWS::Synthetics::Canary"))
    assert ("Synthetic client success (%)" in body) is has_canary
    assert ("SuccessPercent" in body) is has_canary
    for alarm_id in of_type(template, "AWS::CloudWatch::Alarm"):
        assert alarm_id in body, f"{alarm_id} is missing from the alarm widget"


def test_the_synthetic_client_runs_where_config_enables_it(
    stage: tuple[str, dict[str, Any]], app_config: AppConfig
) -> None:
    name, template = stage
    stage_config = app_config.stage(StageName(name.split("/")[0].lower()))
    canaries = of_type(template, "AWS::Synthetics::Canary")
    if not stage_config.canary.enabled:
        assert canaries == {}
        return
    (canary,) = canaries.values()
    properties = canary["Properties"]
    assert properties["Schedule"]["Expression"] == f"rate({stage_config.canary.schedule_minutes} minutes)"
    assert properties["Code"]["Handler"] == "read-path.handler"
    variables = properties["RunConfig"]["EnvironmentVariables"]
    assert set(variables) == {"CANARY_BASE_URL", "CANARY_TOKEN_URL", "CANARY_USER_POOL_ID", "CANARY_CLIENT_ID"}
    # Its artifacts: a bucket of their own, encrypted, private, TLS-only, expired.
    bucket_id = properties["ArtifactS3Location"]["Fn::Join"][1][1]["Ref"]
    bucket = template["Resources"][bucket_id]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 14
    policies = [
        p
        for p in of_type(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    )
    # Its alarm: every deployment of the stage and the stage's health alarm watch it.
    (alarm_id,) = [
        key for key in of_type(template, "AWS::CloudWatch::Alarm") if key.startswith("MonitoringSyntheticClientFailed")
    ]
    for group in of_type(template, "AWS::CodeDeploy::DeploymentGroup").values():
        assert {"Name": {"Ref": alarm_id}} in group["Properties"]["AlarmConfiguration"]["Alarms"]
    (health,) = of_type(template, "AWS::CloudWatch::CompositeAlarm").values()
    assert alarm_id in str(health["Properties"]["AlarmRule"])
