from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_nodejs as nodejs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from compliance import acknowledge, acknowledge_guard
from service.contract import Operation, TableRole
from service.log_groups import LogSettings, log_group

# The newest Node.js runtime this CDK version offers; a unit test fails when CDK adds a newer one.
RUNTIME = lambda_.Runtime.NODEJS_24_X
TIMEOUT = Duration.seconds(30)
# Handlers are I/O bound (one DynamoDB call) but their cold start is CPU bound, and Lambda grants
# CPU in proportion to memory: 512 MB keeps cold starts short at a small premium over 256 MB.
MEMORY_MB = 512
PROJECT_ROOT = Path(__file__).resolve().parent.parent

BUNDLING_FILE = PROJECT_ROOT / "lambda" / "bundling.json"
OUTPUT_FORMATS = {"esm": nodejs.OutputFormat.ESM, "cjs": nodejs.OutputFormat.CJS}
BUNDLING_KEYS = frozenset({"target", "format", "minify", "sourcemap", "mainFields", "external", "banner"})


def bundling_options(path: Path = BUNDLING_FILE) -> nodejs.BundlingOptions:
    """lambda/bundling.json as NodejsFunction's options; the bench builds with the same file.

    Lambda loads the bundle as an ES module (its banner is the require() shim that libraries still
    calling require() need), and the runtime ships SDK v3, so bundling it would only add size and
    cold-start time.
    """
    options = json.loads(path.read_text(encoding="utf-8"))
    unknown = sorted(set(options) - BUNDLING_KEYS - {"$comment"})
    if unknown:
        # A key this function does not pass on would bundle differently in the bench than in CDK.
        known = ", ".join(sorted(BUNDLING_KEYS))
        raise ValueError(f"{path.name}: {', '.join(unknown)} not understood (known: {known})")
    if options.get("format") not in OUTPUT_FORMATS:
        formats = ", ".join(OUTPUT_FORMATS)
        raise ValueError(f"{path.name}: format must be one of {formats}, not {options.get('format')!r}")
    return nodejs.BundlingOptions(
        format=OUTPUT_FORMATS[options["format"]],
        target=options["target"],
        minify=options["minify"],
        source_map=options["sourcemap"],
        main_fields=options["mainFields"],
        banner=options["banner"],
        external_modules=options["external"],
        force_docker_bundling=False,
    )


def project_function(
    scope: Construct,
    construct_id: str,
    *,
    entry: Path,
    timeout: Duration,
    role: iam.IRole,
    log_group: logs.ILogGroup,
    dead_letter_queue: sqs.IQueue,
    environment: Mapping[str, str],
    **extra: object,
) -> nodejs.NodejsFunction:
    """A function of this project as every one is built: the pinned runtime on arm64, traced,
    JSON logs into its own group, a dead-letter queue, bundled by esbuild from node_modules with
    lambda/bundling.json (never Docker), outside any VPC."""
    function = nodejs.NodejsFunction(
        scope,
        construct_id,
        entry=str(entry),
        handler="handler",
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        memory_size=MEMORY_MB,
        timeout=timeout,
        tracing=lambda_.Tracing.ACTIVE,
        role=role,
        log_group=log_group,
        logging_format=lambda_.LoggingFormat.JSON,
        dead_letter_queue=dead_letter_queue,
        environment=dict(environment),
        deps_lock_file_path=str(PROJECT_ROOT / "package-lock.json"),
        project_root=str(PROJECT_ROOT),
        bundling=bundling_options(),
        **extra,  # type: ignore[arg-type]
    )
    acknowledge_guard(
        function,
        "lambda_inside_vpc_check",
        "The function reaches nothing private: only AWS APIs (DynamoDB, X-Ray and CloudWatch Logs; "
        "CodeDeploy and Lambda for a hook) over their TLS endpoints, authorised by IAM. A VPC would "
        "add network interfaces, VPC endpoints or a NAT gateway and their cost, and isolate nothing.",
    )
    return function


def dead_letter_queue(scope: Construct, *, removal_policy: RemovalPolicy) -> sqs.Queue:
    """A function's dead-letter queue, as every one is built: SQS-encrypted, TLS-only, 14 days."""
    queue = sqs.Queue(
        scope,
        "DeadLetterQueue",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal_policy,
    )
    acknowledge_guard(
        queue,
        "sqs_dlq_check",
        "This queue is itself a dead-letter queue; one behind it would receive nothing, since nothing "
        "consumes this one automatically.",
    )
    return queue


@dataclass(frozen=True)
class ServiceTable:
    """A table of the service and the variable that tells a function its name."""

    table: dynamodb.ITable
    environment_variable: str


@dataclass(frozen=True)
class FunctionSettings:
    tables: Mapping[TableRole, ServiceTable]
    logs: LogSettings
    removal_policy: RemovalPolicy
    environment: Mapping[str, str]


class UserFunction(Construct):
    """One operation's function with everything it owns: its role, log group and dead-letter queue.

    The role is written by hand instead of granted: it holds exactly the DynamoDB actions the
    handler calls (from the service contract), one statement per table it uses, writes to its own
    log group only, and sends to its own queue only. A function learns the names of the tables it
    uses, and of no others.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, operation: Operation, settings: FunctionSettings
    ) -> None:
        super().__init__(scope, construct_id)
        self.operation = operation

        self.log_group = log_group(self, "Logs", settings.logs)
        # Lambda sends only failed *asynchronous* invocations here; API Gateway invokes
        # synchronously, so in normal operation this queue stays empty and its alarm means
        # someone invoked the function asynchronously and it failed after all retries.
        self.dead_letter_queue = dead_letter_queue(self, removal_policy=settings.removal_policy)
        acknowledge(
            self.dead_letter_queue,
            "Serverless-SQSRedrivePolicy",
            (
                "This queue is itself the function's dead-letter queue; nothing consumes it "
                "automatically, so there is no processing failure to redrive."
            ),
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs the {operation.name} handler",
        )
        for role, actions in operation.dynamodb_actions.items():
            self.role.add_to_policy(
                iam.PolicyStatement(actions=list(actions), resources=[settings.tables[role].table.table_arn])
            )
        table_names = {
            settings.tables[role].environment_variable: settings.tables[role].table.table_name
            for role in operation.dynamodb_actions
        }
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )

        self.function = project_function(
            self,
            "Function",
            entry=operation.entry,
            timeout=TIMEOUT,
            role=self.role,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
            environment={**settings.environment, **table_names},
            # Old versions stay: the alias points at the previous one until CodeDeploy has shifted
            # traffic, and a rollback goes back to it.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.RETAIN),
        )
        # Requests reach the function through this alias only; CodeDeploy moves it from version to
        # version (service/deployment.py). A new version is published when, and only when, the
        # code or the function's configuration changes.
        self.alias = lambda_.Alias(self, "Live", alias_name="live", version=self.function.current_version)
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            (
                "X-Ray active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, "
                "which support no resource-level permissions; the statement holds only those "
                "two actions, added by Tracing.ACTIVE."
            ),
        )


class UserFunctions(Construct):
    """One function per operation of the service contract."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        operations: Sequence[Operation],
        settings: FunctionSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        self.by_operation: dict[str, UserFunction] = {
            operation.name: UserFunction(self, operation.construct_id, operation=operation, settings=settings)
            for operation in operations
        }
