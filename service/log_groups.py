"""The stage's CloudWatch log groups, as every one is built: encrypted with the stage's logs key
and kept as long as the stage's configuration says."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from compliance import acknowledge_guard
from config.model import RETENTION_BY_DAYS

# What Control Tower's CT.CLOUDWATCH.PR.2 asks of every log group.
GUARD_MINIMUM_RETENTION_DAYS = 365


@dataclass(frozen=True)
class LogSettings:
    key: kms.IKey
    retention_days: int  # a key of RETENTION_BY_DAYS (config validates it)
    removal_policy: RemovalPolicy
    config_key: str  # where the retention is configured, for the reason a short one is accepted


def log_group(scope: Construct, construct_id: str, settings: LogSettings) -> logs.LogGroup:
    group = logs.LogGroup(
        scope,
        construct_id,
        retention=RETENTION_BY_DAYS[settings.retention_days],
        encryption_key=settings.key,
        removal_policy=settings.removal_policy,
    )
    if settings.retention_days < GUARD_MINIMUM_RETENTION_DAYS:
        acknowledge_guard(
            group,
            "cloudwatch_log_group_retention_period_check",
            f"{settings.config_key} keeps this stage's logs {settings.retention_days} days on purpose: "
            "a stage that is not production holds test traffic only, and prod keeps its logs at least "
            f"{GUARD_MINIMUM_RETENTION_DAYS} days.",
        )
    return group
