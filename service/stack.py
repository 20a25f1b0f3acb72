from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Stage
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import StageConfig
from service.api import UsersApi
from service.auth import ApiAuthorization
from service.bake_gate import BakeGateAccess, BakeGateNames, ChangeGuardAccess
from service.canary import ReadPathCanary
from service.contract import TABLE_ROLES, ServiceContract
from service.dashboard import ServiceDashboard
from service.database import IdempotencyRecords, UsersDatabase
from service.deployment import CanaryDeployments
from service.edge import WEB_ACL_METRIC_NAME, ApiDistribution, EdgeFirewall
from service.functions import FunctionSettings, ServiceTable, UserFunctions
from service.keys import logs_encryption_key
from service.log_bucket import LogBucket
from service.log_groups import LogSettings
from service.monitoring import Monitoring
from service.smoke_access import SmokeAccess, SmokeSettings


def _stage_id(stack: Stack, *, default: str) -> str:
    enclosing = Stage.of(stack)
    return ((enclosing.stage_name if enclosing else "") or default).lower()


class UsersServiceStack(Stack):
    """Composes the service's constructs; the logic lives in the constructs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        service_name: str,
        contract: ServiceContract,
        smoke_trusted_account: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal_policy = RemovalPolicy.RETAIN if stage.retain_data else RemovalPolicy.DESTROY
        log_settings = LogSettings(
            key=logs_encryption_key(self, "LogsKey", removal_policy=removal_policy),
            retention_days=stage.log_retention_days,
            removal_policy=removal_policy,
            config_key=f"stages.{stage.name.value}.logRetentionDays",
        )

        database = UsersDatabase(
            self,
            "Database",
            users=contract.tables["users"],
            emails=contract.tables["emails"],
            retain_data=stage.retain_data,
        )
        idempotency = IdempotencyRecords(self, "Idempotency", definition=contract.tables["idempotency"])
        tables = {"users": database.table, "emails": database.emails_table, "idempotency": idempotency.table}
        functions = UserFunctions(
            self,
            "Functions",
            operations=contract.operations,
            settings=FunctionSettings(
                tables={
                    role: ServiceTable(tables[role], environment_variable=contract.tables[role].environment_variable)
                    for role in TABLE_ROLES
                },
                logs=log_settings,
                removal_policy=removal_policy,
                environment={
                    "POWERTOOLS_SERVICE_NAME": service_name,
                    "POWERTOOLS_METRICS_NAMESPACE": "UsersService",
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                    "STAGE": stage.name.value,
                },
            ),
        )
        authorization = ApiAuthorization(
            self,
            "Authorization",
            # The Stage's id, not the config's name: a sandbox shares dev's config and may share its
            # account, and its hosted domain must not collide with dev's.
            stage_id=_stage_id(self, default=stage.name.value),
            service_name=service_name,
            read_scope=contract.read_scope,
            write_scope=contract.write_scope,
            external=stage.external_auth,
            clients=stage.api_clients,
            clients_config_key=f"stages.{stage.name.value}.auth.clients",
            removal_policy=removal_policy,
        )
        api = UsersApi(
            self,
            "Api",
            functions=list(functions.by_operation.values()),
            issuer_url=authorization.issuer_url,
            audience=authorization.audience,
            cors_allowed_origins=stage.cors_allowed_origins,
            throttle=stage.throttle,
            log_settings=log_settings,
        )
        # CloudFront standard logging writes with ACLs.
        log_bucket = LogBucket(
            self, "Logs", removal_policy=removal_policy, object_ownership=s3.ObjectOwnership.OBJECT_WRITER
        )
        firewall = EdgeFirewall(self, "Firewall", rate_limit=stage.waf_rate_limit)
        edge = ApiDistribution(
            self,
            "Edge",
            api_endpoint=api.http_api.api_endpoint,
            log_bucket=log_bucket.bucket,
            web_acl_arn=firewall.web_acl.attr_arn,
            custom_domain=stage.custom_domain,
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            functions=list(functions.by_operation.values()),
            http_api=api.http_api,
            alarm_email=stage.alarm_email,
            removal_policy=removal_policy,
        )
        # The synthetic client, where config enables it and the stage has its own user pool (an
        # external issuer gives the canary no client to take a token with).
        self.canary: ReadPathCanary | None = None
        machine_client = authorization.machine_client
        pool_token_url = authorization.token_url
        if stage.canary.enabled and machine_client and authorization.user_pool and pool_token_url:
            self.canary = ReadPathCanary(
                self,
                "SyntheticClient",
                base_url=edge.url,
                token_url=pool_token_url,
                user_pool=authorization.user_pool,
                client_id=machine_client.user_pool_client_id,
                schedule_minutes=stage.canary.schedule_minutes,
                access_logs=log_bucket.bucket,
                removal_policy=removal_policy,
            )
            monitoring.watch_synthetic_client("SyntheticClientFailed", self.canary.success_metric)

        self.deployments = CanaryDeployments(
            self,
            "Deployments",
            functions=list(functions.by_operation.values()),
            strategy=stage.deployment.strategy,
            alarms_of=monitoring.deployment_alarms,
            log_settings=log_settings,
        )

        self.dashboard = ServiceDashboard(
            self,
            "Dashboard",
            http_api=api.http_api,
            functions=list(functions.by_operation.values()),
            tables=tables,
            web_acl_metric_name=WEB_ACL_METRIC_NAME,
            alarms=monitoring.alarms,
            synthetic_success=self.canary.success_metric if self.canary else None,
        )

        self.table = database.table
        self.emails_table = database.emails_table
        self.idempotency_table = idempotency.table
        self.functions = functions
        self.api = api
        self.authorization = authorization
        self.edge = edge
        self.monitoring = monitoring

        api_url = CfnOutput(
            self, "ApiUrl", value=api.url, description="HTTP API endpoint, direct: JWT and throttling, no WAF"
        )
        cloudfront_url = CfnOutput(
            self, "CloudFrontUrl", value=edge.url, description="The API for callers: CloudFront with WAF"
        )
        CfnOutput(self, "IssuerUrl", value=authorization.issuer_url)
        dead_letter_alarm_names = CfnOutput(
            self,
            "DeadLetterAlarmNames",
            value=",".join(alarm.alarm_name for alarm in monitoring.dead_letter_alarms),
            description="Alarms on the functions' dead-letter queues (checked by the smoke tests)",
        )
        token_url: CfnOutput | None = None
        client_id: CfnOutput | None = None
        if authorization.machine_client is not None and authorization.token_url is not None:
            token_url = CfnOutput(self, "TokenUrl", value=authorization.token_url)
            client_id = CfnOutput(self, "MachineClientId", value=authorization.machine_client.user_pool_client_id)
        # The smoke tests' role and settings, and the bake gate's, only where a toolchain account runs them.
        self.smoke: SmokeSettings | None = None
        self.bake_gate: BakeGateAccess | None = None
        if smoke_trusted_account is not None:
            if stage.deployment.bake_minutes > 0:
                self.bake_gate = BakeGateAccess(
                    self,
                    "BakeGate",
                    names=BakeGateNames.of_stack(self.stack_name),
                    trusted_account=smoke_trusted_account,
                    alarms=monitoring.alarms,
                )
            ChangeGuardAccess(self, "ChangeGuard", stack=self, trusted_account=smoke_trusted_account)
            smoke_access = self._add_smoke_access(smoke_trusted_account)
            user_pool_id = (
                CfnOutput(self, "UserPoolId", value=authorization.user_pool.user_pool_id)
                if authorization.user_pool is not None
                else None
            )
            self.smoke = SmokeSettings(
                role_name=smoke_access.role_name,
                api_url=api_url,
                cloudfront_url=cloudfront_url,
                dead_letter_alarm_names=dead_letter_alarm_names,
                role_arn=CfnOutput(self, "SmokeRoleArn", value=smoke_access.role.role_arn),
                token_url=token_url,
                client_id=client_id,
                user_pool_id=user_pool_id,
            )

    def _add_smoke_access(self, trusted_account: str) -> SmokeAccess:
        """The role the smoke tests assume from `trusted_account`."""
        return SmokeAccess(
            self,
            "SmokeAccess",
            trusted_account=trusted_account,
            role_name=f"{self.stack_name}-smoke",
            user_pool=self.authorization.user_pool,
            dead_letter_alarms=self.monitoring.dead_letter_alarms,
        )
