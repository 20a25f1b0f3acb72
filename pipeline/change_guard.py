"""The guard between a stage's change set and its execution: reads the change set CDK Pipelines
prepared (PipelineChange) and fails, naming the resource and the property, when it would replace
or delete a stateful resource: a table, a user pool or its domain, a bucket, a KMS key. It passes
by itself otherwise. `make test` catches such a change before merge (tests/stateful_resources.py);
this catches it against what the deployed stack actually is.

Run in the pipeline as `python3 pipeline/change_guard.py --stack-name S --change-set-name C`
with credentials that may describe that change set; standard library only, so the CodeBuild
image's own Python runs it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

STATEFUL_TYPES: tuple[str, ...] = (
    "AWS::DynamoDB::Table",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolDomain",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
)
CHANGE_SET_NAME = "PipelineChange"


def findings(changes: Iterable[Mapping[str, Any]]) -> list[str]:
    """What the change set's `Changes` would do to stateful resources, one line each: a removal,
    or a replacement (certain or conditional) with the properties that cause it."""
    found: list[str] = []
    for change in changes:
        resource = change.get("ResourceChange", {})
        kind = resource.get("ResourceType", "")
        if kind not in STATEFUL_TYPES:
            continue
        name = f"{resource.get('LogicalResourceId')} ({kind}, {resource.get('PhysicalResourceId', 'not yet created')})"
        action = resource.get("Action")
        if action == "Remove":
            found.append(f"{name} would be deleted")
        elif action == "Modify" and resource.get("Replacement") in ("True", "Conditional"):
            causes = sorted(
                {
                    detail.get("Target", {}).get("Name") or detail.get("Target", {}).get("Attribute", "?")
                    for detail in resource.get("Details", [])
                    if detail.get("Target", {}).get("RequiresRecreation") in ("Always", "Conditionally")
                }
            )
            certainty = "would be replaced" if resource["Replacement"] == "True" else "may be replaced"
            found.append(f"{name} {certainty}: {', '.join(causes) or 'a replacing change'}")
    return found


def describe(stack_name: str, change_set_name: str, run: Callable[[list[str]], str]) -> list[Mapping[str, Any]]:
    """Every change of the change set, following NextToken."""
    changes: list[Mapping[str, Any]] = []
    token: str | None = None
    while True:
        command = ["aws", "cloudformation", "describe-change-set", "--stack-name", stack_name]
        command += ["--change-set-name", change_set_name, "--output", "json"]
        if token:
            command += ["--next-token", token]
        page = json.loads(run(command))
        changes.extend(page.get("Changes", []))
        token = page.get("NextToken")
        if not token:
            return changes


def _aws(command: list[str]) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def main(argv: list[str] | None = None, run: Callable[[list[str]], str] = _aws) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--change-set-name", default=CHANGE_SET_NAME)
    args = parser.parse_args(argv)
    problems = findings(describe(args.stack_name, args.change_set_name, run))
    if not problems:
        print(f"{args.stack_name}: no stateful resource is replaced or deleted")
        return 0
    print(f"{args.stack_name}: this deployment would lose data, so it stops here:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    print(
        "A deliberate replacement needs a migration (docs/deploying.md, 'Changes that would replace data'); "
        "reject this run and ship the migration instead.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
