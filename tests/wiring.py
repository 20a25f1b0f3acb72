"""Follows every edge of the synthesized templates where one AWS service acts on another resource,
and reports each side that would refuse it: the caller's identity policy where it has one, the
target's resource policy or key policy where the target has one.

Edges are found by resource type and reference, not listed by hand. Policies are read as far as
these templates need: actions and resources match as IAM wildcards, a resource "refers to" a
logical id through Ref, Fn::GetAtt or Fn::Sub, and a Deny blocks unless its only condition is the
TLS one (aws:SecureTransport false), which service calls over HTTPS never meet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from tests.assembly import SynthesizedStack

Statement = dict[str, Any]
Principal = tuple[str, str]  # ("Service", "cloudwatch.amazonaws.com"), ("AWS", "arn:aws:iam::1:root")

_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")
_ACCOUNT_PRINCIPAL = re.compile(r"^(?:arn:[^:]+:iam::)?(\d{12})(?::root)?$")
# The conditions a service principal's Allow must pin to the target's account (confused deputy).
SOURCE_CONDITIONS = {
    "cloudwatch.amazonaws.com": ("aws:SourceAccount", "aws:SourceArn"),
    "codestar-notifications.amazonaws.com": ("aws:SourceAccount",),
}
ENCRYPT_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
ACL_OWNERSHIPS = ("ObjectWriter", "BucketOwnerPreferred")
# A dead-letter target type: its resource policy type, the property attaching that policy, the send action.
DEAD_LETTER_TARGETS = {
    "AWS::SQS::Queue": ("AWS::SQS::QueuePolicy", "Queues", "sqs:SendMessage"),
    "AWS::SNS::Topic": ("AWS::SNS::TopicPolicy", "Topics", "sns:Publish"),
}
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Lambda::Alias", "AWS::Lambda::Version")


class EdgeKind(StrEnum):
    ALARM_ACTION = "alarm action"
    NOTIFICATION_TARGET = "notification target"
    API_ROUTE = "API route"
    DEAD_LETTER = "dead-letter target"
    ACCESS_LOGS = "CloudFront access logs"
    SMOKE_ROLE = "smoke role"
    BAKE_GATE_ROLE = "bake gate role"
    CHANGE_GUARD_ROLE = "change guard role"
    ALIAS_DEPLOYMENT = "CodeDeploy alias deployment"
    PRE_TRAFFIC_HOOK = "pre-traffic hook"
    HOOK_REPORT = "hook status report"
    HOOK_PROBE = "hook probe"


@dataclass(frozen=True)
class Edge:
    """`source` acts on `target`; both are logical ids in `stack` unless qualified as stack/id."""

    kind: EdgeKind
    stack: str
    source: str
    target: str


@dataclass(frozen=True)
class Finding:
    edge: Edge
    missing: str


@dataclass
class Walk:
    edges: list[Edge] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def add(self, edge: Edge, missing: Sequence[str]) -> None:
        self.edges.append(edge)
        self.findings.extend(Finding(edge, text) for text in missing)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def refs(value: Any) -> set[str]:
    """The logical ids `value` refers to through Ref, Fn::GetAtt or Fn::Sub, at any depth."""
    if isinstance(value, list):
        return set().union(*(refs(item) for item in value))
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, inner in value.items():
        if key == "Ref":
            found.add(inner)
        elif key == "Fn::GetAtt":
            found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
        elif key == "Fn::Sub":
            template, variables = (inner, {}) if isinstance(inner, str) else inner
            names = {name.split(".")[0] for name in _SUB_VARIABLE.findall(template)}
            found |= (names - set(variables)) | refs(list(variables.values()))
        else:
            found |= refs(inner)
    return {logical_id for logical_id in found if not logical_id.startswith("AWS::")}


class StackTemplate:
    """One stack's resources, with its environment to resolve pseudo parameters."""

    def __init__(self, stack: SynthesizedStack) -> None:
        self.name = stack.display_name
        self.account = stack.account
        self.resources = stack.resources
        self.partition = "aws-cn" if stack.region.startswith("cn-") else "aws"
        self.pseudo = {"AWS::Partition": self.partition, "AWS::AccountId": stack.account, "AWS::Region": stack.region}

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource["Type"] in types:
                yield logical_id, resource.get("Properties", {})

    def target(self, value: Any, *types: str) -> str | None:
        """The one resource of `types` that `value` refers to, if any."""
        found = sorted(ref for ref in refs(value) if self.resources.get(ref, {}).get("Type") in types)
        return found[0] if len(found) == 1 else None

    def text(self, value: Any) -> str:
        """`value` as a string: Fn::Join and Fn::Sub joined, pseudo parameters replaced by this
        stack's values, other references kept as ${LogicalId} or ${LogicalId.Attribute}."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((key, inner),) = value.items()
            if key == "Ref":
                return self.pseudo.get(inner, f"${{{inner}}}")
            if key == "Fn::GetAtt":
                return f"${{{'.'.join(inner) if isinstance(inner, list) else inner}}}"
            if key == "Fn::Join":
                return str(inner[0]).join(self.text(part) for part in inner[1])
            if key == "Fn::Sub":
                template, variables = (inner, {}) if isinstance(inner, str) else inner
                names = {**self.pseudo, **{name: self.text(v) for name, v in variables.items()}}
                return _SUB_VARIABLE.sub(lambda match: names.get(match[1], match[0]), template)
        return json.dumps(value, sort_keys=True)  # unresolved: equal to no ARN

    def root(self, account: str) -> str:
        return f"arn:{self.partition}:iam::{account}:root"

    def identity_statements(self, role_id: str) -> list[Statement]:
        """The role's inline policies and every policy resource attached to it."""
        role = self.resources[role_id].get("Properties", {})
        documents = [policy["PolicyDocument"] for policy in role.get("Policies", [])]
        documents += [
            policy["PolicyDocument"]
            for _, policy in self.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
            if role_id in refs(policy.get("Roles", []))
        ]
        return [statement for document in documents for statement in as_list(document.get("Statement", []))]

    def key_statements(self, key_id: str) -> list[Statement]:
        return as_list(self.resources[key_id]["Properties"]["KeyPolicy"].get("Statement", []))

    def resource_policies(self, policy_type: str, attached_by: str, target_id: str) -> list[Statement]:
        return [
            statement
            for _, policy in self.of_type(policy_type)
            if target_id in refs(policy.get(attached_by, []))
            for statement in as_list(policy["PolicyDocument"].get("Statement", []))
        ]

    # --- statements ---------------------------------------------------------------------------

    def acts(self, statement: Statement, action: str, target_id: str, target_arn: str | None = None) -> bool:
        actions = as_list(statement.get("Action", []))
        resources = as_list(statement.get("Resource", []))
        return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in actions) and any(
            self.text(r) == "*" or target_id in refs(r) or (target_arn and fnmatchcase(target_arn, self.text(r)))
            for r in resources
        )

    def _names(self, statement: Statement, principal: Principal | None) -> bool:
        if principal is None:  # identity policy
            return True
        given = statement.get("Principal")
        values = ["*"] if given == "*" else as_list((given or {}).get(principal[0], []))
        return any(self.text(value) in ("*", principal[1]) for value in values)

    def _pinned(self, statement: Statement, keys: Sequence[str], account: str) -> bool:
        conditions = {
            key.lower(): as_list(values)
            for operator, block in statement.get("Condition", {}).items()
            if "Not" not in operator and "IfExists" not in operator
            for key, values in block.items()
        }
        return all(
            key.lower() in conditions and all(account in self.text(value) for value in conditions[key.lower()])
            for key in keys
        )

    def refusals(
        self,
        statements: Sequence[Statement],
        principal: Principal | None,
        actions: Sequence[str],
        target_id: str,
        *,
        conditions: Sequence[str] = (),
        allow_needed: bool = True,
    ) -> list[str]:
        """What `statements` lack for `principal` (None: the identity itself) to perform each of
        `actions` on the target: a matching Allow (with `conditions` pinned to this account), and
        no Deny matching it."""
        missing: list[str] = []
        who = f" to {principal[1]}" if principal else ""
        for action in actions:
            matching = [s for s in statements if self.acts(s, action, target_id) and self._names(s, principal)]
            allows = [s for s in matching if s["Effect"] == "Allow"]  # Not* statements never match
            if allow_needed and not allows:
                missing.append(f"an Allow of {action}{who}")
            elif allow_needed and conditions and not any(self._pinned(s, conditions, self.account) for s in allows):
                missing.append(f"{' and '.join(conditions)} conditions on the Allow of {action}{who}")
            denies = [s for s in statements if s["Effect"] == "Deny" and (s in matching or _negative(s))]
            if any(not _tls_only(s) for s in denies):
                missing.append(f"no Deny of {action}{who}")
        return missing


def _negative(statement: Statement) -> bool:
    """NotAction, NotPrincipal, NotResource: not interpreted, so a Deny using one is taken to apply."""
    return any(key.startswith("Not") for key in statement)


def _tls_only(statement: Statement) -> bool:
    return statement.get("Condition") in (
        {"Bool": {"aws:SecureTransport": "false"}},
        {"Bool": {"aws:SecureTransport": False}},
    )


# --- the edges --------------------------------------------------------------------------------


def _service_publishes(t: StackTemplate, topic_id: str, service: str) -> list[str]:
    """A service principal publishing to a topic: the topic policy, if any, and its key's policy."""
    principal, conditions = ("Service", service), SOURCE_CONDITIONS.get(service, ("aws:SourceAccount",))
    statements = t.resource_policies("AWS::SNS::TopicPolicy", "Topics", topic_id)
    found = t.refusals(statements, principal, ["sns:Publish"], topic_id, conditions=conditions) if statements else []
    missing = [f"topic policy: {text}" for text in found]
    if (policies := sum(topic_id in refs(p.get("Topics")) for _, p in t.of_type("AWS::SNS::TopicPolicy"))) > 1:
        missing.append(f"topic policy: one policy for the topic, not {policies} replacing each other")
    if (key_ref := t.resources[topic_id].get("Properties", {}).get("KmsMasterKeyId")) is not None:
        if (key_id := t.target(key_ref, "AWS::KMS::Key")) is None:
            missing.append(f"key policy: a customer managed key, not {t.text(key_ref)}, which grants no service")
        else:
            found = t.refusals(t.key_statements(key_id), principal, ENCRYPT_ACTIONS, key_id)
            missing += [f"key policy {key_id}: {text}" for text in found]
    return missing


def _alarm_actions(t: StackTemplate, walk: Walk) -> None:
    for alarm_id, alarm in t.of_type("AWS::CloudWatch::Alarm"):
        actions = [a for key in ("AlarmActions", "OKActions", "InsufficientDataActions") for a in alarm.get(key, [])]
        for topic_id in sorted({topic for a in actions if (topic := t.target(a, "AWS::SNS::Topic"))}):
            edge = Edge(EdgeKind.ALARM_ACTION, t.name, alarm_id, topic_id)
            walk.add(edge, _service_publishes(t, topic_id, "cloudwatch.amazonaws.com"))


def _notification_targets(t: StackTemplate, walk: Walk) -> None:
    for rule_id, rule in t.of_type("AWS::CodeStarNotifications::NotificationRule"):
        for target in rule.get("Targets", []):
            topic_id = t.target(target.get("TargetAddress"), "AWS::SNS::Topic")
            if target.get("TargetType") == "SNS" and topic_id is not None:
                edge = Edge(EdgeKind.NOTIFICATION_TARGET, t.name, rule_id, topic_id)
                walk.add(edge, _service_publishes(t, topic_id, "codestar-notifications.amazonaws.com"))


def _api_routes(t: StackTemplate, walk: Walk) -> None:
    for route_id, route in t.of_type("AWS::ApiGatewayV2::Route"):
        integration_id = t.target(route.get("Target"), "AWS::ApiGatewayV2::Integration")
        if integration_id is None:
            continue
        function_id = t.target(t.resources[integration_id]["Properties"].get("IntegrationUri"), *FUNCTION_TYPES)
        api_id = t.target(route.get("ApiId"), "AWS::ApiGatewayV2::Api")
        if function_id is None or api_id is None:
            continue
        permitted = any(
            permission.get("Principal") == "apigateway.amazonaws.com"
            and permission.get("Action") in ("lambda:InvokeFunction", "lambda:*")
            and function_id in refs(permission.get("FunctionName"))
            and api_id in refs(permission.get("SourceArn"))
            for _, permission in t.of_type("AWS::Lambda::Permission")
        )
        missing = f"a Lambda permission for apigateway.amazonaws.com with a SourceArn of {api_id}"
        walk.add(Edge(EdgeKind.API_ROUTE, t.name, route_id, function_id), [] if permitted else [missing])


def _dead_letters(t: StackTemplate, walk: Walk) -> None:
    """A function's dead-letter target, sent to with the function's role: the role's policies, the
    target's resource policy (no Deny) and, under a customer key, the key on both sides."""
    for function_id, function in t.of_type("AWS::Lambda::Function"):
        target_id = t.target(function.get("DeadLetterConfig", {}).get("TargetArn"), *DEAD_LETTER_TARGETS)
        role_id = t.target(function.get("Role"), "AWS::IAM::Role")
        if target_id is None or role_id is None:
            continue
        target = t.resources[target_id]
        policy_type, attached_by, action = DEAD_LETTER_TARGETS[target["Type"]]
        identity, role = t.identity_statements(role_id), ("AWS", f"${{{role_id}.Arn}}")
        missing = [f"role policy: {text}" for text in t.refusals(identity, None, [action], target_id)]
        resource_policy = t.resource_policies(policy_type, attached_by, target_id)
        found = t.refusals(resource_policy, role, [action], target_id, allow_needed=False)
        missing += [f"resource policy: {text}" for text in found]
        if (key_id := t.target(target.get("Properties", {}).get("KmsMasterKeyId"), "AWS::KMS::Key")) is not None:
            missing += [f"role policy: {text}" for text in t.refusals(identity, None, ENCRYPT_ACTIONS, key_id)]
            key_policy = t.key_statements(key_id)
            if all(t.refusals(key_policy, p, ENCRYPT_ACTIONS, key_id) for p in (role, ("AWS", t.root(t.account)))):
                missing.append(f"key policy {key_id}: a grant to the role or to its account")
        walk.add(Edge(EdgeKind.DEAD_LETTER, t.name, function_id, target_id), missing)


def _as_role(t: StackTemplate, role_id: str | None, label: str, actions: Sequence[str], target_id: str) -> list[str]:
    if role_id is None:
        return [f"a {label} the template defines"]
    return [f"{label}: {text}" for text in t.refusals(t.identity_statements(role_id), None, actions, target_id)]


def _alias_deployments(t: StackTemplate, walk: Walk) -> None:
    """An alias CloudFormation updates through CodeDeploy: the deployment group's service role
    reads the group's alarms, moves the alias and invokes the pre-traffic hook; the hook's role
    invokes the version being deployed and reports the hook's status to the group."""
    for alias_id, resource in t.resources.items():
        update = resource.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
        if resource["Type"] != "AWS::Lambda::Alias" or not update:
            continue
        group_id = t.target(update.get("DeploymentGroupName"), "AWS::CodeDeploy::DeploymentGroup")
        if group_id is None:
            continue
        group = t.resources[group_id]["Properties"]
        service_role = t.target(group.get("ServiceRoleArn"), "AWS::IAM::Role")
        alias = resource["Properties"]
        function_id = t.target(alias.get("FunctionName"), "AWS::Lambda::Function") or alias_id
        alarm_refs = [entry.get("Name") for entry in group.get("AlarmConfiguration", {}).get("Alarms", [])]
        alarms = [alarm for ref in alarm_refs if (alarm := t.target(ref, "AWS::CloudWatch::Alarm"))]

        missing = _as_role(t, service_role, "service role", ["lambda:GetAlias", "lambda:UpdateAlias"], function_id)
        for alarm_id in alarms:
            missing += _as_role(t, service_role, "service role", ["cloudwatch:DescribeAlarms"], alarm_id)
        walk.add(Edge(EdgeKind.ALIAS_DEPLOYMENT, t.name, group_id, alias_id), missing)

        hook_id = t.target(update.get("BeforeAllowTrafficHook"), "AWS::Lambda::Function")
        if hook_id is None:
            continue
        invoke = _as_role(t, service_role, "service role", ["lambda:InvokeFunction"], hook_id)
        walk.add(Edge(EdgeKind.PRE_TRAFFIC_HOOK, t.name, group_id, hook_id), invoke)
        hook_role = t.target(t.resources[hook_id]["Properties"].get("Role"), "AWS::IAM::Role")
        report = _as_role(t, hook_role, "hook role", ["codedeploy:PutLifecycleEventHookExecutionStatus"], group_id)
        walk.add(Edge(EdgeKind.HOOK_REPORT, t.name, hook_id, group_id), report)
        version_id = t.target(alias.get("FunctionVersion"), "AWS::Lambda::Version")
        if version_id is not None:
            probe = _as_role(t, hook_role, "hook role", ["lambda:InvokeFunction"], version_id)
            walk.add(Edge(EdgeKind.HOOK_PROBE, t.name, hook_id, version_id), probe)


def _access_logs(t: StackTemplate, walk: Walk) -> None:
    for distribution_id, distribution in t.of_type("AWS::CloudFront::Distribution"):
        logging = distribution.get("DistributionConfig", {}).get("Logging", {})
        bucket_id = t.target(logging.get("Bucket"), "AWS::S3::Bucket")
        if bucket_id is None:
            continue
        bucket = t.resources[bucket_id].get("Properties", {})
        missing: list[str] = []
        # CloudFront standard logging writes with ACLs; new buckets default to BucketOwnerEnforced.
        rules = bucket.get("OwnershipControls", {}).get("Rules", [])
        ownership = rules[0].get("ObjectOwnership") if rules else "BucketOwnerEnforced"
        if ownership not in ACL_OWNERSHIPS:
            missing.append(f"ACLs enabled: ObjectOwnership {' or '.join(ACL_OWNERSHIPS)}, not {ownership}")
        encryption = bucket.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        if any(str(rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]).startswith("aws:kms") for rule in encryption):
            missing.append("SSE-S3 encryption: the log delivery has no grant on a KMS key")
        walk.add(Edge(EdgeKind.ACCESS_LOGS, t.name, distribution_id, bucket_id), missing)


def _trusted(t: StackTemplate, statements: Sequence[Statement]) -> set[str]:
    """Every principal the trust statements name, account ids spelled as root ARNs."""
    names: set[str] = set()
    for statement in statements:
        given = statement.get("Principal")
        for value in ["*"] if given == "*" else [v for vs in (given or {}).values() for v in as_list(vs)]:
            account = _ACCOUNT_PRINCIPAL.match(t.text(value))
            names.add(t.root(account[1]) if account else t.text(value))
    return names


def _may_assume(t: StackTemplate, role_id: str, arn: str) -> bool:
    """Whether the role's identity policies allow sts:AssumeRole on `arn`; a wildcard resource
    under a condition (the pipeline's tag-scoped bootstrap roles) is not taken to name it."""
    return any(
        s["Effect"] == "Allow"
        and t.acts(s, "sts:AssumeRole", "", arn)
        and not (s.get("Condition") and "*" in json.dumps(s.get("Resource")))
        for s in t.identity_statements(role_id)
    )


def _codebuild_role(t: StackTemplate, role_id: str, account: str) -> bool:
    projects = t.of_type("AWS::CodeBuild::Project")
    return t.account == account and any(role_id in refs(project.get("ServiceRole")) for _, project in projects)


def _pipeline_role(t: StackTemplate, role_id: str, account: str) -> bool:
    pipelines = t.of_type("AWS::CodePipeline::Pipeline")
    return t.account == account and any(role_id in refs(pipeline.get("RoleArn")) for _, pipeline in pipelines)


# Who in the toolchain account assumes each cross-account role of a stage: the smoke and change
# guard steps' CodeBuild projects, and the pipeline itself for its bake condition's rule.
CROSS_ACCOUNT_ROLES = {
    "/SmokeAccess/": (EdgeKind.SMOKE_ROLE, _codebuild_role, "a CodeBuild project's role"),
    "/ChangeGuard/": (EdgeKind.CHANGE_GUARD_ROLE, _codebuild_role, "a CodeBuild project's role"),
    "/BakeGate/": (EdgeKind.BAKE_GATE_ROLE, _pipeline_role, "the pipeline's role"),
}


def _smoke_roles(templates: Sequence[StackTemplate], toolchain_account: str, walk: Walk) -> None:
    """Roles another account assumes (the stages' smoke, change guard and bake gate roles):
    trusted by the toolchain account only, and assumable by exactly one role there, the one of
    the step or pipeline that uses it."""
    for t in templates:
        for role_id, role in t.of_type("AWS::IAM::Role"):
            principals = _trusted(t, as_list(role.get("AssumeRolePolicyDocument", {}).get("Statement", [])))
            path = t.resources[role_id].get("Metadata", {}).get("aws:cdk:path", "")
            known = [entry for fragment, entry in CROSS_ACCOUNT_ROLES.items() if fragment in path]
            if not known and not any(p.endswith(":root") for p in principals):
                continue
            kind, assumer_ok, assumer_kind = (
                known[0] if known else (EdgeKind.SMOKE_ROLE, _codebuild_role, "a CodeBuild project's role")
            )
            missing: list[str] = []
            if principals != {t.root(toolchain_account)}:
                missing.append(f"trust in {t.root(toolchain_account)} only, not {sorted(principals)}")
            assumers: list[tuple[StackTemplate, str]] = []
            if isinstance(name := role.get("RoleName"), str):
                arn = f"arn:{t.partition}:iam::{t.account}:role/{name}"
                assumers = [(c, r) for c in templates for r, _ in c.of_type("AWS::IAM::Role") if _may_assume(c, r, arn)]
            else:
                missing.append("a fixed RoleName, for the toolchain to name in its policy")
            if len(assumers) != 1:
                missing.append(f"exactly one role allowed sts:AssumeRole on it, not {len(assumers)}")
            elif not assumer_ok(*assumers[0], toolchain_account):
                missing.append(f"its assumer to be {assumer_kind} in the toolchain account")
            source = ",".join(f"{c.name}/{r}" for c, r in assumers) or "-"
            walk.add(Edge(kind, t.name, source, role_id), missing)


def walk(stacks: Mapping[str, SynthesizedStack], *, toolchain_account: str) -> Walk:
    """Every edge of every stack, with what each side lacks for it."""
    templates = [StackTemplate(stack) for stack in stacks.values()]
    result = Walk()
    for t in templates:
        for follow in (
            _alarm_actions,
            _notification_targets,
            _api_routes,
            _dead_letters,
            _access_logs,
            _alias_deployments,
        ):
            follow(t, result)
    _smoke_roles(templates, toolchain_account, result)
    return result
