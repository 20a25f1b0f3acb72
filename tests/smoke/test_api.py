"""Smoke checks of a running users API (local or deployed); < 1 minute in all."""

from __future__ import annotations

import time

from .alarms import alarms_in_alarm
from .client import ApiClient, expect
from .fixtures import Users
from .settings import Settings
from .urls import user_path


def test_preflight_from_an_allowed_origin_is_answered(client: ApiClient, settings: Settings) -> None:
    response = client.request(
        "OPTIONS",
        "/users",
        headers={
            "Origin": settings.allowed_origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        authenticated=False,
    )
    expect(response, 200, 204)
    assert response.headers.get("access-control-allow-origin") in (settings.allowed_origin, "*"), response.headers
    methods = response.headers.get("access-control-allow-methods", "").upper().replace(" ", "").split(",")
    assert "POST" in methods or "*" in methods, response.headers
    allowed = response.headers.get("access-control-allow-headers", "").lower().replace(" ", "").split(",")
    assert {"authorization", "content-type"} <= set(allowed) or "*" in allowed, response.headers


def test_a_request_without_a_token_is_unauthorized(client: ApiClient) -> None:
    expect(client.request("GET", "/users", authenticated=False), 401)


def test_an_unknown_route_is_not_found(api: ApiClient) -> None:
    expect(api.request("GET", "/no-such-route"), 404)


def test_a_malformed_user_is_rejected_naming_the_field(api: ApiClient, users: Users) -> None:
    response = expect(users.post(api, {"email": "not-an-email", "name": "Smoke Test"}), 400)
    error = response.json()["error"]
    assert error["code"] == "ValidationFailed", error
    assert error["field"] == "email", error


def test_user_round_trip(client: ApiClient, users: Users, settings: Settings) -> None:
    payload = users.new_payload()
    created = users.create(client, payload)
    user = created.json()
    user_id = user["userId"]
    assert {key: user[key] for key in payload} == payload, user
    assert created.headers.get("etag") == f'"{user["version"]}"', created.headers

    fetched = expect(client.request("GET", user_path(user_id)), 200)
    assert fetched.json() == user
    etag = fetched.headers["etag"]

    changed = {**payload, "name": payload["name"] + " (updated)"}
    updated = expect(client.request("PUT", user_path(user_id), json_body=changed, headers={"If-Match": etag}), 200)
    assert updated.json()["name"] == changed["name"]
    assert updated.json()["version"] == user["version"] + 1
    new_etag = updated.headers["etag"]
    assert new_etag != etag

    stale = client.request("PUT", user_path(user_id), json_body=payload, headers={"If-Match": etag})
    expect(stale, 412)

    assert user_id in _listed_ids(client, user_id, settings.list_max_pages)

    expect(client.request("DELETE", user_path(user_id), headers={"If-Match": new_etag}), 204)
    expect(client.request("GET", user_path(user_id)), 404)


def test_the_dlq_alarms_are_not_in_alarm(settings: Settings) -> None:
    # No alarm names configured (a local run): nothing to ask CloudWatch.
    assert alarms_in_alarm(settings.dlq_alarm_names, settings.aws_region) == []


def _listed_ids(client: ApiClient, wanted: str, max_pages: int) -> set[str]:
    """Pages through GET /users until ``wanted`` shows up (or the pages run out)."""
    seen: set[str] = set()
    query = {"limit": "100"}
    deadline = time.monotonic() + 20
    for _ in range(max_pages):
        page = expect(client.request("GET", "/users", query=query), 200).json()
        assert isinstance(page["items"], list), page
        seen.update(item["userId"] for item in page["items"])
        if wanted in seen or not page.get("nextCursor") or time.monotonic() > deadline:
            break
        query = {"limit": "100", "cursor": page["nextCursor"]}
    return seen
