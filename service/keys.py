"""The project's KMS keys, as every one is built: rotating yearly, and only AWS services may
create grants on them (Control Tower's CT.KMS.PR.3). Nothing here creates grants itself: the
services that use these keys (S3, SNS, CodePipeline, CloudWatch Logs) encrypt and decrypt
directly, so the statement only closes a door nobody should open."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def encryption_key(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    removal_policy: RemovalPolicy,
    pending_window: Duration | None = None,
) -> kms.Key:
    key = kms.Key(
        scope,
        construct_id,
        enable_key_rotation=True,
        description=description,
        removal_policy=removal_policy,
        pending_window=pending_window,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsExceptForAwsServices",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
        )
    )
    return key


def logs_encryption_key(scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> kms.Key:
    """The key a stage's log groups are encrypted with. CloudWatch Logs of this account and region
    may use it for log groups of this account and region only (the encryption context names the
    log group); reading a log then needs kms:Decrypt on it as well as logs:GetLogEvents."""
    key = encryption_key(
        scope,
        construct_id,
        description="Encrypts users-service log groups",
        removal_policy=removal_policy,
        # A stage that tears down schedules the deletion; the pending window leaves time to cancel it.
        pending_window=Duration.days(7),
    )
    stack = Stack.of(scope)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsOfThisAccount",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )
    return key
