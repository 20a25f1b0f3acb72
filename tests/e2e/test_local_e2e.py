"""`make local` end to end: the local stack (node local/server.ts + DynamoDB Local) on free ports,
the smoke suite against it, its cleanup on failure, and that stopping it leaves no process behind.

The table, the CORS configuration and the functions' settings come from the fixture template under
local/test/fixtures/ (USERS_TABLE_TEMPLATE; tests/local_fixture.py keeps it current), so these tests
need no synth; Java and DynamoDB Local are installed by `make setup`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.local_fixture import FIXTURE_TEMPLATE
from tests.smoke.settings import dev_allowed_origins

REPO = Path(__file__).resolve().parents[2]
NODE = str(REPO / "node_modules/.bin/node") if (REPO / "node_modules/.bin/node").exists() else "node"
READY_LINE = "users-service local API listening on http://127.0.0.1:"
START_TIMEOUT_S = 60
ALLOWED_ORIGIN = dev_allowed_origins(env=os.environ)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def live_processes(pgid: int) -> dict[int, str]:
    """Processes of group ``pgid`` that are not zombies, by pid (Linux /proc)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            found[int(entry.name)] = name
    return found


def children(pid: int) -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found[int(entry.name)] = cmdline
    return found


def wait_until_gone(pgid: int, timeout: float = 10) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (left := live_processes(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@dataclass
class LocalStack:
    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def signing_file(self) -> Path:
        return Path(self.env["TOKEN_SIGNING_FILE"])

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def jvm_pid(self) -> int:
        [pid] = [pid for pid, cmd in children(self.process.pid).items() if "DynamoDBLocal.jar" in cmd]
        return pid

    def token(self, scopes: str = "users/read users/write") -> str:
        result = subprocess.run(
            [NODE, "local/token.ts"],
            cwd=REPO,
            env={**self.env, "SCOPES": scopes},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return result.stdout.strip().splitlines()[-1]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def stack_env(tmp: Path, port: int | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "PORT": str(port or free_port()),
        "DYNAMODB_PORT": str(free_port()),
        "USERS_TABLE_TEMPLATE": str(FIXTURE_TEMPLATE),
        "TOKEN_SIGNING_FILE": str(tmp / "token-signing.json"),
    }


def start_stack(tmp: Path) -> LocalStack:
    env = stack_env(tmp)
    log = tmp / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [NODE, "local/server.ts"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = LocalStack(process, int(env["PORT"]), env, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while READY_LINE not in stack.output():
        if process.poll() is not None or time.monotonic() > deadline:
            stack.kill()
            pytest.fail(f"the local stack did not start (exit {process.returncode}):\n{stack.output()}")
        time.sleep(0.1)
    return stack


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[LocalStack]:
    stack = start_stack(tmp_path)
    yield stack
    stack.kill()


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    stack.kill()


def request(url: str, token: str | None = None, method: str = "GET") -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers, method=method), timeout=15
        ) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def run_pytest(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def smoke_env(stack: LocalStack) -> dict[str, str]:
    return {
        **stack.env,
        "SMOKE_API_URL": stack.url,
        "SMOKE_TOKEN_COMMAND": f"{NODE} {REPO / 'local/token.ts'}",
        "PYTHONPATH": str(REPO),
    }


def test_the_smoke_suite_passes_against_the_local_stack(shared_stack: LocalStack) -> None:
    started = time.monotonic()
    result = run_pytest(["tests/smoke"], smoke_env(shared_stack), REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout, result.stdout
    assert "failed" not in result.stdout, result.stdout
    assert time.monotonic() - started < 60


FAILING_TEST = """
import os
from pathlib import Path
from typing import Any


def test_fails_after_creating_a_user(api, users):
    user = users.create(api).json()
    Path(os.environ["PROBE_FILE"]).write_text(user["userId"])
    assert user["name"] == "an expectation that cannot hold"
"""


def test_the_smoke_cleanup_deletes_what_a_failed_test_created(shared_stack: LocalStack, tmp_path: Path) -> None:
    (tmp_path / "test_failing.py").write_text(FAILING_TEST)
    probe = tmp_path / "created-user-id"
    env = {**smoke_env(shared_stack), "PROBE_FILE": str(probe)}
    result = run_pytest(["-p", "tests.smoke.fixtures", "test_failing.py"], env, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout, result.stdout
    assert "cleanup failed" not in result.stdout, result.stdout
    user_id = probe.read_text()
    status, body = request(f"{shared_stack.url}/users/{user_id}", shared_stack.token("users/read"))
    assert (status, body["error"]) == (404, {"code": "NotFound", "message": "user not found"})


def test_a_second_server_on_the_busy_port_exits_naming_the_port(shared_stack: LocalStack) -> None:
    key_before = shared_stack.signing_file.read_bytes()
    env = {
        **stack_env(shared_stack.signing_file.parent, shared_stack.port),
        "TOKEN_SIGNING_FILE": str(shared_stack.signing_file),
    }
    started = time.monotonic()
    result = subprocess.run(
        [NODE, "local/server.ts"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode != 0
    assert f"Port {shared_stack.port}" in result.stderr, result.stderr
    assert "PORT=" in result.stderr, result.stderr
    assert time.monotonic() - started < 10, "it must fail before starting DynamoDB Local"
    assert shared_stack.signing_file.read_bytes() == key_before, "the running server's key must survive"
    assert request(f"{shared_stack.url}/users", shared_stack.token())[0] == 200


def test_the_gateway_answers_like_api_gateway(shared_stack: LocalStack) -> None:
    url = shared_stack.url
    assert request(f"{url}/users") == (401, {"message": "Unauthorized"})
    assert request(f"{url}/users", "not-a-jwt") == (401, {"message": "Unauthorized"})
    assert request(f"{url}/users", shared_stack.token("users/read"), "POST") == (
        403,
        {"message": "Forbidden"},
    )
    assert request(f"{url}/nothing-here", shared_stack.token()) == (404, {"message": "Not Found"})
    assert request(f"{url}/users", shared_stack.token(), "PATCH") == (404, {"message": "Not Found"})
    status, body = request(f"{url}/users?limit=1", shared_stack.token("users/read"))
    assert status == 200
    assert set(body) == {"items", "nextCursor"}
    token = shared_stack.token()
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert request(f"{url}/users", tampered) == (401, {"message": "Unauthorized"})


def raw_request(port: int, request_line: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as connection:
        connection.sendall(f"{request_line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode("latin-1"))
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_an_unparsable_request_target_is_a_400_and_the_server_stays_up(shared_stack: LocalStack) -> None:
    answer = raw_request(shared_stack.port, "GET //[ HTTP/1.1")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert shared_stack.process.poll() is None
    assert request(f"{shared_stack.url}/users?limit=1", shared_stack.token("users/read"))[0] == 200
    # Its log names the route, never the raw path (paths can hold e-mail addresses).
    assert "//[" not in shared_stack.log.read_text()


def headers_of(url: str, method: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers, method=method), timeout=15) as r:
        return r.status, {name.lower(): value for name, value in r.headers.items()}


def test_cors_as_the_deployed_api_answers_it(shared_stack: LocalStack) -> None:
    url = f"{shared_stack.url}/users"
    preflight = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "PUT"}
    status, headers = headers_of(url, "OPTIONS", preflight)
    assert status == 204
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert headers["access-control-allow-methods"] == "GET,POST,PUT,PATCH,DELETE,OPTIONS"
    allowed = "authorization,content-type,idempotency-key,if-match,if-none-match"
    assert headers["access-control-allow-headers"] == allowed
    # The deployed API's max-age, read from the dev template (it once drifted: 600 locally, 3600 deployed).
    assert headers["access-control-max-age"] == "3600"

    status, headers = headers_of(url, "OPTIONS", {**preflight, "Origin": "https://elsewhere.example"})
    assert status == 204
    assert not any(name.startswith("access-control-") for name in headers)

    auth = {"Authorization": f"Bearer {shared_stack.token()}"}
    status, headers = headers_of(url, "GET", {**auth, "Origin": ALLOWED_ORIGIN})
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert headers["access-control-expose-headers"] == "etag,location,retry-after"
    status, headers = headers_of(url, "GET", {**auth, "Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in headers


def test_sigint_stops_the_server_and_dynamodb_local(fresh_stack: LocalStack) -> None:
    jvm = fresh_stack.jvm_pid()
    assert fresh_stack.signing_file.exists()
    fresh_stack.process.send_signal(signal.SIGINT)
    assert fresh_stack.process.wait(timeout=15) == 0, fresh_stack.output()
    assert wait_until_gone(fresh_stack.process.pid) == {}
    assert jvm not in live_processes(fresh_stack.process.pid)
    assert not fresh_stack.signing_file.exists(), "a stopped server's key must not mint tokens"


def test_dynamodb_local_does_not_outlive_a_killed_server(fresh_stack: LocalStack) -> None:
    fresh_stack.jvm_pid()
    fresh_stack.process.send_signal(signal.SIGKILL)
    fresh_stack.process.wait(timeout=10)
    assert wait_until_gone(fresh_stack.process.pid) == {}


def test_the_api_answers_503_while_dynamodb_local_is_down(fresh_stack: LocalStack) -> None:
    token = fresh_stack.token()
    os.kill(fresh_stack.jvm_pid(), signal.SIGKILL)
    started = time.monotonic()
    status, body = request(f"{fresh_stack.url}/users", token)
    assert status == 503, body
    assert body["error"]["code"] == "ServiceUnavailable"
    assert time.monotonic() - started < 10
    assert fresh_stack.process.poll() is None, "the server keeps running"
    fresh_stack.process.send_signal(signal.SIGINT)
    assert fresh_stack.process.wait(timeout=15) == 0, fresh_stack.output()
    assert wait_until_gone(fresh_stack.process.pid) == {}


def test_a_missing_java_says_how_to_install_it(tmp_path: Path) -> None:
    node_only = tmp_path / "bin"
    node_only.mkdir()
    (node_only / "node").symlink_to(shutil.which("node", path=str(REPO / "node_modules/.bin")) or NODE)
    env = {
        **stack_env(tmp_path),
        "PATH": str(node_only),
        "DYNAMODB_LOCAL_DIR": os.environ.get("DYNAMODB_LOCAL_DIR") or str(tmp_path),
    }
    result = subprocess.run(
        [NODE, "local/server.ts"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode != 0
    assert "Java" in result.stderr, result.stderr
    assert "apt-get install" in result.stderr, result.stderr
    assert not Path(env["TOKEN_SIGNING_FILE"]).exists()
