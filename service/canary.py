"""The stage's synthetic client: a CloudWatch Synthetics canary that runs canary/ (the same file the
tests run against `make local`) every few minutes through CloudFront, with an alarm on its success
percentage. Its artifacts (screenshots are none; logs and the run's result) go to a bucket of their
own: S3-encrypted, TLS-only, private, expired after two weeks."""

from __future__ import annotations

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from compliance import acknowledge, acknowledge_guard
from service.functions import PROJECT_ROOT

CANARY_CODE = PROJECT_ROOT / "canary"
RUNTIME = synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_9_1
ARTIFACT_DAYS = 14


class ReadPathCanary(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base_url: str,
        token_url: str,
        user_pool: cognito.IUserPool,
        client_id: str,
        schedule_minutes: int,
        access_logs: s3.IBucket,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.artifacts = s3.Bucket(
            self,
            "Artifacts",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(ARTIFACT_DAYS), noncurrent_version_expiration=Duration.days(1)
                )
            ],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="canary-artifacts/",
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy is RemovalPolicy.DESTROY,
        )
        guard_reasons = {
            "s3_bucket_default_encryption_kms_check": (
                "The canary's run artifacts (its log and a report of two API calls, no user data: it reads "
                "an empty page and a missing user) are encrypted with SSE-S3 and expire after "
                f"{ARTIFACT_DAYS} days."
            ),
            "s3_event_notifications_enabled_check": (
                "The canary's result reaches people through its alarm; nothing reacts to an artifact "
                "arriving, so a notification would have no consumer."
            ),
            "s3_bucket_object_lock_enabled_check": (
                f"Run artifacts expire after {ARTIFACT_DAYS} days by lifecycle; object lock would forbid that."
            ),
        }
        for rule, reason in guard_reasons.items():
            acknowledge_guard(self.artifacts, rule, reason)
        self.canary = synthetics.Canary(
            self,
            "Canary",
            runtime=RUNTIME,
            test=synthetics.Test.custom(code=synthetics.Code.from_asset(str(CANARY_CODE)), handler="read-path.handler"),
            schedule=synthetics.Schedule.rate(Duration.minutes(schedule_minutes)),
            environment_variables={
                "CANARY_BASE_URL": base_url,
                "CANARY_TOKEN_URL": token_url,
                "CANARY_USER_POOL_ID": user_pool.user_pool_id,
                "CANARY_CLIENT_ID": client_id,
            },
            artifacts_bucket_location=synthetics.ArtifactsBucketLocation(bucket=self.artifacts),
            start_after_creation=True,
            success_retention_period=Duration.days(ARTIFACT_DAYS),
            failure_retention_period=Duration.days(ARTIFACT_DAYS),
            # A stage that tears down removes the canary's Lambda function and layers with it.
            provisioned_resource_cleanup=removal_policy is RemovalPolicy.DESTROY,
        )
        self.canary.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["cognito-idp:DescribeUserPoolClient"], resources=[user_pool.user_pool_arn])
        )
        self.success_metric = self.canary.metric_success_percent(
            period=Duration.minutes(schedule_minutes), statistic="Average"
        )
        stack = Stack.of(self)
        artifacts_id = stack.get_logical_id(_cfn(self.artifacts))
        log_groups = f"arn:aws:logs:{stack.region}:{stack.account}:log-group:/aws/lambda/cwsyn-*"
        reasons = {
            "AwsSolutions-IAM5[Resource::*]": (
                "The role Synthetics needs: s3:ListAllMyBuckets, xray:PutTraceSegments and "
                "cloudwatch:PutMetricData (limited by condition to the CloudWatchSynthetics namespace) "
                "have no resource-level permissions."
            ),
            f"AwsSolutions-IAM5[Resource::<{artifacts_id}.Arn>/*]": (
                "The canary writes its run artifacts as objects of its own artifacts bucket, which holds nothing else."
            ),
            f"AwsSolutions-IAM5[Resource::{log_groups}]": (
                "Synthetics names the canary's Lambda log groups cwsyn-<canary>-<id> when it creates the "
                "function; the wildcard stays within that prefix of this account and region."
            ),
            "Serverless-LambdaStarPermissions": (
                "The same statements as AwsSolutions-IAM5 above, seen by the Serverless pack: the wildcards "
                "Synthetics' role needs, each explained there."
            ),
        }
        for finding, reason in reasons.items():
            acknowledge(self.canary.node.find_child("ServiceRole"), finding, reason)


def _cfn(construct: Construct) -> CfnElement:
    child = construct.node.default_child
    if not isinstance(child, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return child
