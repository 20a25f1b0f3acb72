"""URL building that keeps a base URL's own path (a stage or a CloudFront behaviour prefix)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode


def join_url(base: str, path: str, query: Mapping[str, str] | None = None) -> str:
    """``join_url("https://x/api/", "/users", {"limit": "5"})`` -> ``https://x/api/users?limit=5``."""
    url = f"{base.rstrip('/')}/{path.lstrip('/')}"
    if query:
        url = f"{url}?{urlencode(dict(query))}"
    return url


def user_path(user_id: str) -> str:
    return f"/users/{quote(user_id, safe='')}"
