"""Where the pipeline keeps its artifacts: a versioned bucket, encrypted with a rotating key of its
own, TLS only, with S3 server access logs in a bucket beside it."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from compliance import acknowledge_guard
from service.keys import encryption_key
from service.log_bucket import LogBucket


class ArtifactStore(Construct):
    """The bucket is retained (artifacts are the record of what each run deployed); the key, which
    only encrypts them, is not."""

    def __init__(self, scope: Construct, construct_id: str, *, service_name: str) -> None:
        super().__init__(scope, construct_id)
        self.key = encryption_key(
            self,
            "Key",
            description=f"Encrypts the {service_name} pipeline's artifacts and build logs",
            removal_policy=RemovalPolicy.DESTROY,
        )
        access_logs = LogBucket(self, "AccessLogs")
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs.bucket,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOldArtifacts",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge_guard(
            self.bucket,
            "s3_event_notifications_enabled_check",
            "Only the pipeline reads its artifacts, in the run that wrote them; a notification would have no consumer.",
        )
        acknowledge_guard(
            self.bucket,
            "s3_bucket_object_lock_enabled_check",
            "Every run writes new artifacts and old versions expire after 30 days; object lock would "
            "forbid that. The bucket is retained, versioned, KMS-encrypted and TLS-only.",
        )
