"""The delivery pipeline: source, build (tests + nag gate + synth), self-mutation, then dev, qa and
prod, each followed by the smoke suite, with a manual approval and an IAM-broadening check before prod.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Environment, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from config import AppConfig, StageConfig, StageName
from pipeline.artifact_store import ArtifactStore
from pipeline.nag_acknowledgments import acknowledge_pipeline_scaffolding
from pipeline.notifications import PipelineNotifications
from pipeline.smoke import smoke_step
from pipeline.stage_gates import StageGate, apply_stage_gates, change_guard_step
from service.bake_gate import BakeGateNames
from stages.service_stage import ServiceStage

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PIPELINE_STACK_ID = "UsersServicePipeline"
PROD_APPROVAL_ID = "PromoteToProd"
BROADENING_CHECK_ID = "CheckIamBroadening"

# aws/codebuild/amazonlinux-x86_64-standard:6.0 (Amazon Linux 2023). Its documented runtimes
# (runtimes.yml of the image) include nodejs 24 and 22, python 3.10 to 3.14 and corretto 8 to 25:
# Python 3.13 for the venv, Corretto 17 for DynamoDB Local, Node 24 (the Lambda runtime's major)
# for npm itself; the Makefile then runs the pinned Node 24 from node_modules.
BUILD_IMAGE = codebuild.LinuxBuildImage.AMAZON_LINUX_2023_6
RUNTIME_VERSIONS = {"python": "3.13", "java": "corretto17", "nodejs": "24"}


def locked_version(package: str, lock_file: Path = PROJECT_ROOT / "package-lock.json") -> str:
    """The exact version of a dev tool that `npm ci` installs for developers (package-lock.json), so
    the pipeline's CodeBuild projects install that same version instead of `latest`."""
    packages = json.loads(lock_file.read_text())["packages"]
    declared = packages[""]["devDependencies"].get(package)
    if not isinstance(declared, str) or not declared[:1].isdigit():
        raise ValueError(f"package.json pins {package} to {declared!r}; pin an exact version")
    version = packages[f"node_modules/{package}"]["version"]
    if version != declared:
        raise ValueError(f"package-lock.json has {package} {version}, package.json {declared}: run npm install")
    return str(version)


def pinned_cli_version() -> str:
    """The CDK CLI the developers run, so self-mutation and the broadening check run the same one."""
    return locked_version("aws-cdk")


def prod_approval_comment(qa: StageConfig) -> str:
    environment = qa.environment
    return (
        "Promote to prod: this change is deployed to qa (account "
        f"{environment.account}, {environment.region}) and passed the smoke suite there, after "
        "unit tests, the cdk-nag gate and cfn-lint in Build. Check the qa smoke report and the "
        "IAM broadening check of this stage before approving."
    )


def _pinned_security_check_build_spec(project: codebuild.Project) -> Any:
    """The security check's buildspec with the pinned CLI and the build's runtimes.

    CDK renders it as JSON text joined around a reference to the auto-approve function, so the
    edit is made on the text, and fails loudly when a CDK upgrade changes what it expects.
    """
    cfn_project = project.node.default_child
    if not isinstance(cfn_project, codebuild.CfnProject):
        raise TypeError(f"{project.node.path} has no CfnProject")
    source = cfn_project.source
    if not isinstance(source, codebuild.CfnProject.SourceProperty):
        raise TypeError(f"{project.node.path}'s source is not a SourceProperty")
    rendered = Stack.of(project).resolve(source.build_spec)
    head = rendered["Fn::Join"][1][0]
    edits = {
        '"npm install -g aws-cdk",': f'"npm install -g aws-cdk@{pinned_cli_version()}",',
        '"phases": {\n': f'"phases": {{\n    "install": {json.dumps({"runtime-versions": RUNTIME_VERSIONS})},\n',
    }
    for before, after in edits.items():
        if head.count(before) != 1:
            raise ValueError(f"the security check's buildspec no longer holds {before!r}: review the pinning")
        head = head.replace(before, after)
    rendered["Fn::Join"][1][0] = head
    return rendered


class PipelineStack(Stack):
    """The toolchain account's pipeline. Deployed once by hand; it updates itself afterwards.

    `stages` are the dev, qa and prod ServiceStages, built by the caller as siblings of this stack
    (children of the App), so nothing acknowledged inside this stack can reach them. CDK Pipelines
    synthesizes each stage when it is added here: they must be complete, their smoke access added
    and the nag gate's aspects in place, before this stack is built.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AppConfig,
        stages: Mapping[StageName, ServiceStage],
        **kwargs: Any,
    ) -> None:
        toolchain = config.toolchain
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=toolchain.account, region=toolchain.region),
            description=f"{config.service_name} delivery pipeline",
            **kwargs,
        )
        self.config = config

        artifacts = ArtifactStore(self, "Artifacts", service_name=config.service_name)
        artifact_key = artifacts.key
        self.artifact_bucket = artifacts.bucket

        source = pipelines.CodePipelineSource.connection(
            config.source.repository,
            config.source.branch,
            connection_arn=config.source.connection_arn,
            trigger_on_push=True,
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            self_mutation=True,
            cross_account_keys=True,
            enable_key_rotation=True,
            artifact_bucket=self.artifact_bucket,
            docker_enabled_for_synth=False,
            publish_assets_in_parallel=False,
            cli_version=pinned_cli_version(),
            cdk_assets_cli_version=locked_version("cdk-assets"),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.MEDIUM
                ),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {"phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}}}
                ),
                timeout=Duration.minutes(60),
            ),
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                # The target a developer runs: lint, the tests, the nag gate, and `make synth`
                # into cdk.out (which cfn-lint then checks): the synth is paid once, not twice.
                # Then the dependency audit, which needs the advisory databases online.
                commands=["make test", "make audit"],
                primary_output_directory="cdk.out",
            ),
        )

        self.stages = dict(stages)
        for stage in self.stages.values():
            if stage.node.path.startswith(f"{self.node.path}/"):
                raise ValueError(f"{stage.node.path}: build the stages outside the pipeline stack")
        for stage_config in config.stages:
            stage = self.stages[stage_config.name]
            pre: list[pipelines.Step] = []
            if stage_config.name is StageName.PROD:
                # The approver sees the broadening check's verdict before being asked to promote.
                broadening = pipelines.ConfirmPermissionsBroadening(BROADENING_CHECK_ID, stage=stage)
                approval = pipelines.ManualApprovalStep(
                    PROD_APPROVAL_ID, comment=prod_approval_comment(config.stage(StageName.QA))
                )
                approval.add_step_dependency(broadening)
                pre = [broadening, approval]
            self.pipeline.add_stage(
                stage,
                pre=pre,
                stack_steps=[
                    pipelines.StackSteps(stack=stage.service, change_set=[change_guard_step(stage, source=source)])
                ],
                post=[smoke_step(stage, source=source)],
            )

        self.pipeline.build_pipeline()
        apply_stage_gates(
            self.pipeline.pipeline,
            [self._gate_of(stage_config) for stage_config in config.stages],
            source_branch=config.source.branch,
        )
        CfnOutput(self, "PipelineName", value=self.pipeline.pipeline.pipeline_name)
        self.notification_topic = PipelineNotifications(
            self,
            "Notifications",
            pipeline=self.pipeline.pipeline,
            account=self.account,
            email=config.pipeline_notification_email,
        ).topic
        self._pin_security_check_project(artifact_key)
        self._log_every_build()
        self._allow_source_connection(config.source.connection_arn)
        acknowledge_pipeline_scaffolding(self.pipeline)

    def _gate_of(self, stage_config: StageConfig) -> StageGate:
        """A stage bakes for its configured time (qa and prod; dev's is 0), and qa and prod roll
        back on failure: dev is the first place a change runs, and a failure there stops it anyway."""
        stage = self.stages[stage_config.name]
        return StageGate(
            stage_name=stage.stage_name,
            account=stage_config.environment.account,
            region=stage_config.environment.region,
            names=BakeGateNames.of_stack(stage.service.stack_name),
            bake_minutes=stage_config.deployment.bake_minutes,
            rollback=stage_config.name is not StageName.DEV,
        )

    def _pin_security_check_project(self, key: kms.IKey) -> None:
        """ConfirmPermissionsBroadening's CodeBuild project takes no options: left alone it runs an
        unpinned `npm install -g aws-cdk` on aws/codebuild/standard:7.0 with that image's default
        Node, unencrypted by the pipeline key. Give it the build's image, runtimes, the pinned CLI
        and the pipeline key, like every other project of the pipeline."""
        check = self.pipeline.node.try_find_child("PipelinesSecurityCheck")
        if check is None:
            return
        project = check.node.find_child("CDKSecurityCheck")
        cfn_project = project.node.default_child
        if not isinstance(project, codebuild.Project) or not isinstance(cfn_project, codebuild.CfnProject):
            raise TypeError(f"{project.node.path} is not a CodeBuild project")
        cfn_project.encryption_key = key.key_arn
        key.grant_encrypt_decrypt(project)
        cfn_project.add_property_override("Environment.Image", BUILD_IMAGE.image_id)
        cfn_project.add_property_override("Source.BuildSpec", _pinned_security_check_build_spec(project))

    def _log_every_build(self) -> None:
        """CodeBuild logs to CloudWatch Logs (/aws/codebuild/<project>) when a project says nothing;
        saying so on every project makes the setting explicit, as Control Tower's CT.CODEBUILD.PR.3
        asks, without changing where the logs go or who may write them."""
        for construct in self.node.find_all():
            if isinstance(construct, codebuild.CfnProject):
                construct.add_property_override("LogsConfig.CloudWatchLogs.Status", "ENABLED")

    def _allow_source_connection(self, connection_arn: str) -> None:
        """CDK grants the source action `codestar-connections:UseConnection` only; a connection whose
        ARN has the newer `codeconnections` prefix is authorised under that prefix's action."""
        if connection_arn.split(":")[2] != "codeconnections":
            return
        source_stage = self.pipeline.pipeline.node.find_child("Source")
        (role,) = [construct for construct in source_stage.node.find_all() if isinstance(construct, iam.Role)]
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["codeconnections:UseConnection"], resources=[connection_arn])
        )
