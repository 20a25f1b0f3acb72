"""The secrets gate: scans the repository's tracked files with detect-secrets against the reviewed
baseline (.secrets.baseline) and fails on any finding the baseline does not mark as reviewed and
not a secret, naming the file, line and kind. The committed baseline is never rewritten: the scan
runs on a copy, so a run leaves the tree as it was.

    .venv/bin/python scripts/check_secrets.py        # from the repository root; `make secrets`
    .venv/bin/python scripts/check_secrets.py FILE…  # only these files (the pre-commit hook)

A finding that is a placeholder (a test credential, a fake token) is reviewed by setting
"is_secret": false on it in .secrets.baseline, in the commit that adds it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BASELINE = ".secrets.baseline"


def unreviewed(baseline: Mapping[str, Any]) -> list[str]:
    """Every finding not marked `"is_secret": false`, as `file:line: kind`."""
    return [
        f"{path}:{finding.get('line_number')}: {finding.get('type')}"
        for path, findings in sorted(baseline.get("results", {}).items())
        for finding in findings
        if finding.get("is_secret") is not False
    ]


def scan(root: Path, files: Sequence[str] = ()) -> dict[str, Any]:
    """The baseline as a fresh scan of `root` (or of `files` in it) updates it: reviewed findings
    keep their verdict, new ones come without one. Given files, the results hold those files only."""
    scanner = Path(sys.executable).with_name("detect-secrets")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / BASELINE
        shutil.copyfile(root / BASELINE, copy)
        subprocess.run([str(scanner), "scan", *files, "--baseline", str(copy)], cwd=root, check=True)
        scanned: dict[str, Any] = json.loads(copy.read_text(encoding="utf-8"))
        return scanned


def main(root: Path | None = None, files: Sequence[str] = ()) -> int:
    problems = unreviewed(scan(root or Path.cwd(), files))
    if not problems:
        print("secrets: no finding outside the reviewed baseline")
        return 0
    print("secrets: possible secrets the baseline has not reviewed:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    print(f'Remove the secret, or, for a placeholder, mark it "is_secret": false in {BASELINE}.', file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(files=sys.argv[1:]))
