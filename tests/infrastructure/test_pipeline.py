"""The delivery pipeline: its stages, actions and roles, the smoke access it relies on, and the nag
gate over the pipeline stack, its stages and the sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

import app as app_module
from config import AppConfig, ConfigError, StageName
from pipeline.nag_acknowledgments import ACKNOWLEDGMENTS
from pipeline.pipeline_stack import (
    BUILD_IMAGE,
    PIPELINE_STACK_ID,
    RUNTIME_VERSIONS,
    PipelineStack,
    locked_version,
    pinned_cli_version,
)
from stages.service_stage import ServiceStage
from tests.assembly import SynthesizedApp
from tests.conftest import PROJECT_ROOT, config_from, shipped_context
from tests.stage_support import SKIP_BUNDLING

STAGE_IDS = {StageName.DEV: "Dev", StageName.QA: "Qa", StageName.PROD: "Prod"}


def _build(context_overrides: dict[str, Any] | None = None) -> App:
    context = {**shipped_context(), **SKIP_BUNDLING, **(context_overrides or {})}
    return app_module.build_app(app_module.new_app(context=context))


@pytest.fixture(scope="module")
def built_app(synthesized_app: SynthesizedApp) -> App:
    return synthesized_app.app


@pytest.fixture(scope="module")
def pipeline_stack(built_app: App) -> PipelineStack:
    stack = built_app.node.find_child(PIPELINE_STACK_ID)
    assert isinstance(stack, PipelineStack)
    return stack


@pytest.fixture(scope="module")
def template(synthesized_app: SynthesizedApp) -> Template:
    return Template.from_json(synthesized_app.stacks[PIPELINE_STACK_ID].template)


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return config_from(shipped_context())


@pytest.fixture(scope="module")
def pipeline_stages(template: Template) -> dict[str, list[dict[str, Any]]]:
    pipelines = template.find_resources("AWS::CodePipeline::Pipeline")
    assert len(pipelines) == 1
    (pipeline,) = pipelines.values()
    return {stage["Name"]: stage["Actions"] for stage in pipeline["Properties"]["Stages"]}


def _run_orders(actions: list[dict[str, Any]], provider: str) -> list[int]:
    return [action["RunOrder"] for action in actions if action["ActionTypeId"]["Provider"] == provider]


def _action(actions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(action for action in actions if action["Name"] == name)


# --- the pipeline's shape ---------------------------------------------------------------------


def test_stages_run_in_promotion_order(pipeline_stages: dict[str, list[dict[str, Any]]]) -> None:
    names = [name for name in pipeline_stages if name != "Assets"]
    assert names == ["Source", "Build", "UpdatePipeline", "Dev", "Qa", "Prod"]
    if "Assets" in pipeline_stages:
        assert list(pipeline_stages).index("Assets") == 3


def test_the_pipeline_is_v2_and_its_artifacts_are_kms_encrypted(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CodePipeline::Pipeline",
        {
            "PipelineType": "V2",
            "RestartExecutionOnUpdate": True,
            "ArtifactStore": {"Type": "S3", "EncryptionKey": {"Type": "KMS", "Id": Match.any_value()}},
        },
    )
    keys = template.find_resources("AWS::KMS::Key")
    assert keys
    assert all(key["Properties"]["EnableKeyRotation"] is True for key in keys.values())


def test_the_artifact_bucket_is_versioned_logged_and_tls_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": {"DestinationBucketName": Match.any_value()},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": Match.any_value(),
                            }
                        }
                    )
                ]
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_the_artifact_access_logs_need_no_acls(template: Template) -> None:
    # S3 server access logs are granted to the logging service in the bucket policy; only
    # CloudFront's log bucket (in the stages) needs ACLs.
    buckets = template.find_resources("AWS::S3::Bucket")
    artifact = next(b for b in buckets.values() if "LoggingConfiguration" in b["Properties"])
    log_bucket_id = artifact["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    ownership = buckets[log_bucket_id]["Properties"]["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    policies = [
        policy
        for policy in template.find_resources("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": log_bucket_id}
    ]
    statements = [s for policy in policies for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    granted = [s for s in statements if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}]
    assert len(granted) == 1
    assert granted[0]["Effect"] == "Allow"
    assert granted[0]["Action"] == "s3:PutObject"


def test_the_source_is_the_configured_connection_and_branch(
    pipeline_stages: dict[str, list[dict[str, Any]]], config: AppConfig
) -> None:
    (action,) = pipeline_stages["Source"]
    assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert action["Configuration"]["ConnectionArn"] == config.source.connection_arn
    assert action["Configuration"]["FullRepositoryId"] == config.source.repository
    assert action["Configuration"]["BranchName"] == config.source.branch


def test_the_build_runs_the_developers_make_targets(template: Template) -> None:
    projects = template.find_resources(
        "AWS::CodeBuild::Project", {"Properties": {"Description": Match.string_like_regexp("Synth")}}
    )
    (project,) = projects.values()
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    # `make audit` asks the advisory databases, which only the pipeline can reach (offline it fails).
    assert spec["phases"]["build"]["commands"] == ["make test", "make audit"]
    assert "\naudit: " in (PROJECT_ROOT / "Makefile").read_text()
    # `make test` leaves the nag-gated synth in cdk.out: its cfn-lint target depends on `synth`.
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "\ncfn-lint: synth " in makefile
    assert "cdk synth '**' --quiet" in makefile.split("\nsynth: ", 1)[1].split("\n\n", 1)[0]
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    # ...and the SBOMs beside it, so the pipeline keeps them with the assembly it deploys.
    assert re.search(r"^test: .*\bsbom\b", makefile, flags=re.MULTILINE)
    assert "\nSBOM_DIR := cdk.out/sbom\n" in makefile
    assert project["Properties"]["Environment"]["Image"] == "aws/codebuild/amazonlinux-x86_64-standard:6.0"
    assert project["Properties"]["Environment"]["PrivilegedMode"] is False


def test_self_mutation_runs_the_cli_version_pinned_in_package_json(template: Template) -> None:
    package = json.loads((PROJECT_ROOT / "package.json").read_text())
    assert pinned_cli_version() == package["devDependencies"]["aws-cdk"]
    projects = template.find_resources(
        "AWS::CodeBuild::Project",
        {"Properties": {"Description": Match.string_like_regexp("UpdatePipeline/SelfMutate$")}},
    )
    (project,) = projects.values()
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    assert f"npm install -g aws-cdk@{pinned_cli_version()}" in spec["phases"]["install"]["commands"]


def _build_specs(template: Template, built_app: App) -> dict[str, str]:
    """Every CodeBuild project's buildspec as text (references joined in as placeholders), and the
    buildspec files CDK Pipelines writes beside the template (the asset publishing steps)."""
    specs: dict[str, str] = {}
    for logical_id, project in template.find_resources("AWS::CodeBuild::Project").items():
        spec = project["Properties"]["Source"]["BuildSpec"]
        if isinstance(spec, dict) and "Fn::Join" in spec:
            spec = "".join(part if isinstance(part, str) else "<ref>" for part in spec["Fn::Join"][1])
        specs[logical_id] = spec
    for path in Path(built_app.outdir).glob("buildspec-*.yaml"):
        specs[path.name] = path.read_text()
    return specs


INSTALL = re.compile(r"(?:npm (?:install|i)|pip3? install)((?: +[^\s\"';&|]+)+)")
EXACT_VERSION = re.compile(r"^(?:@?[^@=\s]+@\d+\.\d+\.\d+|[^=\s]+==\d[\w.]*)$")


def unpinned_installs(build_spec: str) -> list[str]:
    """Each package an `npm install` or `pip install` names without an exact version; installs
    from a lock or requirements file (`npm ci`, `pip install -r`) pin through the file."""
    unpinned: list[str] = []
    for match in INSTALL.finditer(build_spec):
        words = match.group(1).split()
        if "-r" in words:
            continue
        unpinned += [word for word in words if not word.startswith("-") and not EXACT_VERSION.match(word)]
    return unpinned


@pytest.mark.parametrize(
    ("command", "unpinned"),
    [
        ("npm install -g aws-cdk", True),
        ("npm install -g cdk-assets@latest", True),
        ('"npm install -g aws-cdk"', True),
        ("pip install cfn-lint", True),
        ("npm install -g aws-cdk@2.1148.1", False),
        ("npm install -g cdk-assets@4.7.3", False),
        ("pip install cfn-lint==1.58.0", False),
        ("pip install -r requirements.txt", False),
    ],
)
def test_the_unpinned_install_check_recognises_both_kinds(command: str, unpinned: bool) -> None:
    assert bool(unpinned_installs(command)) is unpinned


def test_no_buildspec_installs_an_unpinned_package(template: Template, built_app: App) -> None:
    specs = _build_specs(template, built_app)
    # synth, self-mutation, the security check, three smoke steps, at least one asset step
    assert len(specs) >= 7, sorted(specs)
    installs = {name: unpinned_installs(spec) for name, spec in specs.items()}
    assert {name: found for name, found in installs.items() if found} == {}
    joined = "\n".join(specs.values())
    assert f"npm install -g cdk-assets@{locked_version('cdk-assets')}" in joined
    assert f"npm install -g aws-cdk@{pinned_cli_version()}" in joined


def test_every_codebuild_project_runs_the_build_image_and_runtimes(template: Template, built_app: App) -> None:
    projects = template.find_resources("AWS::CodeBuild::Project")
    for logical_id, project in projects.items():
        assert project["Properties"]["Environment"]["Image"] == BUILD_IMAGE.image_id, logical_id
    specs = _build_specs(template, built_app)
    security_check = next(spec for name, spec in specs.items() if "SecurityCheck" in name)
    assert json.dumps({"runtime-versions": RUNTIME_VERSIONS}) in security_check
    assert RUNTIME_VERSIONS["nodejs"] == "24"


def test_the_tool_versions_come_from_the_lock_file(tmp_path: Path) -> None:
    assert (
        locked_version("cdk-assets")
        == json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]["cdk-assets"]
    )
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text())
    lock["packages"]["node_modules/cdk-assets"]["version"] = "0.0.1"
    drifted = tmp_path / "package-lock.json"
    drifted.write_text(json.dumps(lock))
    with pytest.raises(ValueError, match=r"cdk-assets 0\.0\.1"):
        locked_version("cdk-assets", drifted)


def test_the_source_action_may_use_a_codeconnections_connection(template: Template, config: AppConfig) -> None:
    assert config.source.connection_arn.startswith("arn:aws:codeconnections:")
    policies = template.find_resources(
        "AWS::IAM::Policy",
        {"Metadata": {"aws:cdk:path": Match.string_like_regexp("/Source/.*/CodePipelineActionRole/")}},
    )
    (policy,) = policies.values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    connection = next(statement for statement in statements if statement["Resource"] == config.source.connection_arn)
    assert sorted(connection["Action"]) == ["codeconnections:UseConnection", "codestar-connections:UseConnection"]


def test_every_codebuild_project_is_encrypted_with_a_pipeline_key(template: Template) -> None:
    projects = template.find_resources("AWS::CodeBuild::Project")
    assert projects
    for logical_id, project in projects.items():
        assert "EncryptionKey" in project["Properties"], logical_id


@pytest.mark.parametrize("stage", list(StageName))
def test_each_stage_deploys_with_roles_of_its_own_account_and_region(
    stage: StageName, pipeline_stages: dict[str, list[dict[str, Any]]], config: AppConfig
) -> None:
    environment = config.stage(stage).environment
    deploys = [
        action for action in pipeline_stages[STAGE_IDS[stage]] if action["ActionTypeId"]["Provider"] == "CloudFormation"
    ]
    assert {action["Name"] for action in deploys} == {"UsersService.Prepare", "UsersService.Deploy"}
    for action in deploys:
        role_arn = json.dumps(action["RoleArn"])
        assert f":iam::{environment.account}:role/" in role_arn
        assert f"deploy-role-{environment.account}-{environment.region}" in role_arn
        assert action.get("Region", config.toolchain.region) == environment.region
        assert action["Configuration"]["StackName"] == f"{STAGE_IDS[stage]}-UsersService"


@pytest.mark.parametrize("stage", list(StageName))
def test_the_smoke_tests_run_after_each_stage_is_deployed(
    stage: StageName, pipeline_stages: dict[str, list[dict[str, Any]]]
) -> None:
    actions = pipeline_stages[STAGE_IDS[stage]]
    smoke = _action(actions, "SmokeTests")
    assert smoke["ActionTypeId"]["Provider"] == "CodeBuild"
    assert smoke["RunOrder"] > max(_run_orders(actions, "CloudFormation"))
    variables = {item["name"]: item["value"] for item in json.loads(smoke["Configuration"]["EnvironmentVariables"])}
    expected = {
        "SMOKE_API_URL": "ApiUrl",
        "SMOKE_CLOUDFRONT_URL": "CloudFrontUrl",
        "SMOKE_TOKEN_URL": "TokenUrl",
        "SMOKE_CLIENT_ID": "MachineClientId",
        "SMOKE_USER_POOL_ID": "UserPoolId",
        "SMOKE_DLQ_ALARM_NAMES": "DeadLetterAlarmNames",
        "SMOKE_ROLE_ARN": "SmokeRoleArn",
    }
    for name, output in expected.items():
        assert variables[name].startswith("#{"), (name, variables)
        assert variables[name].endswith(f".{output}}}"), (name, variables)


def test_prod_waits_for_the_broadening_check_and_a_manual_approval(
    pipeline_stages: dict[str, list[dict[str, Any]]], config: AppConfig
) -> None:
    actions = pipeline_stages["Prod"]
    first_deploy = min(_run_orders(actions, "CloudFormation"))
    approval = _action(actions, "PromoteToProd")
    check = _action(actions, "CheckIamBroadening.Check")
    assert approval["ActionTypeId"]["Provider"] == "Manual"
    assert check["RunOrder"] < approval["RunOrder"] < first_deploy
    qa = config.stage(StageName.QA).environment
    comment = approval["Configuration"]["CustomData"]
    assert qa.account in comment
    assert qa.region in comment
    for stage in ("Dev", "Qa"):
        assert "Manual" not in {action["ActionTypeId"]["Provider"] for action in pipeline_stages[stage]}


def test_smoke_steps_may_only_assume_their_stages_smoke_role(template: Template, config: AppConfig) -> None:
    policies = template.find_resources("AWS::IAM::Policy")
    for stage in StageName:
        stage_id = STAGE_IDS[stage]
        (policy,) = [
            policy
            for logical_id, policy in policies.items()
            if logical_id.startswith(f"Pipeline{stage_id}SmokeTestsRole")
        ]
        assume = [
            statement
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if "sts:AssumeRole" in statement["Action"]
        ]
        account = config.stage(stage).environment.account
        assert len(assume) == 1
        assert json.dumps(assume[0]["Resource"]).endswith(f':iam::{account}:role/{stage_id}-UsersService-smoke"]]}}')


def test_failures_and_approvals_notify_an_encrypted_topic(template: Template, config: AppConfig) -> None:
    template.has_resource_properties(
        "AWS::CodeStarNotifications::NotificationRule",
        {
            "EventTypeIds": [
                "codepipeline-pipeline-pipeline-execution-failed",
                "codepipeline-pipeline-manual-approval-needed",
            ],
            "Targets": [{"TargetType": "SNS", "TargetAddress": Match.any_value()}],
        },
    )
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "codestar-notifications.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Condition": {"StringEquals": {"aws:SourceAccount": config.toolchain.account}},
                            }
                        )
                    ]
                )
            }
        },
    )
    # The topic policy holds no publish grant to the service without the source account condition.
    (topic_policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    grants = [
        statement
        for statement in topic_policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]
    assert [statement.get("Condition") for statement in grants] == [
        {"StringEquals": {"aws:SourceAccount": config.toolchain.account}}
    ]
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "codestar-notifications.amazonaws.com"}})]
                )
            }
        },
    )


def test_a_notification_email_subscribes_to_the_topic() -> None:
    app = _build({"pipeline.notificationEmail": "team@example.com"})
    template = Template.from_stack(app.node.find_child(PIPELINE_STACK_ID))  # type: ignore[arg-type]
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "team@example.com"})


def test_the_acknowledgments_and_their_reasons_ship_in_the_pipeline_template(template: Template) -> None:
    acknowledged = {
        (rule["id"], rule["reason"])
        for resource in template.to_json()["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert set(ACKNOWLEDGMENTS) <= {reason for _, reason in acknowledged}
    assert "AwsSolutions-IAM5[Resource::arn:*:iam::111111111111:role/*]" in {rule for rule, _ in acknowledged}


# --- the stages and the smoke role ------------------------------------------------------------


def test_without_the_sandbox_flag_only_the_pipeline_and_its_stages_are_built(built_app: App) -> None:
    top_level = [child.node.id for child in built_app.node.children]
    assert PIPELINE_STACK_ID in top_level
    assert app_module.SANDBOX_ID not in top_level
    stages = [child for child in built_app.node.children if isinstance(child, ServiceStage)]
    assert [stage.node.id for stage in stages] == ["Dev", "Qa", "Prod"]


def test_the_stages_sit_outside_the_pipeline_stack(pipeline_stack: PipelineStack, built_app: App) -> None:
    # Acknowledgments flow down the tree: none placed in the pipeline stack can reach a stage.
    for stage in pipeline_stack.stages.values():
        assert stage.node.scope is built_app
    for targets in ACKNOWLEDGMENTS.values():
        assert targets
        for path in targets:
            assert not path.startswith(("Dev", "Qa", "Prod", "Sandbox"))


@pytest.mark.parametrize("stage", list(StageName))
def test_the_smoke_role_trusts_only_the_toolchain_and_reads_only_what_the_suite_needs(
    stage: StageName, synthesized_app: SynthesizedApp, config: AppConfig
) -> None:
    template = Template.from_json(synthesized_app.stacks[f"{STAGE_IDS[stage]}/UsersService"].template)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": f"{STAGE_IDS[stage]}-UsersService-smoke",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{config.toolchain.account}:root"},
                    }
                ]
            },
        },
    )
    (role,) = template.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": f"{STAGE_IDS[stage]}-UsersService-smoke"}}
    ).values()
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert {statement["Action"] for statement in statements} == {
        "cognito-idp:DescribeUserPoolClient",
        "cloudwatch:DescribeAlarms",
    }
    assert "*" not in json.dumps([statement["Resource"] for statement in statements])
    outputs = template.find_outputs("*")
    assert {"SmokeRoleArn", "UserPoolId", "TokenUrl", "MachineClientId"} <= set(outputs)


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)


@pytest.mark.usefixtures("sandbox_env")
def test_the_sandbox_falls_back_to_devs_environment_without_credentials(config: AppConfig) -> None:
    app = _build({"sandbox": "true"})
    sandbox = app.node.find_child(app_module.SANDBOX_ID)
    assert isinstance(sandbox, ServiceStage)
    dev = config.stage(StageName.DEV)
    assert (sandbox.account, sandbox.region) == (dev.environment.account, dev.environment.region)
    assert sandbox.config.cors_allowed_origins == dev.cors_allowed_origins
    template = Template.from_stack(sandbox.service)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "Sandbox-UsersService-smoke",
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": {"AWS": f"arn:aws:iam::{dev.environment.account}:root"}})]
            },
            "Tags": Match.array_with([{"Key": "Environment", "Value": "Sandbox"}]),
        },
    )


def test_the_sandbox_deploys_into_the_cli_credentials_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "555555555555")
    monkeypatch.setenv("CDK_DEFAULT_REGION", "us-east-1")
    sandbox = _build({"sandbox": "true"}).node.find_child(app_module.SANDBOX_ID)
    assert isinstance(sandbox, ServiceStage)
    assert sandbox.account == "555555555555"


def test_a_sandbox_outside_the_web_acl_region_is_refused_naming_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    with pytest.raises(ConfigError, match=r"sandbox region \(CDK_DEFAULT_REGION.*'eu-west-1'.*us-east-1"):
        _build({"sandbox": "true"})
