"""Canary deployments: every function's new version takes traffic through CodeDeploy, never at once
where the stage says otherwise, and goes back to the previous version by itself when its alarms
fire or its pre-traffic probe fails."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from compliance import acknowledge
from config.model import DEPLOYMENT_STRATEGIES
from service.functions import PROJECT_ROOT, UserFunction, dead_letter_queue, project_function
from service.log_groups import LogSettings, log_group

HOOK_ENTRY = PROJECT_ROOT / "lambda" / "src" / "hooks" / "pre-traffic.ts"
# The probe is one invocation of a function that answers within a few seconds (bounded DynamoDB
# client); a minute leaves room for a cold start of both.
HOOK_TIMEOUT = Duration.minutes(1)


def deployment_config(strategy: str) -> codedeploy.ILambdaDeploymentConfig:
    if strategy not in DEPLOYMENT_STRATEGIES:
        raise ValueError(f"unknown deployment strategy {strategy!r}")
    attribute = DEPLOYMENT_STRATEGIES[strategy]
    config: codedeploy.ILambdaDeploymentConfig = getattr(codedeploy.LambdaDeploymentConfig, attribute)
    return config


class PreTrafficHook(Construct):
    """The BeforeAllowTraffic hook of one function: invokes the version being deployed with the
    operation's probe (lambda/service-contract.json) and reports the verdict to CodeDeploy. Its
    role may invoke that version only; CDK grants it PutLifecycleEventHookExecutionStatus on its
    own deployment group when the group takes it as pre_hook."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target: UserFunction,
        log_settings: LogSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        operation = target.operation
        version = target.function.current_version
        self.log_group = log_group(self, "Logs", log_settings)
        # CodeDeploy invokes hooks asynchronously: a hook that fails every retry lands here.
        self.dead_letter_queue = dead_letter_queue(self, removal_policy=log_settings.removal_policy)
        acknowledge(
            self.dead_letter_queue,
            "Serverless-SQSRedrivePolicy",
            "This queue is itself the hook's dead-letter queue; a failed hook has already failed its "
            "deployment, so there is nothing to redrive.",
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Probes new versions of the {operation.name} function before they take traffic",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[version.function_arn])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]
            )
        )
        self.function = project_function(
            self,
            "Function",
            entry=HOOK_ENTRY,
            timeout=HOOK_TIMEOUT,
            role=self.role,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
            environment={
                "TARGET_VERSION_ARN": version.function_arn,
                "PROBE": json.dumps(operation.probe, separators=(",", ":"), sort_keys=True),
                "OPERATION_SCOPE": operation.scope,
            },
        )
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            (
                "X-Ray active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, "
                "which support no resource-level permissions; the statement holds only those two "
                "actions, added by Tracing.ACTIVE."
            ),
        )


class CanaryDeployments(Construct):
    """One CodeDeploy deployment group per function, shifting its `live` alias to the new version
    with the stage's strategy: rolled back automatically when the deployment fails, is stopped,
    or any of the function's deployment alarms (or the API's 5xx alarm) goes into ALARM."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Sequence[UserFunction],
        strategy: str,
        alarms_of: Callable[[UserFunction], Sequence[cloudwatch.IAlarm]],
        log_settings: LogSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        config = deployment_config(strategy)
        application = codedeploy.LambdaApplication(self, "Application")
        self.groups: dict[str, codedeploy.LambdaDeploymentGroup] = {}
        self.hooks: dict[str, PreTrafficHook] = {}
        for user_function in functions:
            name = user_function.operation.construct_id
            hook = PreTrafficHook(
                self,
                f"{name}PreTraffic",
                target=user_function,
                log_settings=log_settings,
            )
            self.hooks[user_function.operation.name] = hook
            alarms = list(alarms_of(user_function))
            role = self._service_role(name, user_function.alias, hook.function, alarms)
            group = codedeploy.LambdaDeploymentGroup(
                self,
                f"{name}Group",
                application=application,
                alias=user_function.alias,
                deployment_config=config,
                alarms=alarms,
                auto_rollback=codedeploy.AutoRollbackConfig(
                    failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
                ),
                pre_hook=hook.function,
                # Handed over immutable: LambdaDeploymentGroup would otherwise attach the AWS
                # managed AWSCodeDeployRoleForLambdaLimited (those actions on every resource) and
                # grant the hook's every version; the role's own statements are all it needs.
                role=iam.Role.from_role_arn(self, f"{name}ServiceRoleRef", role.role_arn, mutable=False),
            )
            # The alias's update starts the deployment: the role must hold its statements by then.
            user_function.alias.node.add_dependency(role)
            self.groups[user_function.operation.name] = group

    def _service_role(
        self,
        operation_name: str,
        alias: lambda_.Alias,
        hook: lambda_.IFunction,
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> iam.Role:
        """What CodeDeploy needs to shift one alias, the actions of the AWS managed
        AWSCodeDeployRoleForLambdaLimited on this deployment's resources only: read its alarms,
        read and move the alias, invoke its hook."""
        role = iam.Role(
            self,
            f"{operation_name}ServiceRole",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description=f"Lets CodeDeploy shift the {alias.alias_name} alias of {operation_name}",
        )
        # The alias's ARN spelled out rather than referenced: the alias itself waits for this role.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"],
                resources=[f"{alias.version.lambda_.function_arn}:{alias.alias_name}"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=[alarm.alarm_arn for alarm in alarms])
        )
        role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[hook.function_arn]))
        return role
