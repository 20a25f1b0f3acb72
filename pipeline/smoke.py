"""The smoke step that runs tests/smoke against a stage right after the pipeline deployed it."""

from __future__ import annotations

from aws_cdk import Aws, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam

from service.smoke_access import SmokeSettings
from stages.service_stage import ServiceStage

SMOKE_STEP_ID = "SmokeTests"
REPORT_FILE = "smoke-report.xml"
# Every AWS call of the suite (the machine client's secret, the dead-letter alarms) runs as the
# stage's smoke role: the default profile assumes it with the CodeBuild container's credentials.
AWS_CONFIG_FILE = "/tmp/smoke-aws-config"  # noqa: S108 (inside the step's own build container)


def smoke_settings(stage: ServiceStage) -> SmokeSettings:
    if stage.service.smoke is None:
        raise ValueError(f"{stage.node.path} has no smoke access; build it with smoke_trusted_account")
    return stage.service.smoke


def smoke_role_arn(stage: ServiceStage) -> str:
    """The ARN of the stage's smoke role, known at synth (the role has a fixed name), so the step's
    own role can be limited to assuming exactly that role."""
    role_name = smoke_settings(stage).role_name
    return f"arn:{Aws.PARTITION}:iam::{stage.config.environment.account}:role/{role_name}"


def smoke_step(stage: ServiceStage, *, source: pipelines.IFileSetProducer) -> pipelines.CodeBuildStep:
    """pytest tests/smoke against the stage's API and CloudFront URLs, with the stage's outputs as
    settings. A stage that trusts an external OIDC issuer has no token URL: its step needs a
    SMOKE_TOKEN or SMOKE_TOKEN_COMMAND added here (docs/deploying.md)."""
    return pipelines.CodeBuildStep(
        SMOKE_STEP_ID,
        input=source,
        env_from_cfn_outputs=smoke_settings(stage).environment_outputs(),
        env={
            "SMOKE_AWS_REGION": stage.config.environment.region,
            # The suite's default origin is dev's; each stage allows its own.
            "SMOKE_ALLOWED_ORIGIN": stage.config.cors_allowed_origins[0],
            "AWS_CONFIG_FILE": AWS_CONFIG_FILE,
        },
        install_commands=["make .venv/.installed"],
        commands=[
            "printf '[default]\\nrole_arn = %s\\ncredential_source = EcsContainer\\n"
            'role_session_name = users-service-smoke\\n\' "$SMOKE_ROLE_ARN" > "$AWS_CONFIG_FILE"',
            f".venv/bin/pytest -p no:cacheprovider -v --junitxml={REPORT_FILE} tests/smoke",
        ],
        role_policy_statements=[
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[smoke_role_arn(stage)]),
        ],
        partial_build_spec=codebuild.BuildSpec.from_object(
            {"reports": {"smoke": {"files": [REPORT_FILE], "file-format": "JUNITXML"}}}
        ),
    )
