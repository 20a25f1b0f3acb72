"""The smoke suite's fixtures. conftest.py re-exports them; a test file elsewhere can use them with
``pytest -p tests.smoke.fixtures`` (with the repository root on PYTHONPATH)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .auth import TokenError, obtain_token
from .cleanup import CleanupRegistry
from .client import ApiClient, Response, expect
from .settings import Settings, SettingsError, settings_from_env
from .urls import user_path


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings_from_env(os.environ)
    except SettingsError as error:
        raise pytest.UsageError(f"smoke suite: {error}") from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``target``: the API itself and, when SMOKE_CLOUDFRONT_URL is set, CloudFront in front of it."""
    if "target" in metafunc.fixturenames:
        names = list(settings_from_env(os.environ).targets)
        metafunc.parametrize("target", names, ids=names)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return settings_from_env(os.environ)


@pytest.fixture(scope="session")
def token() -> str:
    try:
        return obtain_token(os.environ)
    except TokenError as error:
        pytest.fail(f"smoke suite: {error}", pytrace=False)


@pytest.fixture(scope="session")
def api(settings: Settings, token: str) -> ApiClient:
    """The API directly."""
    return ApiClient(settings.api_url, token, settings.timeout_seconds)


@pytest.fixture
def client(settings: Settings, token: str, target: str) -> ApiClient:
    """The API through ``target`` (see pytest_generate_tests)."""
    return ApiClient(settings.targets[target], token, settings.timeout_seconds)


class Users:
    """Creates users and deletes them at teardown, whatever the test's outcome."""

    def __init__(self, api: ApiClient, registry: CleanupRegistry) -> None:
        self._api = api
        self._registry = registry

    @staticmethod
    def new_payload() -> dict[str, Any]:
        marker = uuid.uuid4().hex[:12]
        return {"email": f"smoke-{marker}@example.com", "name": f"Smoke Test {marker}", "status": "active"}

    def post(self, client: ApiClient, payload: Any) -> Response:
        """POST /users through ``client``; whatever it creates is deleted at teardown."""
        response = client.request("POST", "/users", json_body=payload)
        if response.status == 201:
            self.track(response.json()["userId"])
        return response

    def create(self, client: ApiClient, payload: dict[str, Any] | None = None) -> Response:
        return expect(self.post(client, payload or self.new_payload()), 201)

    def track(self, user_id: str) -> None:
        def delete() -> None:
            expect(self._api.request("DELETE", user_path(user_id)), 204, 404)

        self._registry.add(f"DELETE {user_path(user_id)}", delete)


@pytest.fixture
def users(api: ApiClient) -> Iterator[Users]:
    registry = CleanupRegistry()
    yield Users(api, registry)
    failures = registry.run()
    if failures:
        pytest.fail("cleanup failed: " + "; ".join(map(str, failures)), pytrace=False)
