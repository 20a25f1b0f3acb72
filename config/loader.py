"""Parses cdk.json context into AppConfig, failing with the key and the value at fault.

Every leaf can be overridden on the command line with its dotted path, for example
`cdk synth -c stages.dev.account=123456789012 -c stages.dev.corsAllowedOrigins=https://a.example`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from aws_cdk.region_info import RegionInfo

from config.model import (
    DEPLOYMENT_STRATEGIES,
    PROMOTION_ORDER,
    RETENTION_BY_DAYS,
    ApiClient,
    ApiThrottle,
    AppConfig,
    CanarySettings,
    CustomDomain,
    DeploymentEnvironment,
    DeploymentSettings,
    ExternalAuth,
    SourceRepository,
    StageConfig,
    StageName,
)

ContextGetter = Callable[[str], Any]

ACCOUNT_PATTERN = re.compile(r"^\d{12}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONNECTION_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$"
)
CERTIFICATE_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$")
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
REPOSITORY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
SERVICE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
CLIENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
SCOPE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$")

# CloudFront only accepts web ACLs created in us-east-1; a stage elsewhere would need a
# separate us-east-1 stack and cross-region references, which this app does not build yet.
CLOUDFRONT_WEB_ACL_REGION = "us-east-1"

VALID_RETENTION_DAYS = frozenset(RETENTION_BY_DAYS)


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key and the value."""

    def __init__(self, key: str, value: object, problem: str) -> None:
        super().__init__(f"Invalid configuration {key}={value!r}: {problem}")
        self.key = key
        self.value = value


def load_config(get_context: ContextGetter) -> AppConfig:
    """Reads and validates the whole configuration; raises ConfigError on the first bad value."""
    reader = _Reader(get_context)
    return AppConfig(
        service_name=reader.text("serviceName", pattern=SERVICE_NAME_PATTERN),
        toolchain=_environment(reader, "toolchain"),
        source=SourceRepository(
            repository=reader.text("source.repository", pattern=REPOSITORY_PATTERN),
            branch=reader.text("source.branch"),
            connection_arn=reader.text("source.connectionArn", pattern=CONNECTION_ARN_PATTERN),
        ),
        pipeline_notification_email=reader.optional_text("pipeline.notificationEmail", pattern=EMAIL_PATTERN),
        stages=tuple(_stage(reader, name) for name in PROMOTION_ORDER),
    )


def _environment(reader: _Reader, prefix: str) -> DeploymentEnvironment:
    return DeploymentEnvironment(
        account=reader.text(f"{prefix}.account", pattern=ACCOUNT_PATTERN),
        region=reader.region(f"{prefix}.region"),
    )


def require_stage_region(key: str, region: str) -> None:
    """Every stage (the sandbox too) runs where its WAF web ACL can be created for CloudFront."""
    if region != CLOUDFRONT_WEB_ACL_REGION:
        raise ConfigError(
            key,
            region,
            f"stages must run in {CLOUDFRONT_WEB_ACL_REGION} for now: CloudFront only accepts a WAF web ACL "
            f"created in {CLOUDFRONT_WEB_ACL_REGION}, and a separate edge stack is not built yet (see README)",
        )


def _stage(reader: _Reader, name: StageName) -> StageConfig:
    prefix = f"stages.{name.value}"
    reader.require_section(prefix)
    environment = _environment(reader, prefix)
    require_stage_region(f"{prefix}.region", environment.region)
    external_auth = _external_auth(reader, prefix)
    rate_limit = reader.integer(f"{prefix}.throttle.rateLimit", minimum=1, maximum=10_000)
    burst_limit = reader.integer(f"{prefix}.throttle.burstLimit", minimum=1, maximum=5_000)
    return StageConfig(
        name=name,
        environment=environment,
        cors_allowed_origins=reader.origins(f"{prefix}.corsAllowedOrigins"),
        alarm_email=reader.optional_text(f"{prefix}.alarmEmail", pattern=EMAIL_PATTERN),
        log_retention_days=reader.retention_days(f"{prefix}.logRetentionDays"),
        retain_data=reader.choice(f"{prefix}.removalPolicy", ("retain", "destroy")) == "retain",
        throttle=ApiThrottle(rate_limit=rate_limit, burst_limit=burst_limit),
        waf_rate_limit=reader.integer(f"{prefix}.wafRateLimit", minimum=10, maximum=2_000_000_000),
        external_auth=external_auth,
        api_clients=_api_clients(reader, prefix, external=external_auth is not None),
        custom_domain=_custom_domain(reader, prefix),
        deployment=DeploymentSettings(
            strategy=reader.choice(f"{prefix}.deployment.strategy", tuple(DEPLOYMENT_STRATEGIES)),
            bake_minutes=reader.integer(f"{prefix}.deployment.bakeMinutes", minimum=0, maximum=24 * 60),
        ),
        canary=CanarySettings(
            enabled=reader.boolean(f"{prefix}.canary.enabled"),
            schedule_minutes=reader.integer(f"{prefix}.canary.scheduleMinutes", minimum=1, maximum=60),
        ),
    )


def _external_auth(reader: _Reader, prefix: str) -> ExternalAuth | None:
    issuer = reader.optional_text(f"{prefix}.auth.issuerUrl")
    if issuer is None:
        return None
    parts = urlsplit(issuer)
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigError(f"{prefix}.auth.issuerUrl", issuer, "must be an https:// OIDC issuer URL")
    audience = reader.string_list(f"{prefix}.auth.audience")
    if not audience:
        raise ConfigError(f"{prefix}.auth.audience", audience, "name at least one audience")
    return ExternalAuth(issuer_url=issuer, audience=audience)


def _api_clients(reader: _Reader, prefix: str, *, external: bool) -> tuple[ApiClient, ...]:
    """`auth.clients`: one object per caller, `{"name", "scopes", "callbackUrls"?}`. Adding a
    caller is this config change; the stage's authorizer accepts every client's tokens."""
    key = f"{prefix}.auth.clients"
    items = reader.raw(key)
    if isinstance(items, str):  # a -c override arrives as JSON text
        try:
            items = json.loads(items)
        except json.JSONDecodeError as error:
            raise ConfigError(key, items, f"must be a JSON list of clients ({error.msg})") from None
    if items is None or items == []:
        return ()
    if external:
        raise ConfigError(
            key, items, "an external issuer registers its own clients: add their audiences to auth.audience"
        )
    if not isinstance(items, list):
        raise ConfigError(key, items, 'must be a list of {"name", "scopes", "callbackUrls"} objects')
    clients: list[ApiClient] = []
    for index, item in enumerate(items):
        item_key = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(item_key, item, 'must be an object with "name" and "scopes"')
        unknown = sorted(set(item) - {"name", "scopes", "callbackUrls"})
        if unknown:
            raise ConfigError(f"{item_key}.{unknown[0]}", item[unknown[0]], "is not a client setting")
        name = item.get("name")
        if not isinstance(name, str) or not CLIENT_NAME_PATTERN.fullmatch(name):
            raise ConfigError(f"{item_key}.name", name, f"must match {CLIENT_NAME_PATTERN.pattern}")
        if name in {client.name for client in clients}:
            raise ConfigError(f"{item_key}.name", name, "names another client already")
        scopes = item.get("scopes")
        if not isinstance(scopes, list) or not scopes or not all(isinstance(scope, str) for scope in scopes):
            raise ConfigError(f"{item_key}.scopes", scopes, "must be a non-empty list of scopes")
        for scope in scopes:
            if not SCOPE_PATTERN.fullmatch(scope):
                raise ConfigError(f"{item_key}.scopes", scope, "a scope is resource-server/name")
        callback_urls = item.get("callbackUrls", [])
        if not isinstance(callback_urls, list) or not all(isinstance(url, str) for url in callback_urls):
            raise ConfigError(f"{item_key}.callbackUrls", callback_urls, "must be a list of URLs")
        for url in callback_urls:
            parts = urlsplit(url)
            local = parts.hostname in ("localhost", "127.0.0.1")
            if not parts.netloc or (parts.scheme != "https" and not (parts.scheme == "http" and local)):
                raise ConfigError(f"{item_key}.callbackUrls", url, "must be https:// (http:// only for localhost)")
        clients.append(ApiClient(name=name, scopes=tuple(scopes), callback_urls=tuple(callback_urls)))
    return tuple(clients)


def _custom_domain(reader: _Reader, prefix: str) -> CustomDomain | None:
    domain = reader.optional_text(f"{prefix}.customDomain.domainName", pattern=DOMAIN_PATTERN)
    certificate = reader.optional_text(f"{prefix}.customDomain.certificateArn", pattern=CERTIFICATE_ARN_PATTERN)
    if domain is None and certificate is None:
        return None
    if domain is None or certificate is None:
        missing = "domainName" if domain is None else "certificateArn"
        raise ConfigError(
            f"{prefix}.customDomain.{missing}",
            None,
            "a custom domain needs both domainName and certificateArn",
        )
    return CustomDomain(domain_name=domain, certificate_arn=certificate)


class _Reader:
    """Looks keys up as a dotted override first, then inside the nested context objects."""

    _MISSING = object()

    def __init__(self, get_context: ContextGetter) -> None:
        self._get_context = get_context

    def raw(self, key: str) -> Any:
        override = self._get_context(key)
        if override is not None:
            return override
        head, *rest = key.split(".")
        node: Any = self._get_context(head)
        for part in rest:
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return node

    def require_section(self, key: str) -> None:
        if not isinstance(self.raw(key), dict):
            raise ConfigError(key, self.raw(key), "the stage is missing from the configuration")

    def optional_text(self, key: str, pattern: re.Pattern[str] | None = None) -> str | None:
        value = self.raw(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(key, value, "must be a string")
        if pattern is not None and not pattern.fullmatch(value):
            raise ConfigError(key, value, f"must match {pattern.pattern}")
        return value

    def text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.optional_text(key, pattern)
        if value is None:
            raise ConfigError(key, self.raw(key), "is required")
        return value

    def region(self, key: str) -> str:
        value = self.text(key)
        known = {region.name for region in RegionInfo.regions}
        if value not in known:
            raise ConfigError(key, value, "is not a known AWS region")
        return value

    def integer(self, key: str, *, minimum: int, maximum: int) -> int:
        value = self.raw(key)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(key, value, "must be a whole number")
        if not minimum <= value <= maximum:
            raise ConfigError(key, value, f"must be between {minimum} and {maximum}")
        return value

    def retention_days(self, key: str) -> int:
        value = self.integer(key, minimum=1, maximum=3653)
        if value not in VALID_RETENTION_DAYS:
            allowed = ", ".join(str(days) for days in sorted(VALID_RETENTION_DAYS))
            raise ConfigError(key, value, f"CloudWatch Logs only accepts one of {allowed}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if isinstance(value, str) and value.lower() in ("true", "false"):  # a -c override is text
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ConfigError(key, value, "must be true or false")
        return value

    def choice(self, key: str, choices: Sequence[str]) -> str:
        value = self.raw(key)
        if value not in choices:
            raise ConfigError(key, value, f"must be one of {', '.join(choices)}")
        return str(value)

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if isinstance(value, str):  # -c overrides arrive as comma-separated text
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(key, value, "must be a list of strings")
        return tuple(value)

    def origins(self, key: str) -> tuple[str, ...]:
        origins = self.string_list(key)
        if not origins:
            raise ConfigError(key, origins, "name at least one allowed origin")
        for origin in origins:
            if origin == "*":
                raise ConfigError(key, origin, "a wildcard origin lets any site call the API; list the origins")
            parts = urlsplit(origin)
            local = parts.hostname in ("localhost", "127.0.0.1")
            if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not local):
                raise ConfigError(key, origin, "origins must be https:// (http:// only for localhost)")
            if not parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment:
                raise ConfigError(key, origin, "an origin is scheme://host[:port] with no path")
        return origins
