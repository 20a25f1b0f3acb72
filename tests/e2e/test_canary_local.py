"""The stage's synthetic client (canary/nodejs/node_modules/read-path.js) is plain code: the same
file runs here against the local stack, passes against a healthy API, and fails, saying what it
saw, against one that does not answer as a caller expects."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.test_local_e2e import NODE, REPO, LocalStack, start_stack

SCRIPT = REPO / "canary/nodejs/node_modules/read-path.js"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = start_stack(tmp_path_factory.mktemp("canary-stack"))
    yield running
    running.kill()


def run_canary(base_url: str, token: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NODE, str(SCRIPT)],
        env={"PATH": str(REPO / "node_modules/.bin"), "CANARY_BASE_URL": base_url, "CANARY_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_canary_passes_against_a_healthy_api(stack: LocalStack) -> None:
    result = run_canary(stack.url, stack.token("users/read"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"list": 200, "missing": 404}


def test_the_canary_fails_when_the_read_path_refuses_it(stack: LocalStack) -> None:
    # A token without users/read: the API answers 403, which no caller of the read path expects.
    result = run_canary(stack.url, stack.token("users/write"))
    assert result.returncode == 1
    assert "GET /users?limit=1 answered 403" in result.stderr


def test_the_canary_fails_when_the_api_is_not_there(stack: LocalStack) -> None:
    result = run_canary("http://127.0.0.1:9/", stack.token("users/read"))
    assert result.returncode == 1
    assert result.stderr.strip(), "it says why"
