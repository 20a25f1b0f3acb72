"""Synth time of this checkout against another (a worktree of an earlier commit), side by side.

    .venv/bin/python bench/synth_side_by_side.py /path/to/other/worktree [runs]

Alternates the two (so both see the same machine load) for each way the app is synthesized: the
plain app process (`python app.py` with cdk.json's context, as the CLI runs it) and `cdk synth
'**'` (what `make synth` runs after setup). Prints the medians, the ratio this/other, and whether
the two checkouts' templates are identical (bench/compare_assemblies.py). Both checkouts need
their toolchain installed (`make setup`, or .venv and node_modules linked from this one).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "bench"))
from compare_assemblies import differences  # noqa: E402


def _run(checkout: Path, how: str, outdir: Path) -> float:
    env = {**os.environ, "PATH": f"{checkout / 'node_modules/.bin'}:{checkout / '.venv/bin'}:{os.environ['PATH']}"}
    if how == "app process":
        context = json.loads((checkout / "cdk.json").read_text())["context"]
        env |= {"CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
        command = [str(checkout / ".venv/bin/python"), "app.py"]
    else:
        command = ["cdk", "synth", "**", "--quiet", "-o", str(outdir)]
    start = time.perf_counter()
    subprocess.run(command, cwd=checkout, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def main(other: Path, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for how in ("app process", "cdk synth"):
            times: dict[str, list[float]] = {"this": [], "other": []}
            for index in range(runs):
                for name, checkout in (("this", HERE), ("other", other)):
                    outdir = Path(tmp) / f"{name}-{how.replace(' ', '-')}-{index}"
                    times[name].append(_run(checkout, how, outdir))
            this, base = statistics.median(times["this"]), statistics.median(times["other"])
            print(
                f"{how}: this {this:.2f} s, other {base:.2f} s, ratio {this / base:.2f} "
                f"(this {', '.join(f'{t:.2f}' for t in times['this'])}; "
                f"other {', '.join(f'{t:.2f}' for t in times['other'])})"
            )
        found = differences(Path(tmp) / "this-cdk-synth-0", Path(tmp) / "other-cdk-synth-0")
        print("templates identical" if not found else "templates differ:\n  " + "\n  ".join(found))


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), int(sys.argv[2]) if len(sys.argv) > 2 else 5)
