"""`make audit` (scripts/audit.py): npm audit and pip-audit run for real against a stand-in of the
advisory databases on loopback (the npm registry's bulk advisory endpoint and OSV's API), which
plants advisories for packages this project locks. A high, critical or unrated one fails, a
moderate one is listed and passes, and an unreachable database fails saying so."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT

NPM_PACKAGE = "@aws-lambda-powertools/logger"  # a production dependency of the functions
PYTHON_PACKAGE = "jsii"  # in requirements-dev.lock, through aws-cdk-lib


@dataclass
class Advisories:
    """What the stand-in answers: npm advisories by package, OSV advisories by package, OSV
    records by id."""

    npm: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    osv: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)


def _handler(advisories: Advisories) -> type[BaseHTTPRequestHandler]:
    class StandIn(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-encoding") == "gzip":  # npm compresses its bulk request
                body = gzip.decompress(body)
            request = json.loads(body or b"{}")
            advisories.asked.append(self.path)
            if self.path.endswith("/-/npm/v1/security/advisories/bulk"):
                self._answer(200, {name: advisories.npm[name] for name in request if name in advisories.npm})
            elif self.path == "/v1/query":
                vulns = advisories.osv.get(request["package"]["name"], [])
                self._answer(200, {"vulns": vulns} if vulns else {})
            else:
                self._answer(404, {})

        def do_GET(self) -> None:
            advisories.asked.append(self.path)
            record = advisories.records.get(self.path.removeprefix("/v1/vulns/"))
            self._answer(200 if record else 404, record or {})

        def log_message(self, format: str, *args: object) -> None:
            pass

    return StandIn


@pytest.fixture
def stand_in() -> Iterator[tuple[str, Advisories]]:
    advisories = Advisories()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(advisories))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", advisories
    finally:
        server.shutdown()
        server.server_close()


def audit(registry: str, osv_url: str, npm_cache: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        # npm caches what it computed per advisory id: a cache of this test's own keeps the
        # developer's out of it, and the planted ids from another run out of this one.
        "npm_config_cache": str(npm_cache),
        "PATH": f"{PROJECT_ROOT / 'node_modules/.bin'}{os.pathsep}{os.environ['PATH']}",
        "AUDIT_NPM_REGISTRY": f"{registry}/",
        "AUDIT_OSV_URL": osv_url,
    }
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts/audit.py")],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def npm_advisory(severity: str) -> dict[str, Any]:
    return {
        "id": 1001,
        "url": "https://github.com/advisories/GHSA-plnt-npm0-0001",
        "title": f"planted {severity} advisory",
        "severity": severity,
        "vulnerable_versions": "<99.0.0",
        "cwe": [],
        "cvss": {"score": 0, "vectorString": None},
    }


def osv_advisory(advisory: str) -> dict[str, Any]:
    return {
        "id": advisory,
        "summary": "planted advisory",
        "aliases": [],
        "affected": [
            {
                "package": {"name": PYTHON_PACKAGE, "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
            }
        ],
    }


def test_a_clean_audit_passes_and_asks_both_databases(stand_in: tuple[str, Advisories], tmp_path: Path) -> None:
    url, advisories = stand_in
    result = audit(url, url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "npm production dependencies" in result.stdout
    assert "audit: no high or critical advisory" in result.stdout
    assert "/-/npm/v1/security/advisories/bulk" in advisories.asked
    assert advisories.asked.count("/v1/query") > 50, "every locked Python package is looked up"


def test_a_planted_high_npm_advisory_fails_naming_the_package(stand_in: tuple[str, Advisories], tmp_path: Path) -> None:
    url, advisories = stand_in
    advisories.npm[NPM_PACKAGE] = [npm_advisory("high")]
    result = audit(url, url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"high     npm {NPM_PACKAGE}@" in result.stdout
    assert "GHSA-plnt-npm0-0001" in result.stdout


def test_a_planted_critical_python_advisory_fails_with_its_osv_severity(
    stand_in: tuple[str, Advisories], tmp_path: Path
) -> None:
    url, advisories = stand_in
    advisories.osv[PYTHON_PACKAGE] = [osv_advisory("PYSEC-0000-1")]
    advisories.osv[PYTHON_PACKAGE][0]["aliases"] = ["GHSA-plnt-pypi-0001"]
    advisories.records["GHSA-plnt-pypi-0001"] = {"database_specific": {"severity": "CRITICAL"}}
    result = audit(url, url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"critical PyPI {PYTHON_PACKAGE}@" in result.stdout
    assert "/v1/vulns/GHSA-plnt-pypi-0001" in advisories.asked


def test_moderate_advisories_are_listed_and_pass(stand_in: tuple[str, Advisories], tmp_path: Path) -> None:
    url, advisories = stand_in
    advisories.npm[NPM_PACKAGE] = [npm_advisory("moderate")]
    advisories.osv[PYTHON_PACKAGE] = [osv_advisory("GHSA-plnt-pypi-0002")]
    advisories.records["GHSA-plnt-pypi-0002"] = {"database_specific": {"severity": "MODERATE"}}
    result = audit(url, url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"moderate npm {NPM_PACKAGE}@" in result.stdout
    assert f"moderate PyPI {PYTHON_PACKAGE}@" in result.stdout


def test_an_advisory_no_record_rates_fails_as_unrated(stand_in: tuple[str, Advisories], tmp_path: Path) -> None:
    url, advisories = stand_in
    advisories.osv[PYTHON_PACKAGE] = [osv_advisory("PYSEC-0000-2")]
    result = audit(url, url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"unknown  PyPI {PYTHON_PACKAGE}@" in result.stdout


def test_unreachable_databases_fail_clearly_instead_of_passing(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
        result = audit(url, url, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "nothing was audited where an advisory database could not be reached" in result.stderr
    assert "npm audit:" in result.stderr
    assert "pip-audit:" in result.stderr
    assert "the pipeline's Build step runs it" in result.stderr
