"""Typed, validated configuration for the app: parsed once from cdk.json context."""

from config.loader import ConfigError, load_config
from config.model import (
    ApiClient,
    AppConfig,
    CustomDomain,
    DeploymentEnvironment,
    ExternalAuth,
    SourceRepository,
    StageConfig,
    StageName,
)

__all__ = [
    "ApiClient",
    "AppConfig",
    "ConfigError",
    "CustomDomain",
    "DeploymentEnvironment",
    "ExternalAuth",
    "SourceRepository",
    "StageConfig",
    "StageName",
    "load_config",
]
