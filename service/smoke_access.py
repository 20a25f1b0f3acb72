from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import CfnOutput, Duration
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


@dataclass(frozen=True)
class SmokeSettings:
    """What the smoke suite needs of a deployed stage: its stack outputs by the SMOKE_* variable
    the suite reads (tests/smoke/settings.py), and the name of the role it assumes."""

    role_name: str
    api_url: CfnOutput
    cloudfront_url: CfnOutput
    dead_letter_alarm_names: CfnOutput
    role_arn: CfnOutput
    # The stage's own Cognito pool; None when it trusts an external issuer.
    token_url: CfnOutput | None
    client_id: CfnOutput | None
    user_pool_id: CfnOutput | None

    def environment_outputs(self) -> dict[str, CfnOutput]:
        outputs = {
            "SMOKE_API_URL": self.api_url,
            "SMOKE_CLOUDFRONT_URL": self.cloudfront_url,
            "SMOKE_DLQ_ALARM_NAMES": self.dead_letter_alarm_names,
            "SMOKE_ROLE_ARN": self.role_arn,
        }
        optional = {"SMOKE_TOKEN_URL": self.token_url, "SMOKE_CLIENT_ID": self.client_id}
        optional["SMOKE_USER_POOL_ID"] = self.user_pool_id
        outputs.update({name: output for name, output in optional.items() if output is not None})
        return outputs
