"""Whether two cloud assemblies hold the same templates and bundles.

    .venv/bin/python bench/compare_assemblies.py cdk.out other/cdk.out

Templates are compared as parsed JSON, stack by stack, with asset hashes masked: NodejsFunction
hashes its source, the whole project root, so any change to the checkout renames the assets even
when what is bundled stays the same. The bundles (asset.*/index.mjs) are compared by content.
Exit 1 with each difference when they differ.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def _templates(outdir: Path) -> dict[str, object]:
    return {
        str(path.relative_to(outdir)): json.loads(ASSET_HASH.sub("<asset-hash>", path.read_text()))
        for path in outdir.rglob("*.template.json")
    }


def _bundles(outdir: Path) -> set[str]:
    return {hashlib.sha256(path.read_bytes()).hexdigest() for path in outdir.glob("asset.*/index.mjs")}


def differences(this: Path, other: Path) -> list[str]:
    found: list[str] = []
    mine, theirs = _templates(this), _templates(other)
    for name in sorted(set(mine) | set(theirs)):
        if name not in mine or name not in theirs:
            found.append(f"{name}: only in {'the first' if name in mine else 'the second'}")
        elif mine[name] != theirs[name]:
            found.append(f"{name}: the templates differ")
    if _bundles(this) != _bundles(other):
        found.append("the bundles differ")
    return found


if __name__ == "__main__":
    problems = differences(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(problems) or "identical templates and bundles")
    sys.exit(1 if problems else 0)
