"""Checks the SBOMs `make sbom` wrote: every one valid against CycloneDX 1.6's schema (strict), and
the CDK app's Python SBOM listing exactly the packages of requirements.lock at their locked
versions. The functions' SBOMs are checked against their bundles by scripts/sbom.ts as it writes
them.

    .venv/bin/python -m scripts.check_sbom cdk.out/sbom        # `make sbom`
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from scripts.python_lock import canonical, locked

PYTHON_SBOM = "cdk-app-python.cdx.json"
LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"


def schema_problems(sbom: Path) -> list[str]:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(sbom.read_text(encoding="utf-8"))
    return [] if error is None else [f"{sbom.name}: not valid CycloneDX 1.6: {error}"]


def lock_problems(sbom: Path, lock_text: str) -> list[str]:
    """Where the Python SBOM and the lock disagree on a package or its version."""
    versions = {name: version for name, (version, _) in locked(lock_text).items()}
    components = json.loads(sbom.read_text(encoding="utf-8")).get("components", [])
    listed = {canonical(component["name"]): component.get("version") for component in components}
    problems = [
        f"{sbom.name}: {name}=={version} is locked but listed {f'at {listed[name]}' if name in listed else 'nowhere'}"
        for name, version in sorted(versions.items())
        if listed.get(name) != version
    ]
    problems += [f"{sbom.name}: {name} is listed but not locked" for name in sorted(set(listed) - set(versions))]
    return problems


def main(directory: Path, lock: Path = LOCK) -> int:
    sboms = sorted(directory.glob("*.cdx.json"))
    problems = [problem for sbom in sboms for problem in schema_problems(sbom)]
    python_sbom = directory / PYTHON_SBOM
    if python_sbom.exists():
        problems += lock_problems(python_sbom, lock.read_text(encoding="utf-8"))
    else:
        problems.append(f"{PYTHON_SBOM} is missing from {directory}")
    if problems:
        print("sbom: FAILED", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(f"sbom: {len(sboms)} SBOMs in {directory}, valid CycloneDX 1.6; the Python one matches {lock.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
