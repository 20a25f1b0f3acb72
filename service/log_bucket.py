from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from compliance import acknowledge, acknowledge_guard

LOG_EXPIRATION = Duration.days(365)
NONCURRENT_EXPIRATION = Duration.days(30)


class LogBucket(Construct):
    """Where access logs are written: CloudFront's, or S3 server access logs.

    ACLs stay disabled (BUCKET_OWNER_ENFORCED, S3's default and best practice) unless the writer
    needs them: CloudFront standard logging writes with ACLs, so its bucket passes OBJECT_WRITER
    (with BUCKET_OWNER_ENFORCED that template synthesizes but the deployment fails). S3 server
    access logs need no ACL: CDK grants the logging service in the bucket policy.

    Retained by default: logs are evidence worth keeping after a stack is gone. A stage that
    tears down (`RemovalPolicy.DESTROY`) gets CDK's auto-delete custom resource, because
    CloudFormation cannot delete a bucket that still holds objects (or, versioned, old versions):
    without it the stack's deletion fails and leaves the bucket behind.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        object_ownership: s3.ObjectOwnership = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=object_ownership,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOldLogs",
                    expiration=LOG_EXPIRATION,
                    noncurrent_version_expiration=NONCURRENT_EXPIRATION,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy is RemovalPolicy.DESTROY,
        )
        destination = (
            "This bucket is the access-log destination itself; logging its own access to "
            "itself would loop, and a second log bucket would only move the finding."
        )
        acknowledge(self.bucket, "AwsSolutions-S1", destination)
        guard_reasons = {
            "s3_bucket_logging_enabled_check": destination,
            "s3_bucket_default_encryption_kms_check": (
                "S3 server access log delivery writes only to a target bucket encrypted with SSE-S3, "
                "which this one is; a KMS key would stop the delivery."
            ),
            "s3_event_notifications_enabled_check": (
                "Nothing reacts to a log file arriving: logs are read when someone investigates, so a "
                "notification would have no consumer."
            ),
            "s3_bucket_object_lock_enabled_check": (
                "The logs expire by lifecycle after a year; object lock would forbid that. The bucket is "
                "versioned, TLS-only and closed to the public, so a log cannot be replaced unseen."
            ),
        }
        for rule, reason in guard_reasons.items():
            acknowledge_guard(self.bucket, rule, reason)
        if removal_policy is RemovalPolicy.DESTROY:
            # The auto-delete handler is CDK's singleton of the stack (it serves every such bucket).
            provider = Stack.of(self).node.find_child("Custom::S3AutoDeleteObjectsCustomResourceProvider")
            acknowledge_guard(
                provider.node.find_child("Handler"),
                "lambda_inside_vpc_check",
                "CDK's handler that empties this stack's buckets when a stage is torn down; it calls only "
                "S3's API and reaches nothing private.",
            )
