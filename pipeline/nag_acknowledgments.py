"""The reviewed cdk-nag (and cfn-guard) acknowledgments of the pipeline stack, grouped under their reasons.

Every entry names an exact finding on an exact construct of the scaffolding CDK Pipelines generates
(roles, policies, the permissions-broadening check), given by its path under the CodePipeline
construct. None sits on the stack, and none can reach the service stages: they are siblings of the
pipeline stack under the App. The list is written by hand and reviewed; it is never derived from the
findings. A new finding fails the synth until it is fixed or added here with its reason.

`{account}` and `{region}` stand for the toolchain account and region from cdk.json.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Stack
from constructs import IConstruct

from compliance import GUARD_PLUGIN, acknowledge

# Paths under the CodePipeline construct.
PIPELINE_ROLE = "Pipeline/Role/DefaultPolicy"
SOURCE_STAGE = "Pipeline/Source"  # holds only the source action's role and its policy
SYNTH = "Pipeline/Build/Synth/CdkBuildProject/Role/DefaultPolicy"
SELF_MUTATION = "UpdatePipeline/SelfMutation/Role/DefaultPolicy"
FILE_ASSETS = "Assets/FileRole/DefaultPolicy"
SMOKE = {stage: f"Pipeline/{stage}/SmokeTests/SmokeTests/Role/DefaultPolicy" for stage in ("Dev", "Qa", "Prod")}
GUARD = {
    stage: f"Pipeline/{stage}/UsersService.GuardStatefulResources/GuardStatefulResources/Role/DefaultPolicy"
    for stage in ("Dev", "Qa", "Prod")
}
SECURITY_CHECK = "PipelinesSecurityCheck/CDKSecurityCheck/Role/DefaultPolicy"
AUTO_APPROVE = "PipelinesSecurityCheck/CDKPipelinesAutoApprove"
AUTO_APPROVE_ROLE = "PipelinesSecurityCheck/CDKPipelinesAutoApprove/ServiceRole"
AUTO_APPROVE_POLICY = "PipelinesSecurityCheck/CDKPipelinesAutoApprove/ServiceRole/DefaultPolicy"
AUTO_APPROVE_LOGS = "PipelinesSecurityCheck/CDKPipelinesAutoApprove/LogGroup"

# The artifact bucket (pipeline/artifact_store.py, Artifacts/Bucket) by its logical ID, as cdk-nag names it.
ARTIFACT_OBJECTS = "AwsSolutions-IAM5[Resource::<ArtifactsBucket88671897.Arn>/*]"
ARTIFACT_READ = (
    "AwsSolutions-IAM5[Action::s3:GetBucket*]",
    "AwsSolutions-IAM5[Action::s3:GetObject*]",
    "AwsSolutions-IAM5[Action::s3:List*]",
    ARTIFACT_OBJECTS,
)
ARTIFACT_WRITE = ("AwsSolutions-IAM5[Action::s3:Abort*]", "AwsSolutions-IAM5[Action::s3:DeleteObject*]")
ARTIFACT_KEY = ("AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", "AwsSolutions-IAM5[Action::kms:ReEncrypt*]")


def _project_logs_and_reports(project: str) -> tuple[str, ...]:
    return (
        f"AwsSolutions-IAM5[Resource::arn:aws:logs:{{region}}:{{account}}:log-group:/aws/codebuild/<{project}>:*]",
        f"AwsSolutions-IAM5[Resource::arn:aws:codebuild:{{region}}:{{account}}:report-group/<{project}>-*]",
    )


ACKNOWLEDGMENTS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    (
        "CDK Pipelines grants each role of the pipeline the S3 action groups of Bucket.grantRead "
        "(and grantReadWrite for roles that produce artifacts) on the objects of the pipeline's own "
        "artifact bucket, which holds nothing but this pipeline's artifacts."
    ): {
        PIPELINE_ROLE: ARTIFACT_READ + ARTIFACT_WRITE,
        SOURCE_STAGE: ARTIFACT_READ + ARTIFACT_WRITE,
        SYNTH: ARTIFACT_READ + ARTIFACT_WRITE,
        SELF_MUTATION: ARTIFACT_READ,
        FILE_ASSETS: ARTIFACT_READ,
        **{path: ARTIFACT_READ for path in SMOKE.values()},
        **{path: ARTIFACT_READ for path in GUARD.values()},
        SECURITY_CHECK: ARTIFACT_READ,
    },
    (
        "The artifact bucket's KMS key: the action groups kms:GenerateDataKey* and kms:ReEncrypt* "
        "come from Key.grantEncryptDecrypt and apply to that one key, which is dedicated to this "
        "pipeline's artifacts and build logs."
    ): {
        PIPELINE_ROLE: ARTIFACT_KEY,
        SOURCE_STAGE: ARTIFACT_KEY,
        SYNTH: ARTIFACT_KEY,
        SELF_MUTATION: ARTIFACT_KEY,
        **{path: ARTIFACT_KEY for path in SMOKE.values()},
        **{path: ARTIFACT_KEY for path in GUARD.values()},
        SECURITY_CHECK: ARTIFACT_KEY,
    },
    (
        "Every CodeBuild project may write its own log streams and test reports: the wildcard is "
        "the stream or report name under the project's own log group and report-group prefix."
    ): {
        SYNTH: _project_logs_and_reports("PipelineBuildSynthCdkBuildProject6BEFA8E6"),
        SELF_MUTATION: _project_logs_and_reports("PipelineUpdatePipelineSelfMutationDAA41400"),
        SMOKE["Dev"]: _project_logs_and_reports("PipelineDevSmokeTests0BBBD638"),
        SMOKE["Qa"]: _project_logs_and_reports("PipelineQaSmokeTestsDD928C99"),
        SMOKE["Prod"]: _project_logs_and_reports("PipelineProdSmokeTests1846A88C"),
        GUARD["Dev"]: _project_logs_and_reports("PipelineDevUsersServiceGuardStatefulResources8959FA81"),
        GUARD["Qa"]: _project_logs_and_reports("PipelineQaUsersServiceGuardStatefulResourcesC76CE67B"),
        GUARD["Prod"]: _project_logs_and_reports("PipelineProdUsersServiceGuardStatefulResourcesF7B37850"),
        SECURITY_CHECK: _project_logs_and_reports("PipelinePipelinesSecurityCheckCDKSecurityCheck1D09275A"),
    },
    (
        "The asset publishing role is shared by the publishing projects, whose names CDK Pipelines "
        "generates, so its CodeBuild log, report and build permissions cannot name them in advance; "
        "the log and report wildcards stay inside /aws/codebuild and this account and region."
    ): {
        FILE_ASSETS: (
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/*]",
            "AwsSolutions-IAM5[Resource::arn:aws:codebuild:{region}:{account}:report-group/*]",
        ),
    },
    (
        "Self-mutation may assume only the CDK bootstrap roles of the toolchain account (the "
        "iam:ResourceTag/aws-cdk:bootstrap-role condition narrows role/*); cloudformation:DescribeStacks "
        "and s3:ListBucket, which the CLI needs before it knows the stack and bucket, have no "
        "resource-level form that fits."
    ): {
        SELF_MUTATION: (
            "AwsSolutions-IAM5[Resource::arn:*:iam::{account}:role/*]",
            "AwsSolutions-IAM5[Resource::*]",
        ),
    },
    (
        "The permissions-broadening check runs `cdk diff` through the CDK deploy roles, which it may "
        "assume only by their aws-cdk:bootstrap-role=deploy tag, in whichever account the stage runs; "
        "it may invoke only the versions of its own auto-approve function."
    ): {
        SECURITY_CHECK: (
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Resource::<PipelinePipelinesSecurityCheckCDKPipelinesAutoApprove438244C8.Arn>:*]",
        ),
    },
    (
        "The auto-approve function CDK Pipelines generates for the broadening check approves only "
        "pipelines tagged SECURITY_CHECK=ALLOW_APPROVE (the tag condition narrows Resource::*) and "
        "logs through the AWS managed basic execution policy."
    ): {
        AUTO_APPROVE_POLICY: ("AwsSolutions-IAM5[Resource::*]",),
        AUTO_APPROVE_ROLE: (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        ),
    },
    (
        "The auto-approve function is CDK Pipelines' own, code and settings included: it makes one "
        "API call per check, so the default memory suffices; it is invoked asynchronously and a "
        "failure leaves the approval pending for a person, so a DLQ adds nothing; a trace of a single "
        "API call shows no more than its log."
    ): {
        AUTO_APPROVE: (
            "Serverless-LambdaDefaultMemorySize",
            "Serverless-LambdaDLQ",
            "Serverless-LambdaTracing",
        ),
    },
    (
        "The auto-approve function is CDK Pipelines' own and reaches only the CodePipeline API, so a "
        "VPC would isolate nothing; its log group, which CDK Pipelines creates without a way to pass "
        "a key, holds only the function's own approve-or-not lines (no secrets, no user data)."
    ): {
        AUTO_APPROVE: (f"{GUARD_PLUGIN}::lambda_inside_vpc_check",),
        AUTO_APPROVE_LOGS: (f"{GUARD_PLUGIN}::cloudwatch_log_group_encrypted_check",),
    },
}


def acknowledge_pipeline_scaffolding(pipeline: IConstruct) -> None:
    """Places every acknowledgment above on its construct under `pipeline` (the CodePipeline
    construct, after build_pipeline()). A path that does not exist is an error, so the list cannot
    silently drift from what CDK Pipelines generates."""
    stack = Stack.of(pipeline)
    for reason, targets in ACKNOWLEDGMENTS.items():
        for path, findings in targets.items():
            target = _find(pipeline, path)
            for finding in findings:
                acknowledge(target, finding.format(account=stack.account, region=stack.region), reason)


def _find(root: IConstruct, path: str) -> IConstruct:
    node = root
    for part in path.split("/"):
        child = node.node.try_find_child(part)
        if child is None:
            raise LookupError(f"{root.node.path}/{path} does not exist; review pipeline/nag_acknowledgments.py")
        node = child
    return node
