"""What CDK Pipelines does not expose yet, set on the built pipeline's L1 in one place: the bake
gate and the rollback of qa and prod (CodePipeline V2 stage conditions), the execution mode they
need, and the Source trigger's file-path filter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, pipelines
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam

from pipeline.change_guard import CHANGE_SET_NAME
from service.bake_gate import BakeGateNames, change_guard_role_name
from stages.service_stage import ServiceStage

CHANGE_GUARD_STEP_ID = "GuardStatefulResources"
# Inside the step's own build container, written by its first command.
GUARD_AWS_CONFIG_FILE = "/tmp/change-guard-aws-config"  # noqa: S108

# Rollback works in SUPERSEDED and QUEUED mode, not in PARALLEL; SUPERSEDED also lets a newer
# change overtake one still waiting at the prod approval.
EXECUTION_MODE = "SUPERSEDED"

# What a push must touch to start a deployment: what is deployed, what builds and checks it in
# the Build step, and the smoke suite. Documentation, the bench, the local stand-in, the handler
# and unit tests and CI's own files start nothing (CI runs those on every push).
TRIGGER_PATHS: tuple[str, ...] = (
    "app.py",
    "cdk.json",
    "compliance.py",
    "config/**",
    "pipeline/**",
    "stages/**",
    "service/**",
    "lambda/**",
    "harness/**",
    "tests/smoke/**",
    "package.json",
    "package-lock.json",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements.lock",
    "requirements-dev.lock",
    "Makefile",
    "scripts/**",
)


ALARM_RULE_TYPE = {"Category": "Rule", "Owner": "AWS", "Provider": "CloudWatchAlarm", "Version": "1"}


@dataclass(frozen=True)
class StageGate:
    """One deployed stage's conditions: bake for `bake_minutes` (0: none) watching the stage's
    health alarm through its bake-gate role, and roll back on failure."""

    stage_name: str  # the pipeline stage, e.g. Prod
    account: str
    region: str
    names: BakeGateNames
    bake_minutes: int
    rollback: bool

    @property
    def role_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:iam::{self.account}:role/{self.names.role_name}"


def bake_condition(gate: StageGate) -> dict[str, object]:
    """Fails the stage when the health alarm is in ALARM, after waiting `bake_minutes` for it."""
    return {
        "Conditions": [
            {
                "Result": "FAIL",
                "Rules": [
                    {
                        "Name": "StageAlarmsQuiet",
                        "RuleTypeId": {
                            "Category": "Rule",
                            "Owner": "AWS",
                            "Provider": "CloudWatchAlarm",
                            "Version": "1",
                        },
                        "Configuration": {
                            "AlarmName": gate.names.alarm_name,
                            "AlarmStates": "ALARM",
                            "WaitTime": str(gate.bake_minutes),
                        },
                        "RoleArn": gate.role_arn,
                        "Region": gate.region,
                    }
                ],
            }
        ]
    }


def apply_stage_gates(pipeline: codepipeline.Pipeline, gates: Sequence[StageGate], *, source_branch: str) -> None:
    """Sets bake conditions, rollback, the execution mode and the trigger filter on the built
    pipeline. A gate naming a stage the pipeline lacks is an error, not a silent no-op."""
    cfn = pipeline.node.default_child
    if not isinstance(cfn, codepipeline.CfnPipeline):
        raise TypeError(f"{pipeline.node.path} has no CfnPipeline")
    names = [stage.stage_name for stage in pipeline.stages]
    cfn.add_property_override("ExecutionMode", EXECUTION_MODE)
    for gate in gates:
        if gate.stage_name not in names:
            raise ValueError(f"the pipeline has no stage {gate.stage_name} (stages: {', '.join(names)})")
        index = names.index(gate.stage_name)
        if gate.bake_minutes > 0:
            cfn.add_property_override(f"Stages.{index}.OnSuccess", bake_condition(gate))
            pipeline.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[gate.role_arn])
            )
        if gate.rollback:
            cfn.add_property_override(f"Stages.{index}.OnFailure", {"Result": "ROLLBACK"})
    source_action = pipeline.stages[0].actions[0]
    push = {"Branches": {"Includes": [source_branch]}, "FilePaths": {"Includes": list(TRIGGER_PATHS)}}
    cfn.add_property_override(
        "Triggers",
        [
            {
                "ProviderType": "CodeStarSourceConnection",
                "GitConfiguration": {
                    "SourceActionName": source_action.action_properties.action_name,
                    "Push": [push],
                },
            }
        ],
    )


def change_guard_step(stage: ServiceStage, *, source: pipelines.IFileSetProducer) -> pipelines.CodeBuildStep:
    """Between the stage's change set and its execution: pipeline/change_guard.py reads the change
    set as the stage's change-guard role (describe only) and fails when a stateful resource would
    be replaced or deleted. The step's own role may only assume that role."""
    environment = stage.config.environment
    stack_name = stage.service.stack_name
    role_arn = f"arn:{Aws.PARTITION}:iam::{environment.account}:role/{change_guard_role_name(stack_name)}"
    return pipelines.CodeBuildStep(
        CHANGE_GUARD_STEP_ID,
        input=source,
        env={"AWS_CONFIG_FILE": GUARD_AWS_CONFIG_FILE, "AWS_DEFAULT_REGION": environment.region},
        commands=[
            "printf '[default]\\nrole_arn = %s\\ncredential_source = EcsContainer\\n' "
            f"'{role_arn}' > {GUARD_AWS_CONFIG_FILE}",
            f"python3 pipeline/change_guard.py --stack-name {stack_name} --change-set-name {CHANGE_SET_NAME}",
        ],
        role_policy_statements=[iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role_arn])],
    )
