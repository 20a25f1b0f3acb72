"""Typed settings of the smoke suite, read from the environment and nothing else.

SMOKE_API_URL            required: the API's base URL (local: http://127.0.0.1:3000)
SMOKE_CLOUDFRONT_URL     optional: the CloudFront distribution's API base; the round trip also runs through it
SMOKE_ALLOWED_ORIGIN     optional: an origin the API allows (default: dev's first allowed origin)
SMOKE_DLQ_ALARM_NAMES    optional: comma-separated CloudWatch alarm names that must not be in ALARM
SMOKE_AWS_REGION         optional: region of those alarms (default: the AWS SDK's)
SMOKE_TIMEOUT_SECONDS    optional: per-request timeout (default 10)
SMOKE_LIST_MAX_PAGES     optional: pages of GET /users to search for the created user (default 50)
Token sources: see auth.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ALLOWED_ORIGIN = "http://localhost:5173"


class SettingsError(ValueError):
    """The environment does not describe a usable smoke run."""


@dataclass(frozen=True)
class Settings:
    api_url: str
    cloudfront_url: str | None
    allowed_origin: str
    dlq_alarm_names: tuple[str, ...]
    aws_region: str | None
    timeout_seconds: float
    list_max_pages: int

    @property
    def targets(self) -> dict[str, str]:
        """The base URLs the round trip runs through, by name."""
        targets = {"api": self.api_url}
        if self.cloudfront_url:
            targets["cloudfront"] = self.cloudfront_url
        return targets


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL, got {value!r}")
    if parts.query or parts.fragment:
        raise SettingsError(f"{name} must not have a query or fragment, got {value!r}")
    return value.rstrip("/")


def _positive(name: str, value: str, kind: type[int] | type[float]) -> int | float:
    try:
        number = kind(value)
    except ValueError:
        raise SettingsError(f"{name} must be a positive number, got {value!r}") from None
    if number <= 0:
        raise SettingsError(f"{name} must be a positive number, got {value!r}")
    return number


def dev_allowed_origins(cdk_json: Path = REPO_ROOT / "cdk.json", env: Mapping[str, str] | None = None) -> list[str]:
    """dev's CORS origins as the local server reads them.

    From cdk.json's context stages.dev.corsAllowedOrigins, else CORS_ALLOWED_ORIGINS, else the default.
    """
    if cdk_json.is_file():
        stages = json.loads(cdk_json.read_text()).get("context", {}).get("stages", {})
        for key, stage in stages.items():
            origins = stage.get("corsAllowedOrigins") if key.lower() == "dev" and isinstance(stage, dict) else None
            if isinstance(origins, list) and origins and all(isinstance(o, str) for o in origins):
                return origins
    from_env = [o for o in (env or {}).get("CORS_ALLOWED_ORIGINS", "").replace(",", " ").split() if o]
    return from_env or [DEFAULT_ALLOWED_ORIGIN]


def settings_from_env(env: Mapping[str, str], cdk_json: Path = REPO_ROOT / "cdk.json") -> Settings:
    api_url = env.get("SMOKE_API_URL", "").strip()
    if not api_url:
        raise SettingsError("SMOKE_API_URL is required (e.g. http://127.0.0.1:3000 for `make local`)")
    cloudfront_url = env.get("SMOKE_CLOUDFRONT_URL", "").strip()
    alarms = tuple(name.strip() for name in env.get("SMOKE_DLQ_ALARM_NAMES", "").split(",") if name.strip())
    return Settings(
        api_url=_http_url("SMOKE_API_URL", api_url),
        cloudfront_url=_http_url("SMOKE_CLOUDFRONT_URL", cloudfront_url) if cloudfront_url else None,
        allowed_origin=env.get("SMOKE_ALLOWED_ORIGIN", "").strip() or dev_allowed_origins(cdk_json, env)[0],
        dlq_alarm_names=alarms,
        aws_region=env.get("SMOKE_AWS_REGION", "").strip() or None,
        timeout_seconds=float(_positive("SMOKE_TIMEOUT_SECONDS", env.get("SMOKE_TIMEOUT_SECONDS", "10"), float)),
        list_max_pages=int(_positive("SMOKE_LIST_MAX_PAGES", env.get("SMOKE_LIST_MAX_PAGES", "50"), int)),
    )
