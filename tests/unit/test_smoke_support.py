"""Unit tests of the smoke suite's pure support modules (tests/smoke itself runs only against an API)."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.smoke import auth
from tests.smoke.alarms import alarms_in_alarm
from tests.smoke.auth import CLIENT_SECRET_SOURCES, TokenError, obtain_token, resolve_client_secret
from tests.smoke.cleanup import CleanupRegistry
from tests.smoke.settings import DEFAULT_ALLOWED_ORIGIN, SettingsError, dev_allowed_origins, settings_from_env
from tests.smoke.urls import join_url, user_path

NO_CDK_JSON = Path("/nonexistent/cdk.json")


# --- urls -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("http://127.0.0.1:3000", "/users", "http://127.0.0.1:3000/users"),
        ("http://127.0.0.1:3000/", "/users", "http://127.0.0.1:3000/users"),
        ("https://d111.cloudfront.net/api/", "users", "https://d111.cloudfront.net/api/users"),
        (
            "https://abc.execute-api.eu-west-1.amazonaws.com",
            "/users/x",
            "https://abc.execute-api.eu-west-1.amazonaws.com/users/x",
        ),
    ],
)
def test_join_url_keeps_the_base_path(base: str, path: str, expected: str) -> None:
    assert join_url(base, path) == expected


def test_join_url_encodes_the_query() -> None:
    assert (
        join_url("http://h", "/users", {"limit": "5", "cursor": "a b/c="}) == "http://h/users?limit=5&cursor=a+b%2Fc%3D"
    )


def test_user_path_quotes_the_id() -> None:
    assert user_path("01a2-x") == "/users/01a2-x"
    assert user_path("../a b") == "/users/..%2Fa%20b"


# --- settings ---------------------------------------------------------------------------------


def test_settings_need_the_api_url() -> None:
    with pytest.raises(SettingsError, match="SMOKE_API_URL is required"):
        settings_from_env({}, NO_CDK_JSON)


def test_settings_defaults() -> None:
    settings = settings_from_env({"SMOKE_API_URL": "http://127.0.0.1:3000/"}, NO_CDK_JSON)
    assert settings.api_url == "http://127.0.0.1:3000"
    assert settings.cloudfront_url is None
    assert settings.targets == {"api": "http://127.0.0.1:3000"}
    assert settings.allowed_origin == DEFAULT_ALLOWED_ORIGIN
    assert settings.dlq_alarm_names == ()
    assert settings.timeout_seconds == 10
    assert settings.list_max_pages == 50


def test_settings_for_a_deployed_stage() -> None:
    settings = settings_from_env(
        {
            "SMOKE_API_URL": "https://abc.execute-api.eu-west-1.amazonaws.com",
            "SMOKE_CLOUDFRONT_URL": "https://d111.cloudfront.net/api",
            "SMOKE_ALLOWED_ORIGIN": "https://app.example.com",
            "SMOKE_DLQ_ALARM_NAMES": " a-dlq , b-dlq,,",
            "SMOKE_AWS_REGION": "eu-west-1",
            "SMOKE_TIMEOUT_SECONDS": "2.5",
        },
        NO_CDK_JSON,
    )
    assert list(settings.targets) == ["api", "cloudfront"]
    assert settings.targets["cloudfront"] == "https://d111.cloudfront.net/api"
    assert settings.allowed_origin == "https://app.example.com"
    assert settings.dlq_alarm_names == ("a-dlq", "b-dlq")
    assert settings.aws_region == "eu-west-1"
    assert settings.timeout_seconds == 2.5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMOKE_API_URL": "127.0.0.1:3000"}, "SMOKE_API_URL must be an http"),
        ({"SMOKE_API_URL": "http://h?x=1"}, "must not have a query"),
        ({"SMOKE_API_URL": "http://h", "SMOKE_CLOUDFRONT_URL": "ftp://x"}, "SMOKE_CLOUDFRONT_URL"),
        ({"SMOKE_API_URL": "http://h", "SMOKE_TIMEOUT_SECONDS": "soon"}, "SMOKE_TIMEOUT_SECONDS"),
        ({"SMOKE_API_URL": "http://h", "SMOKE_LIST_MAX_PAGES": "0"}, "SMOKE_LIST_MAX_PAGES"),
    ],
)
def test_settings_reject_bad_values(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_from_env(env, NO_CDK_JSON)


def test_allowed_origin_defaults_to_devs_first_origin(tmp_path: Path) -> None:
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(
        json.dumps({"context": {"stages": {"dev": {"corsAllowedOrigins": ["http://a:1", "http://b:2"]}}}})
    )
    assert dev_allowed_origins(cdk_json) == ["http://a:1", "http://b:2"]
    assert settings_from_env({"SMOKE_API_URL": "http://h"}, cdk_json).allowed_origin == "http://a:1"


def test_allowed_origins_fall_back_to_the_environment() -> None:
    assert dev_allowed_origins(NO_CDK_JSON, {"CORS_ALLOWED_ORIGINS": "http://x:1, http://y:2"}) == [
        "http://x:1",
        "http://y:2",
    ]
    assert dev_allowed_origins(NO_CDK_JSON, {}) == [DEFAULT_ALLOWED_ORIGIN]


# --- auth -------------------------------------------------------------------------------------


def _no_run(command: str) -> subprocess.CompletedProcess[str]:
    raise AssertionError(f"unexpected command {command}")


def _no_post(url: str, fields: Any, headers: Any) -> tuple[int, bytes]:
    raise AssertionError(f"unexpected POST {url}")


def test_a_given_token_wins() -> None:
    env = {"SMOKE_TOKEN": " abc ", "SMOKE_TOKEN_COMMAND": "false", "SMOKE_TOKEN_URL": "http://t"}
    assert obtain_token(env, run=_no_run, post=_no_post) == "abc"


def test_the_token_command_gives_its_last_line() -> None:
    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 0, "# scopes: users/read\neyJ.token.sig\n\n", "")

    assert obtain_token({"SMOKE_TOKEN_COMMAND": "node local/token.ts"}, run=run, post=_no_post) == "eyJ.token.sig"


def test_the_token_command_runs_in_a_shell() -> None:
    assert obtain_token({"SMOKE_TOKEN_COMMAND": "echo first; echo second"}) == "second"


def test_a_failing_token_command_says_why() -> None:
    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "No local signing key at .local/token-signing.json\n")

    with pytest.raises(TokenError, match="exited 1: No local signing key"):
        obtain_token({"SMOKE_TOKEN_COMMAND": "node local/token.ts"}, run=run, post=_no_post)


def test_client_credentials_grant() -> None:
    calls: list[tuple[str, Any, Any]] = []

    def post(url: str, fields: Any, headers: Any) -> tuple[int, bytes]:
        calls.append((url, dict(fields), dict(headers)))
        return 200, b'{"access_token": "at", "token_type": "Bearer", "expires_in": 3600}'

    env = {
        "SMOKE_TOKEN_URL": "https://auth.example.com/oauth2/token",
        "SMOKE_CLIENT_ID": "id",
        "SMOKE_CLIENT_SECRET": "secret",
    }
    assert obtain_token(env, run=_no_run, post=post) == "at"
    [(url, fields, headers)] = calls
    assert url == "https://auth.example.com/oauth2/token"
    assert fields == {"grant_type": "client_credentials", "scope": "users/read users/write"}
    assert headers == {"Authorization": "Basic aWQ6c2VjcmV0"}  # base64("id:secret")


def test_client_credentials_errors_are_explained() -> None:
    env = {"SMOKE_TOKEN_URL": "https://t", "SMOKE_CLIENT_ID": "id", "SMOKE_CLIENT_SECRET": "s"}
    with pytest.raises(TokenError, match="answered 400"):
        obtain_token(env, run=_no_run, post=lambda u, f, h: (400, b'{"error":"invalid_client"}'))
    with pytest.raises(TokenError, match="without an access_token"):
        obtain_token(env, run=_no_run, post=lambda u, f, h: (200, b"{}"))
    with pytest.raises(TokenError, match="SMOKE_CLIENT_ID"):
        obtain_token({"SMOKE_TOKEN_URL": "https://t"}, run=_no_run, post=_no_post)


def test_the_client_secret_can_come_from_a_registered_source(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def from_vault(reference: str, env: Any) -> str:
        seen.append(reference)
        return "fetched"

    monkeypatch.setitem(CLIENT_SECRET_SOURCES, "vault", from_vault)
    assert resolve_client_secret({"SMOKE_CLIENT_SECRET_SOURCE": "vault:pool/client"}) == "fetched"
    assert seen == ["pool/client"]
    with pytest.raises(TokenError, match="scheme 'nope' is unknown"):
        resolve_client_secret({"SMOKE_CLIENT_SECRET_SOURCE": "nope:x"})


def test_no_token_source_is_an_error() -> None:
    with pytest.raises(TokenError, match="no token source"):
        obtain_token({}, run=_no_run, post=_no_post)


# --- cleanup ----------------------------------------------------------------------------------


def test_cleanup_runs_newest_first_and_survives_failures() -> None:
    done: list[str] = []
    registry = CleanupRegistry()
    registry.add("first", lambda: done.append("first"))

    def broken() -> None:
        raise RuntimeError("boom")

    registry.add("broken", broken)
    registry.add("last", lambda: done.append("last"))
    failures = registry.run()
    assert done == ["last", "first"]
    assert [str(failure) for failure in failures] == ["broken: RuntimeError: boom"]
    assert len(registry) == 0
    assert registry.run() == []


# --- alarms -----------------------------------------------------------------------------------


def test_no_alarm_names_is_a_no_op() -> None:
    def factory(region: str | None) -> Any:
        raise AssertionError("CloudWatch must not be called")

    assert alarms_in_alarm((), None, factory) == []


def test_alarms_in_alarm_and_missing_ones_are_reported() -> None:
    class FakeCloudWatch:
        def describe_alarms(self, AlarmNames: list[str]) -> dict[str, Any]:  # noqa: N803 - boto3's name
            states = {"ok-dlq": "OK", "bad-dlq": "ALARM", "new-dlq": "INSUFFICIENT_DATA"}
            return {"MetricAlarms": [{"AlarmName": n, "StateValue": states[n]} for n in AlarmNames if n in states]}

    problems = alarms_in_alarm(
        ["ok-dlq", "bad-dlq", "new-dlq", "gone-dlq"], "eu-west-1", lambda region: FakeCloudWatch()
    )
    assert problems == ["gone-dlq (missing)", "bad-dlq"]


# --- the smoke suite's token through the smoke role --------------------------------------------


class _FakeCognito:
    def __init__(self, calls: list[tuple[str, ...]]) -> None:
        self._calls = calls

    def describe_user_pool_client(self, UserPoolId: str, ClientId: str) -> dict[str, Any]:  # noqa: N803
        self._calls.append(("describe", UserPoolId, ClientId))
        return {"UserPoolClient": {"ClientSecret": "s3cret"}}


class _FakeSession:
    def __init__(self, calls: list[tuple[str, ...]]) -> None:
        self._calls = calls

    def client(self, service: str, region_name: str | None = None) -> _FakeCognito:
        self._calls.append(("client", service, region_name or ""))
        return _FakeCognito(self._calls)


def test_with_a_smoke_role_the_token_comes_from_the_user_pools_client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []

    def session_factory(role_arn: str, region: str) -> _FakeSession:
        calls.append(("assume", role_arn, region))
        return _FakeSession(calls)

    monkeypatch.setitem(
        auth.CLIENT_SECRET_SOURCES,
        "cognito",
        functools.partial(auth.secret_from_cognito, session_factory=session_factory),
    )
    posted: list[tuple[str, dict[str, str], dict[str, str]]] = []

    def post(url: str, fields: Any, headers: Any) -> tuple[int, bytes]:
        posted.append((url, dict(fields), dict(headers)))
        return 200, b'{"access_token": "token-123"}'

    env = {
        "SMOKE_TOKEN_URL": "https://pool.auth.us-east-1.amazoncognito.com/oauth2/token",
        "SMOKE_CLIENT_ID": "client-1",
        "SMOKE_USER_POOL_ID": "us-east-1_AbC",
        "SMOKE_ROLE_ARN": "arn:aws:iam::222222222222:role/Dev-UsersService-smoke",
    }
    assert auth.obtain_token(env, post=post) == "token-123"
    assert calls == [
        ("assume", env["SMOKE_ROLE_ARN"], "us-east-1"),
        ("client", "cognito-idp", "us-east-1"),
        ("describe", "us-east-1_AbC", "client-1"),
    ]
    (url, fields, headers) = posted[0]
    assert url == env["SMOKE_TOKEN_URL"]
    assert fields == {"grant_type": "client_credentials", "scope": "users/read users/write"}
    assert headers["Authorization"].startswith("Basic ")


def test_a_given_client_secret_wins_over_the_smoke_role() -> None:
    env = {
        "SMOKE_TOKEN_URL": "https://example.com/oauth2/token",
        "SMOKE_CLIENT_ID": "client-1",
        "SMOKE_CLIENT_SECRET": "given",
        "SMOKE_USER_POOL_ID": "us-east-1_AbC",
        "SMOKE_ROLE_ARN": "arn:aws:iam::222222222222:role/Dev-UsersService-smoke",
    }
    assert auth.obtain_token(env, post=lambda *_: (200, b'{"access_token": "t"}')) == "t"


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ("arn:aws:sts::222222222222:assumed-role/Dev-UsersService-smoke/users-service-smoke", True),
        ("arn:aws:sts::333333333333:assumed-role/Dev-UsersService-smoke/users-service-smoke", False),
        ("arn:aws:sts::222222222222:assumed-role/Other/x", False),
        ("arn:aws:iam::222222222222:user/dev", False),
    ],
)
def test_an_already_assumed_smoke_role_is_recognized(identity: str, expected: bool) -> None:
    assert auth._runs_as(identity, "arn:aws:iam::222222222222:role/Dev-UsersService-smoke") is expected
