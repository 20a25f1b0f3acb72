"""A small urllib client that never raises for an HTTP status: the tests assert every status."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .urls import join_url


@dataclass(frozen=True)
class Response:
    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        return f"{self.method} {self.url} -> {self.status} {self.body[:500].decode(errors='replace')}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class ApiClient:
    def __init__(self, base_url: str, token: str | None, timeout: float) -> None:
        self.base_url = base_url
        self.token = token
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> Response:
        url = join_url(self.base_url, path, query)
        all_headers = {"Accept": "application/json"}
        if authenticated and self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        data = raw_body
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return Response(method, url, response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Response(method, url, error.code, _lower(error.headers.items()), error.read())


def _lower(items: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def expect(response: Response, *statuses: int) -> Response:
    """The response, if its status is one of ``statuses``; any other status fails the test with the body."""
    if response.status not in statuses:
        raise AssertionError(f"expected {' or '.join(map(str, statuses))}: {response.describe()}")
    return response
