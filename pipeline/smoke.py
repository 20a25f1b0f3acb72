"""The smoke step that runs tests/smoke against a stage right after the pipeline deployed it."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam

from stages.service_stage import ServiceStage

SMOKE_STEP_ID = "SmokeTests"
REPORT_FILE = "smoke-report.xml"
# Every AWS call of the suite (the machine client's secret, the dead-letter alarms) runs as the
# stage's smoke role: the default profile assumes it with the CodeBuild container's credentials.
AWS_CONFIG_FILE = "/tmp/smoke-aws-config"


def smoke_role_arn(stage: ServiceStage) -> str:
    """The ARN of the stage's smoke role, known at synth (the role has a fixed name), so the step's
    own role can be limited to assuming exactly that role."""
    service = stage.service
    if service.smoke_access is None:
        raise ValueError(f"{stage.node.path} has no smoke access; build it with smoke_trusted_account")
    return f"arn:{Aws.PARTITION}:iam::{stage.config.environment.account}:role/{service.smoke_access.role_name}"


def smoke_step(stage: ServiceStage, *, source: pipelines.IFileSetProducer) -> pipelines.CodeBuildStep:
    """pytest tests/smoke against the stage's API and CloudFront URLs, with the stage's outputs as
    settings. A stage that trusts an external OIDC issuer has no token URL: its step needs a
    SMOKE_TOKEN or SMOKE_TOKEN_COMMAND added here (docs/deploying.md)."""
    service = stage.service
    if service.smoke_role_arn_output is None:
        raise ValueError(f"{stage.node.path} has no smoke role output; build it with smoke_trusted_account")
    outputs: dict[str, CfnOutput] = {
        "SMOKE_API_URL": stage.api_url,
        "SMOKE_CLOUDFRONT_URL": stage.cloudfront_url,
        "SMOKE_DLQ_ALARM_NAMES": service.dead_letter_alarms_output,
        "SMOKE_ROLE_ARN": service.smoke_role_arn_output,
    }
    if service.token_url_output is not None and service.smoke_client_id_output is not None:
        outputs["SMOKE_TOKEN_URL"] = service.token_url_output
        outputs["SMOKE_CLIENT_ID"] = service.smoke_client_id_output
    if service.user_pool_id_output is not None:
        outputs["SMOKE_USER_POOL_ID"] = service.user_pool_id_output
    return pipelines.CodeBuildStep(
        SMOKE_STEP_ID,
        input=source,
        env_from_cfn_outputs=outputs,
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
