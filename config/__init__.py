"""Typed, validated configuration for the app: parsed once from cdk.json context."""

from config.loader import ConfigError, load_config
from config.model import (
    AppConfig,
    CustomDomain,
    DeploymentEnvironment,
    ExternalAuth,
    SourceRepository,
    StageConfig,
    StageName,
)

__all__ = [
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
