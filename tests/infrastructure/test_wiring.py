"""Across every synthesized template, each edge where one AWS service acts on another resource is
allowed on both sides; and each check of the walker fails when one side of one edge is removed."""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from config import AppConfig
from pipeline.pipeline_stack import PIPELINE_STACK_ID
from service.contract import load_contract
from tests.assembly import SynthesizedStack
from tests.wiring import Edge, EdgeKind, walk

Stacks = dict[str, SynthesizedStack]
Resources = dict[str, dict[str, Any]]

OPERATIONS = len(load_contract().operations)
# service/monitoring.py: Slow, Errors, Throttles and DeadLetters per function, then Api5xx and ApiLatency.
ALARMS = 4 * OPERATIONS + 2
DEV = "Dev/UsersService"
CLOUDWATCH_ALLOW = "topic policy: an Allow of sns:Publish to cloudwatch.amazonaws.com"


def stage_stacks(config: AppConfig) -> list[str]:
    return [f"{stage.name.construct_id}/UsersService" for stage in config.stages]


def report(stacks: Stacks, config: AppConfig) -> dict[Edge, list[str]]:
    grouped: dict[Edge, list[str]] = {}
    for finding in walk(stacks, toolchain_account=config.toolchain.account).findings:
        grouped.setdefault(finding.edge, []).append(finding.missing)
    return grouped


def broken(stacks: Stacks, name: str, edit: Callable[[Resources], None]) -> Stacks:
    """The stacks with a deep copy of `name`'s template, edited; the shared ones stay intact."""
    template = copy.deepcopy(stacks[name].template)
    edit(template["Resources"])
    return {**stacks, name: dataclasses.replace(stacks[name], template=template)}


def one(stack: SynthesizedStack, type_name: str, path_fragment: str = "") -> str:
    (logical_id,) = [
        logical_id
        for logical_id, resource in stack.resources.items()
        if resource["Type"] == type_name and path_fragment in resource.get("Metadata", {}).get("aws:cdk:path", "")
    ]
    return logical_id


def statements(resource: dict[str, Any], document: str = "PolicyDocument") -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = resource["Properties"][document]["Statement"]
    return result


def without(items: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> None:
    """Removes exactly one matching item in place."""
    (match,) = [item for item in items if predicate(item)]
    items.remove(match)


def grants_to(service: str) -> Callable[[dict[str, Any]], bool]:
    return lambda statement: statement["Effect"] == "Allow" and statement.get("Principal") == {"Service": service}


@pytest.fixture(scope="module")
def stacks(synthesized_templates: Stacks) -> Stacks:
    return synthesized_templates


def alarm_edges(stacks: Stacks, name: str = DEV) -> list[Edge]:
    stack = stacks[name]
    topic_id = one(stack, "AWS::SNS::Topic", "/Monitoring/")
    alarms = [logical_id for logical_id, r in stack.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    return [Edge(EdgeKind.ALARM_ACTION, name, alarm_id, topic_id) for alarm_id in alarms]


def notification_edge(stacks: Stacks) -> Edge:
    stack = stacks[PIPELINE_STACK_ID]
    rule_id = one(stack, "AWS::CodeStarNotifications::NotificationRule")
    return Edge(EdgeKind.NOTIFICATION_TARGET, PIPELINE_STACK_ID, rule_id, one(stack, "AWS::SNS::Topic"))


# --- what the assembly holds ------------------------------------------------------------------


def test_the_assembly_holds_the_pipeline_and_each_stage_once(stacks: Stacks, app_config: AppConfig) -> None:
    # The stages are App children that the pipeline also deploys: each lands once, in its own
    # nested assembly (assembly-Dev, ...), and nothing else is synthesized without the sandbox flag.
    assert sorted(stacks) == sorted([PIPELINE_STACK_ID, *stage_stacks(app_config)])
    assert stacks[PIPELINE_STACK_ID].account == app_config.toolchain.account
    for stage in app_config.stages:
        stack = stacks[f"{stage.name.construct_id}/UsersService"]
        assert (stack.account, stack.region) == (stage.environment.account, stage.environment.region)


def test_every_edge_is_allowed_on_both_sides(stacks: Stacks, app_config: AppConfig) -> None:
    assert report(stacks, app_config) == {}


@pytest.mark.parametrize(
    ("kind", "per_stage", "in_pipeline"),
    [
        # qa and prod have their synthetic client's alarm too.
        (
            EdgeKind.ALARM_ACTION,
            {"Dev/UsersService": ALARMS, "Qa/UsersService": ALARMS + 1, "Prod/UsersService": ALARMS + 1},
            0,
        ),
        (EdgeKind.NOTIFICATION_TARGET, 0, 1),
        (EdgeKind.API_ROUTE, OPERATIONS, 0),
        # A dead-letter queue per function and per pre-traffic hook.
        (EdgeKind.DEAD_LETTER, 2 * OPERATIONS, 0),
        (EdgeKind.ACCESS_LOGS, 1, 0),
        (EdgeKind.SMOKE_ROLE, 1, 0),
        # Only stages that bake (qa, prod: bakeMinutes > 0) have a bake gate role.
        (EdgeKind.BAKE_GATE_ROLE, {"Dev/UsersService": 0, "Qa/UsersService": 1, "Prod/UsersService": 1}, 0),
        (EdgeKind.CHANGE_GUARD_ROLE, 1, 0),
        (EdgeKind.ALIAS_DEPLOYMENT, OPERATIONS, 0),
        (EdgeKind.PRE_TRAFFIC_HOOK, OPERATIONS, 0),
        (EdgeKind.HOOK_REPORT, OPERATIONS, 0),
        (EdgeKind.HOOK_PROBE, OPERATIONS, 0),
    ],
)
def test_each_kind_of_edge_is_found_where_the_config_puts_it(
    stacks: Stacks, app_config: AppConfig, kind: EdgeKind, per_stage: int | dict[str, int], in_pipeline: int
) -> None:
    edges = walk(stacks, toolchain_account=app_config.toolchain.account).edges
    found = Counter(edge.stack for edge in edges if edge.kind is kind)
    counts = per_stage if isinstance(per_stage, dict) else {name: per_stage for name in stage_stacks(app_config)}
    expected = counts | {PIPELINE_STACK_ID: in_pipeline}
    assert found == {name: count for name, count in expected.items() if count}
    assert sum(found.values()) > 0


# --- each check fails when one side is removed ------------------------------------------------


def test_without_the_topic_allow_every_alarm_of_the_stage_fails(stacks: Stacks, app_config: AppConfig) -> None:
    policy_id = one(stacks[DEV], "AWS::SNS::TopicPolicy")
    edited = broken(stacks, DEV, lambda r: without(statements(r[policy_id]), grants_to("cloudwatch.amazonaws.com")))
    assert report(edited, app_config) == {edge: [CLOUDWATCH_ALLOW] for edge in alarm_edges(stacks)}
    assert len(alarm_edges(stacks)) == ALARMS


def test_a_topic_allow_without_source_conditions_fails(stacks: Stacks, app_config: AppConfig) -> None:
    policy_id = one(stacks[DEV], "AWS::SNS::TopicPolicy")

    def drop_source_arn(resources: Resources) -> None:
        (allow,) = filter(grants_to("cloudwatch.amazonaws.com"), statements(resources[policy_id]))
        del allow["Condition"]["ArnLike"]

    assert report(broken(stacks, DEV, drop_source_arn), app_config) == {
        edge: [
            "topic policy: aws:SourceAccount and aws:SourceArn conditions on the Allow of sns:Publish "
            "to cloudwatch.amazonaws.com"
        ]
        for edge in alarm_edges(stacks)
    }


def test_an_unconditional_deny_on_the_topic_blocks_the_notifications(stacks: Stacks, app_config: AppConfig) -> None:
    policy_id = one(stacks[PIPELINE_STACK_ID], "AWS::SNS::TopicPolicy")

    def deny_publish(resources: Resources) -> None:
        tls_deny = next(s for s in statements(resources[policy_id]) if s["Effect"] == "Deny")
        statements(resources[policy_id]).append({k: v for k, v in tls_deny.items() if k != "Condition"})

    assert report(broken(stacks, PIPELINE_STACK_ID, deny_publish), app_config) == {
        notification_edge(stacks): ["topic policy: no Deny of sns:Publish to codestar-notifications.amazonaws.com"]
    }


def test_without_the_notification_allow_the_rule_fails(stacks: Stacks, app_config: AppConfig) -> None:
    policy_id = one(stacks[PIPELINE_STACK_ID], "AWS::SNS::TopicPolicy")
    service = "codestar-notifications.amazonaws.com"
    edited = broken(stacks, PIPELINE_STACK_ID, lambda r: without(statements(r[policy_id]), grants_to(service)))
    assert report(edited, app_config) == {
        notification_edge(stacks): [f"topic policy: an Allow of sns:Publish to {service}"]
    }


@pytest.mark.parametrize(
    ("name", "service"),
    [(DEV, "cloudwatch.amazonaws.com"), (PIPELINE_STACK_ID, "codestar-notifications.amazonaws.com")],
    ids=["alarm-key", "notification-key"],
)
def test_without_the_key_grant_the_publishers_fail(
    stacks: Stacks, app_config: AppConfig, name: str, service: str
) -> None:
    topic = stacks[name].resources[one(stacks[name], "AWS::SNS::Topic")]
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    edited = broken(stacks, name, lambda r: without(statements(r[key_id], "KeyPolicy"), grants_to(service)))
    edges = alarm_edges(stacks) if name == DEV else [notification_edge(stacks)]
    missing = [
        f"key policy {key_id}: an Allow of {action} to {service}" for action in ("kms:GenerateDataKey", "kms:Decrypt")
    ]
    assert report(edited, app_config) == dict.fromkeys(edges, missing)


def test_without_its_lambda_permission_a_route_fails(stacks: Stacks, app_config: AppConfig) -> None:
    stack = stacks[DEV]
    route_id = one(stack, "AWS::ApiGatewayV2::Route", "/GET--users/")
    permission_id = one(stack, "AWS::Lambda::Permission", "/GET--users/")
    alias_id = one(stack, "AWS::Lambda::Alias", "/ListUsers/")
    api_id = one(stack, "AWS::ApiGatewayV2::Api")
    edited = broken(stacks, DEV, lambda r: r.__delitem__(permission_id))
    assert report(edited, app_config) == {
        Edge(EdgeKind.API_ROUTE, DEV, route_id, alias_id): [
            f"a Lambda permission for apigateway.amazonaws.com with a SourceArn of {api_id}"
        ]
    }


def test_a_lambda_permission_for_another_api_does_not_count(stacks: Stacks, app_config: AppConfig) -> None:
    stack = stacks[DEV]
    permission_id = one(stack, "AWS::Lambda::Permission", "/GET--users/")

    def other_api(resources: Resources) -> None:
        resources[permission_id]["Properties"]["SourceArn"] = "arn:aws:execute-api:us-east-1:222222222222:abc/*/*/users"

    (edge,) = report(broken(stacks, DEV, other_api), app_config)
    assert (edge.kind, edge.source) == (EdgeKind.API_ROUTE, one(stack, "AWS::ApiGatewayV2::Route", "/GET--users/"))


def test_without_sqs_send_message_a_dead_letter_target_fails(stacks: Stacks, app_config: AppConfig) -> None:
    stack = stacks[DEV]
    policy_id = one(stack, "AWS::IAM::Policy", "/Functions/GetUser/")
    function_id = one(stack, "AWS::Lambda::Function", "/GetUser/")
    queue_id = one(stack, "AWS::SQS::Queue", "/GetUser/")
    edited = broken(
        stacks, DEV, lambda r: without(statements(r[policy_id]), lambda s: s["Action"] == "sqs:SendMessage")
    )
    assert report(edited, app_config) == {
        Edge(EdgeKind.DEAD_LETTER, DEV, function_id, queue_id): ["role policy: an Allow of sqs:SendMessage"]
    }


def test_a_dead_letter_queue_under_a_customer_key_needs_the_roles_grant(stacks: Stacks, app_config: AppConfig) -> None:
    stack = stacks[DEV]
    queue_id = one(stack, "AWS::SQS::Queue", "/GetUser/")
    key_id = one(stack, "AWS::KMS::Key", "/Monitoring/AlarmTopicKey/")

    def encrypt_with_key(resources: Resources) -> None:
        properties = resources[queue_id]["Properties"]
        del properties["SqsManagedSseEnabled"]
        properties["KmsMasterKeyId"] = {"Fn::GetAtt": [key_id, "Arn"]}

    assert report(broken(stacks, DEV, encrypt_with_key), app_config) == {
        Edge(EdgeKind.DEAD_LETTER, DEV, one(stack, "AWS::Lambda::Function", "/GetUser/"), queue_id): [
            "role policy: an Allow of kms:GenerateDataKey",
            "role policy: an Allow of kms:Decrypt",
        ]
    }


@pytest.mark.parametrize(
    ("edit", "missing"),
    [
        (
            lambda bucket: bucket["OwnershipControls"]["Rules"][0].update(ObjectOwnership="BucketOwnerEnforced"),
            "ACLs enabled: ObjectOwnership ObjectWriter or BucketOwnerPreferred, not BucketOwnerEnforced",
        ),
        (
            lambda bucket: bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
                "ServerSideEncryptionByDefault"
            ].update(SSEAlgorithm="aws:kms", KMSMasterKeyID="alias/logs"),
            "SSE-S3 encryption: the log delivery has no grant on a KMS key",
        ),
    ],
    ids=["owner-enforced", "kms"],
)
def test_a_log_bucket_cloudfront_cannot_write_to_fails(
    stacks: Stacks, app_config: AppConfig, edit: Callable[[dict[str, Any]], None], missing: str
) -> None:
    stack = stacks[DEV]
    bucket_id = one(stack, "AWS::S3::Bucket")
    edited = broken(stacks, DEV, lambda r: edit(r[bucket_id]["Properties"]))
    edge = Edge(EdgeKind.ACCESS_LOGS, DEV, one(stack, "AWS::CloudFront::Distribution"), bucket_id)
    assert report(edited, app_config) == {edge: [missing]}


def smoke_edge(stacks: Stacks, stage: str = "Dev") -> Edge:
    assumer = one(stacks[PIPELINE_STACK_ID], "AWS::IAM::Role", f"/{stage}/SmokeTests/")
    role_id = one(stacks[f"{stage}/UsersService"], "AWS::IAM::Role", "/SmokeAccess/")
    return Edge(EdgeKind.SMOKE_ROLE, f"{stage}/UsersService", f"{PIPELINE_STACK_ID}/{assumer}", role_id)


def test_a_smoke_role_trusting_another_principal_fails(stacks: Stacks, app_config: AppConfig) -> None:
    edge = smoke_edge(stacks)
    toolchain = f"arn:aws:iam::{app_config.toolchain.account}:root"

    def trust_another(resources: Resources) -> None:
        (trust,) = statements(resources[edge.target], "AssumeRolePolicyDocument")
        trust["Principal"]["AWS"] = [toolchain, "arn:aws:iam::999999999999:root"]

    assert report(broken(stacks, DEV, trust_another), app_config) == {
        edge: [f"trust in {toolchain} only, not ['{toolchain}', 'arn:aws:iam::999999999999:root']"]
    }


def test_a_smoke_role_nobody_may_assume_fails(stacks: Stacks, app_config: AppConfig) -> None:
    edge = smoke_edge(stacks)
    policy_id = one(stacks[PIPELINE_STACK_ID], "AWS::IAM::Policy", "/Dev/SmokeTests/")
    edited = broken(
        stacks,
        PIPELINE_STACK_ID,
        lambda r: without(statements(r[policy_id]), lambda s: s["Action"] == "sts:AssumeRole"),
    )
    assert report(edited, app_config) == {
        dataclasses.replace(edge, source="-"): ["exactly one role allowed sts:AssumeRole on it, not 0"]
    }


def test_a_smoke_role_two_roles_may_assume_fails(stacks: Stacks, app_config: AppConfig) -> None:
    edge = smoke_edge(stacks)
    dev_policy = one(stacks[PIPELINE_STACK_ID], "AWS::IAM::Policy", "/Dev/SmokeTests/")
    qa_policy = one(stacks[PIPELINE_STACK_ID], "AWS::IAM::Policy", "/Qa/SmokeTests/")

    def share(resources: Resources) -> None:
        (assume,) = [s for s in statements(resources[dev_policy]) if s["Action"] == "sts:AssumeRole"]
        statements(resources[qa_policy]).append(copy.deepcopy(assume))

    assumers = sorted([edge.source, smoke_edge(stacks, "Qa").source])
    assert report(broken(stacks, PIPELINE_STACK_ID, share), app_config) == {
        dataclasses.replace(edge, source=",".join(assumers)): ["exactly one role allowed sts:AssumeRole on it, not 2"]
    }


def _drop_statements(resources: Resources, policy_path: str, action: str) -> None:
    (policy_id,) = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Policy" and policy_path in resource["Metadata"]["aws:cdk:path"]
    ]
    document = resources[policy_id]["Properties"]["PolicyDocument"]
    document["Statement"] = [s for s in document["Statement"] if action not in as_list(s["Action"])]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


HOOK_POLICY = "/GetUserPreTraffic/Role/DefaultPolicy/"
SERVICE_POLICY = "/GetUserServiceRole/DefaultPolicy/"


@pytest.mark.parametrize(
    ("policy_path", "action", "kind", "missing"),
    [
        (
            HOOK_POLICY,
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            EdgeKind.HOOK_REPORT,
            "hook role: an Allow of codedeploy:PutLifecycleEventHookExecutionStatus",
        ),
        (HOOK_POLICY, "lambda:InvokeFunction", EdgeKind.HOOK_PROBE, "hook role: an Allow of lambda:InvokeFunction"),
        (
            SERVICE_POLICY,
            "lambda:InvokeFunction",
            EdgeKind.PRE_TRAFFIC_HOOK,
            "service role: an Allow of lambda:InvokeFunction",
        ),
        (
            SERVICE_POLICY,
            "lambda:UpdateAlias",
            EdgeKind.ALIAS_DEPLOYMENT,
            "service role: an Allow of lambda:UpdateAlias",
        ),
        (
            SERVICE_POLICY,
            "cloudwatch:DescribeAlarms",
            EdgeKind.ALIAS_DEPLOYMENT,
            "service role: an Allow of cloudwatch:DescribeAlarms",
        ),
    ],
)
def test_a_deployment_missing_a_permission_fails(
    stacks: Stacks, app_config: AppConfig, policy_path: str, action: str, kind: EdgeKind, missing: str
) -> None:
    found = report(broken(stacks, DEV, lambda r: _drop_statements(r, policy_path, action)), app_config)
    assert [edge.kind for edge in found] == [kind], found
    assert any(missing in texts for texts in found.values()), found
