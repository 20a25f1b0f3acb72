"""What the pipeline's bake gate reads in a stage's account: one composite alarm that is in ALARM
while any of the stage's alarms is, and a role the toolchain account may assume to read that
alarm's state and nothing else (the smoke role's trust model). Both have fixed names, derived
from the stack's, so the pipeline can name them at synth without a lookup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from compliance import acknowledge


def toolchain_reader_role(
    scope: Construct,
    *,
    role_name: str,
    trusted_account: str,
    description: str,
    policy_name: str,
    statements: Sequence[iam.PolicyStatement],
) -> iam.Role:
    """A role of the stage that only `trusted_account` (the toolchain) may assume, for an hour,
    holding only `statements`; fixed-named so the toolchain can scope sts:AssumeRole to it."""
    return iam.Role(
        scope,
        "Role",
        role_name=role_name,
        assumed_by=iam.AccountPrincipal(trusted_account),
        description=description,
        max_session_duration=Duration.hours(1),
        inline_policies={policy_name: iam.PolicyDocument(statements=list(statements))},
    )


@dataclass(frozen=True)
class BakeGateNames:
    alarm_name: str
    role_name: str

    @classmethod
    def of_stack(cls, stack_name: str) -> BakeGateNames:
        return cls(alarm_name=f"{stack_name}-health", role_name=f"{stack_name}-bake-gate")


class BakeGateAccess(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: BakeGateNames,
        trusted_account: str,
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        self.names = names
        self.alarm = cloudwatch.CompositeAlarm(
            self,
            "Health",
            composite_alarm_name=names.alarm_name,
            alarm_rule=cloudwatch.AlarmRule.any_of(*alarms),
            alarm_description="In ALARM while any alarm of this stage is: the pipeline's bake gate watches it",
        )
        self.role = toolchain_reader_role(
            self,
            role_name=names.role_name,
            trusted_account=trusted_account,
            description="Assumed by the pipeline's bake gate to read this stage's health alarm (read-only)",
            policy_name="BakeGate",
            statements=[iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=[self.alarm.alarm_arn])],
        )


def change_guard_role_name(stack_name: str) -> str:
    return f"{stack_name}-change-guard"


class ChangeGuardAccess(Construct):
    """The role the pipeline's change guard assumes from the toolchain account to read this
    stack's change set before it is executed: describe the stack and its change sets, nothing else.
    The name is fixed so the toolchain can scope `sts:AssumeRole` to exactly this role."""

    def __init__(self, scope: Construct, construct_id: str, *, stack: Stack, trusted_account: str) -> None:
        super().__init__(scope, construct_id)
        # The partition literally: cdk-nag matches the acknowledgment against the rendered ARN.
        stack_arn = f"arn:aws:cloudformation:{stack.region}:{stack.account}:stack/{stack.stack_name}/*"
        self.role = toolchain_reader_role(
            self,
            role_name=change_guard_role_name(stack.stack_name),
            trusted_account=trusted_account,
            description="Assumed by the pipeline's change guard to read this stack's change set (read-only)",
            policy_name="ChangeGuard",
            statements=[
                iam.PolicyStatement(
                    actions=["cloudformation:DescribeChangeSet", "cloudformation:DescribeStacks"],
                    resources=[stack_arn],
                )
            ],
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{stack_arn}]",
            "A stack's ARN ends in an ID CloudFormation assigns when it creates the stack; the "
            "wildcard stands for that ID of this one stack, whose name is fixed.",
        )
