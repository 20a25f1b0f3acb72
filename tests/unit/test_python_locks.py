"""The Python locks: requirements.txt and requirements-dev.txt name what we choose, and
requirements.lock / requirements-dev.lock pin everything they pull in, each file by its hash. The
venv installs requirements-dev.lock; the audit and the SBOM read the locks. These hold the locks
to the files they are resolved from, and to each other."""

from __future__ import annotations

import re

from scripts.python_lock import canonical, locked
from tests.conftest import PROJECT_ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    """The `name==version` lines of a requirements file (its -r includes are checked on their own)."""
    return {canonical(name): version for name, version in PIN.findall(text)}


def lock_problems(requirements: str, lock: str) -> list[str]:
    """What keeps `lock` from being the resolution of `requirements`: a pin it does not hold at that
    version, or a package locked without a hash."""
    entries = locked(lock)
    problems = [
        f"{name}=={version} is pinned but the lock has {entries[name][0] if name in entries else 'nothing'}"
        for name, version in pins(requirements).items()
        if name not in entries or entries[name][0] != version
    ]
    problems += [f"{name} is locked without a hash" for name, (_, hashes) in entries.items() if not hashes]
    return problems


def subset_problems(app_lock: str, dev_lock: str) -> list[str]:
    """Every package the app's lock holds, the toolchain's lock holds at the same version and hashes."""
    dev = locked(dev_lock)
    app = locked(app_lock)
    return [f"{name}: {entry[0]} in the app's lock" for name, entry in app.items() if dev.get(name) != entry]


def read(name: str) -> str:
    return (PROJECT_ROOT / name).read_text(encoding="utf-8")


def test_each_lock_holds_what_its_requirements_pin() -> None:
    assert lock_problems(read("requirements.txt"), read("requirements.lock")) == []
    assert lock_problems(read("requirements.txt") + read("requirements-dev.txt"), read("requirements-dev.lock")) == []
    assert len(locked(read("requirements.lock"))) > len(pins(read("requirements.txt"))), "transitive packages locked"


def test_the_app_lock_is_part_of_the_toolchain_lock() -> None:
    assert subset_problems(read("requirements.lock"), read("requirements-dev.lock")) == []


def test_a_pin_changed_without_locking_again_is_found() -> None:
    bumped = read("requirements.txt").replace("aws-cdk-lib==", "aws-cdk-lib==9.")
    assert any(problem.startswith("aws-cdk-lib==9.") for problem in lock_problems(bumped, read("requirements.lock")))
    added = read("requirements-dev.txt") + "left-pad==1.0.0\n"
    assert "left-pad==1.0.0 is pinned but the lock has nothing" in lock_problems(added, read("requirements-dev.lock"))


def test_a_lock_entry_without_hashes_or_out_of_step_is_found() -> None:
    app_lock = read("requirements.lock")
    unhashed = re.sub(r"^(jsii==\S+)(\s*\\\n\s+--hash=\S+)+", r"\1", app_lock, flags=re.MULTILINE)
    assert "jsii is locked without a hash" in lock_problems(read("requirements.txt"), unhashed)
    version = locked(app_lock)["jsii"][0]
    drifted = app_lock.replace(f"jsii=={version}", "jsii==0.0.1")
    assert subset_problems(drifted, read("requirements-dev.lock")) == ["jsii: 0.0.1 in the app's lock"]


def test_the_venv_installs_the_lock_with_hashes_checked() -> None:
    makefile = read("Makefile")
    assert "$(VENV_STAMP): requirements-dev.lock" in makefile
    assert "--require-hashes -r requirements-dev.lock" in makefile
