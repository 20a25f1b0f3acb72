"""Reading pip-compile's hashed locks (requirements.lock, requirements-dev.lock): one parser for
the SBOM check and the tests that hold the locks to their requirements."""

from __future__ import annotations

import re

LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)((?:\s*\\\n\s+--hash=\S+)*)", re.MULTILINE)


def canonical(name: str) -> str:
    """A package name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(text: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Each package of a lock by canonical name: its version and the hashes it allows."""
    return {
        canonical(name): (version, frozenset(re.findall(r"--hash=(\S+)", hashes)))
        for name, version, hashes in LOCKED.findall(text)
    }
