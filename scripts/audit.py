"""Known-vulnerable dependencies (`make audit`, run by the pipeline's Build step after `make test`).

Two audits, one verdict:
- npm: `npm audit --omit=dev`, the production dependencies of the functions (package-lock.json);
- Python: pip-audit over requirements-dev.lock, every package the Build installs and runs (the
  CDK app and its toolchain), against OSV, with each advisory's severity read from its OSV record.

A high or critical advisory fails (exit 1), and so does one whose severity no record gives: it
has not been rated, so nobody has said it is minor. Lower ones are listed and pass. Both audits
need the advisory databases on the internet: when either cannot be reached the run fails (exit 2)
saying so, never passing on what it could not check. AUDIT_NPM_REGISTRY and AUDIT_OSV_URL point
the audits at another registry or OSV instance (a mirror, or a test's stand-in).

    .venv/bin/python scripts/audit.py        # from the repository root; `make audit`
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAILING = ("critical", "high", "unknown")
SEVERITIES = ("critical", "high", "unknown", "moderate", "low", "info")
PYTHON_LOCK = "requirements-dev.lock"
DEFAULT_OSV_URL = "https://api.osv.dev"
TIMEOUT_SECONDS = 600


class UnreachableError(Exception):
    """An advisory database could not be asked: nothing it covers was audited."""


@dataclass(frozen=True)
class Finding:
    ecosystem: str
    package: str
    version: str
    advisory: str
    severity: str
    title: str

    def line(self) -> str:
        return f"{self.severity:<8} {self.ecosystem} {self.package}@{self.version}: {self.advisory} {self.title}"


@dataclass(frozen=True)
class Audit:
    name: str
    packages: int
    findings: list[Finding]


def _tool(name: str) -> str:
    """The venv's own copy when there is one (pip-audit), else the one on PATH (npm)."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def npm_audit(root: Path, registry: str | None) -> Audit:
    command = [_tool("npm"), "audit", "--omit=dev", "--json"]
    if registry:
        command.append(f"--registry={registry}")
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        report = {}
    if "vulnerabilities" not in report:
        reason = report.get("message") or (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise UnreachableError(f"npm audit: {reason}")
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    findings: set[Finding] = set()
    for vulnerability in report["vulnerabilities"].values():
        versions = sorted({lock.get(node, {}).get("version", "?") for node in vulnerability.get("nodes", [])})
        for via in vulnerability.get("via", []):
            # A string names another vulnerable package this one pulls in: reported on its own.
            if isinstance(via, dict):
                findings.add(
                    Finding(
                        "npm",
                        str(via.get("name")),
                        ",".join(versions),
                        str(via.get("url")),
                        str(via.get("severity", "unknown")),
                        str(via.get("title", "")),
                    )
                )
    return Audit(
        "npm production dependencies", int(report["metadata"]["dependencies"]["prod"]), sorted(findings, key=str)
    )


def _osv_record(osv_url: str, advisory: str) -> dict[str, Any]:
    url = f"{osv_url}/v1/vulns/{urllib.parse.quote(advisory, safe='')}"
    if not url.startswith(("https://", "http://")):
        raise UnreachableError(f"OSV: {osv_url} is not an http(s) URL")
    try:
        # The scheme is checked above: only OSV's own http(s) API is opened.
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            record: dict[str, Any] = json.load(response)
            return record
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return {}
        raise UnreachableError(f"OSV: {url}: {error}") from error
    except (urllib.error.URLError, OSError) as error:
        raise UnreachableError(f"OSV: {url}: {error}") from error


def osv_severity(osv_url: str, advisories: list[str]) -> str:
    """The severity OSV's records give an advisory or its aliases (GitHub's rating first), or
    "unknown"."""
    for advisory in sorted(advisories, key=lambda name: not name.startswith("GHSA-")):
        rated = str(_osv_record(osv_url, advisory).get("database_specific", {}).get("severity", "")).lower()
        if rated in ("critical", "high", "moderate", "medium", "low"):
            return "moderate" if rated == "medium" else rated
    return "unknown"


def python_audit(root: Path, osv_url: str) -> Audit:
    with tempfile.TemporaryDirectory() as cache:
        command = [
            _tool("pip-audit"),
            "--requirement",
            str(root / PYTHON_LOCK),
            "--disable-pip",
            "--require-hashes",
            "--vulnerability-service",
            "osv",
            "--osv-url",
            f"{osv_url}/v1/query",
            "--format",
            "json",
            "--progress-spinner",
            "off",
            "--cache-dir",
            cache,
        ]
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise UnreachableError(f"pip-audit: {(result.stderr.strip().splitlines() or ['no answer'])[-1]}") from None
    findings: list[Finding] = []
    for dependency in report["dependencies"]:
        name, version = dependency["name"], dependency.get("version", "?")
        if "skip_reason" in dependency:
            # pip-audit passes a package it could not look up; here that is a package not audited.
            findings.append(Finding("PyPI", name, version, "not audited", "unknown", dependency["skip_reason"]))
        for vulnerability in dependency.get("vulns", []):
            advisories = [vulnerability["id"], *vulnerability.get("aliases", [])]
            severity = osv_severity(osv_url, advisories)
            title = str(vulnerability.get("description", ""))[:120]
            findings.append(Finding("PyPI", name, version, vulnerability["id"], severity, title))
    return Audit(f"Python ({PYTHON_LOCK})", len(report["dependencies"]), findings)


def main(root: Path | None = None) -> int:
    root = root or Path.cwd()
    registry = os.environ.get("AUDIT_NPM_REGISTRY") or None
    osv_url = (os.environ.get("AUDIT_OSV_URL") or DEFAULT_OSV_URL).rstrip("/")
    audits: list[Audit] = []
    unreachable: list[str] = []
    runs: list[Callable[[], Audit]] = [lambda: npm_audit(root, registry), lambda: python_audit(root, osv_url)]
    for run in runs:
        try:
            audits.append(run())
        except UnreachableError as error:
            unreachable.append(str(error))
    if unreachable:
        print("audit: FAILED, nothing was audited where an advisory database could not be reached:", file=sys.stderr)
        for reason in unreachable:
            print(f"  {reason}", file=sys.stderr)
        print(
            "make audit needs the internet (the npm registry's audit endpoint and api.osv.dev, or the mirrors "
            "AUDIT_NPM_REGISTRY and AUDIT_OSV_URL name); the pipeline's Build step runs it.",
            file=sys.stderr,
        )
        return 2
    findings = sorted(
        (finding for audit in audits for finding in audit.findings), key=lambda f: SEVERITIES.index(f.severity)
    )
    for audit in audits:
        print(f"audit: {audit.name}: {audit.packages} packages, {len(audit.findings)} advisories")
    for finding in findings:
        print(f"  {finding.line()}")
    failing = [finding for finding in findings if finding.severity in FAILING]
    if failing:
        print(
            f"audit: FAILED, {len(failing)} high, critical or unrated advisories: upgrade the package "
            "(npm install / make lock), or remove it",
            file=sys.stderr,
        )
        return 1
    print("audit: no high or critical advisory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
