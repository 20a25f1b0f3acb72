"""The configuration's typed values. Built only by config.loader, which validates them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aws_cdk import aws_logs as logs


class StageName(StrEnum):
    DEV = "dev"
    QA = "qa"
    PROD = "prod"

    @property
    def construct_id(self) -> str:
        return {"dev": "Dev", "qa": "Qa", "prod": "Prod"}[self.value]

    @property
    def environment_tag(self) -> str:
        return {"dev": "Development", "qa": "QA", "prod": "Production"}[self.value]


# The order in which the pipeline promotes a change.
PROMOTION_ORDER: tuple[StageName, ...] = (StageName.DEV, StageName.QA, StageName.PROD)


# The retention periods CloudWatch Logs accepts (jsii enums carry names, not day counts).
RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


@dataclass(frozen=True)
class DeploymentEnvironment:
    account: str
    region: str


@dataclass(frozen=True)
class SourceRepository:
    repository: str  # owner/name as the CodeConnections provider spells it
    branch: str
    connection_arn: str


@dataclass(frozen=True)
class ExternalAuth:
    """An OIDC issuer that replaces the stage's own Cognito user pool."""

    issuer_url: str
    audience: tuple[str, ...]


@dataclass(frozen=True)
class ApiClient:
    """A caller of the API registered as an app client of the stage's user pool.

    Without callback URLs it is a service (client-credentials grant, with a secret); with them it
    is a browser or mobile app (authorization code grant with PKCE, no secret).
    """

    name: str
    scopes: tuple[str, ...]
    callback_urls: tuple[str, ...]


@dataclass(frozen=True)
class CustomDomain:
    domain_name: str
    certificate_arn: str  # an ACM certificate in us-east-1, as CloudFront requires


@dataclass(frozen=True)
class ApiThrottle:
    rate_limit: int  # steady-state requests per second for the whole stage
    burst_limit: int


# CodeDeploy's predefined traffic-shifting configurations for Lambda, by the names config uses,
# and the attribute of aws_codedeploy.LambdaDeploymentConfig each stands for.
DEPLOYMENT_STRATEGIES: dict[str, str] = {
    "ALL_AT_ONCE": "ALL_AT_ONCE",
    "CANARY_10PERCENT_5MINUTES": "CANARY_10_PERCENT_5_MINUTES",
    "CANARY_10PERCENT_10MINUTES": "CANARY_10_PERCENT_10_MINUTES",
    "CANARY_10PERCENT_15MINUTES": "CANARY_10_PERCENT_15_MINUTES",
    "CANARY_10PERCENT_30MINUTES": "CANARY_10_PERCENT_30_MINUTES",
    "LINEAR_10PERCENT_EVERY_1MINUTE": "LINEAR_10_PERCENT_EVERY_1_MINUTE",
    "LINEAR_10PERCENT_EVERY_2MINUTES": "LINEAR_10_PERCENT_EVERY_2_MINUTES",
    "LINEAR_10PERCENT_EVERY_3MINUTES": "LINEAR_10_PERCENT_EVERY_3_MINUTES",
    "LINEAR_10PERCENT_EVERY_10MINUTES": "LINEAR_10_PERCENT_EVERY_10_MINUTES",
}


@dataclass(frozen=True)
class DeploymentSettings:
    """How a new version of each function takes traffic, and how long the pipeline watches it after."""

    strategy: str  # one of DEPLOYMENT_STRATEGIES
    bake_minutes: int  # 0: no bake before the next stage


@dataclass(frozen=True)
class CanarySettings:
    """The stage's synthetic client (service/canary.py): on or off, and how often it runs."""

    enabled: bool
    schedule_minutes: int


@dataclass(frozen=True)
class StageConfig:
    name: StageName
    environment: DeploymentEnvironment
    cors_allowed_origins: tuple[str, ...]
    alarm_email: str | None
    log_retention_days: int  # a key of RETENTION_BY_DAYS

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_BY_DAYS[self.log_retention_days]

    retain_data: bool  # RETAIN and deletion protection instead of DESTROY
    throttle: ApiThrottle
    waf_rate_limit: int  # requests per IP per 5 minutes before WAF blocks
    external_auth: ExternalAuth | None
    api_clients: tuple[ApiClient, ...]  # beyond the machine client the smoke tests use
    custom_domain: CustomDomain | None
    deployment: DeploymentSettings
    canary: CanarySettings


@dataclass(frozen=True)
class AppConfig:
    service_name: str
    toolchain: DeploymentEnvironment
    source: SourceRepository
    pipeline_notification_email: str | None
    stages: tuple[StageConfig, ...]  # in PROMOTION_ORDER

    def stage(self, name: StageName) -> StageConfig:
        return next(stage for stage in self.stages if stage.name is name)
