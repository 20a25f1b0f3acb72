from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct


class SmokeAccess(Construct):
    """The role the smoke tests assume to read what they need from a deployed stage.

    Only `trusted_account` may assume it: the toolchain account, whose smoke step runs the suite,
    or the stage's own account for a sandbox. It may read the machine client's secret (to ask the
    user pool for a client-credentials token) and the state of the dead-letter alarms, nothing else.
    The name is fixed so the toolchain can scope `sts:AssumeRole` to exactly this role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trusted_account: str,
        role_name: str,
        user_pool: cognito.IUserPool | None,
        dead_letter_alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        statements: list[iam.PolicyStatement] = []
        if user_pool is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadMachineClientSecret",
                    actions=["cognito-idp:DescribeUserPoolClient"],
                    resources=[user_pool.user_pool_arn],
                )
            )
        if dead_letter_alarms:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadDeadLetterAlarms",
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[alarm.alarm_arn for alarm in dead_letter_alarms],
                )
            )
        self.role_name = role_name
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.AccountPrincipal(trusted_account),
            description="Assumed by the smoke tests of this stage (read-only)",
            max_session_duration=Duration.hours(1),
            inline_policies={"SmokeTests": iam.PolicyDocument(statements=statements)} if statements else None,
        )
