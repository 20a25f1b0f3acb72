"""The dev template the local end-to-end tests run `make local` from, without a synth of their own.

It is the synthesized dev stack reduced to what the local stack reads of it (harness/deployed.ts):
the table (key schema, billing, tags), the HTTP API's CORS configuration, and each function's
construct path, environment, memory and timeout. `tests/infrastructure/test_local_fixture.py` compares it with
the one reduced from the session's synth and fails when they drift. Regenerate it with
`.venv/bin/python -m tests.local_fixture --update`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_TEMPLATE = PROJECT_ROOT / "local/test/fixtures/synth/assembly-Dev/DevUsersService.template.json"
UPDATE_COMMAND = ".venv/bin/python -m tests.local_fixture --update"

KEPT_PROPERTIES = {
    "AWS::DynamoDB::Table": (
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "Tags",
    ),
    "AWS::ApiGatewayV2::Api": ("CorsConfiguration",),
    "AWS::Lambda::Function": ("Environment", "MemorySize", "Timeout"),
}


def reduce(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template with only the resources and properties the local stack reads; asset paths
    (which change with every source change) are left out."""
    resources: dict[str, Any] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        kept = KEPT_PROPERTIES.get(resource["Type"])
        if kept is None:
            continue
        # The pre-traffic hooks are CodeDeploy's, not the local stack's; their environment names
        # versions, whose IDs hash the source tree when assets are not bundled.
        if "/Deployments/" in resource.get("Metadata", {}).get("aws:cdk:path", ""):
            continue
        properties = resource.get("Properties", {})
        reduced: dict[str, Any] = {
            "Type": resource["Type"],
            "Properties": {key: properties[key] for key in kept if key in properties},
        }
        path = resource.get("Metadata", {}).get("aws:cdk:path")
        if path:
            reduced["Metadata"] = {"aws:cdk:path": path}
        resources[logical_id] = reduced
    return {"Resources": resources}


def render(template: Mapping[str, Any]) -> str:
    return json.dumps(template, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print(f"usage: {UPDATE_COMMAND}", file=sys.stderr)
        return 2
    from tests.assembly import synthesize_app

    with tempfile.TemporaryDirectory() as outdir:
        dev = synthesize_app(Path(outdir)).stacks["Dev/UsersService"]
    FIXTURE_TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE_TEMPLATE.write_text(render(reduce(dev.template)))
    print(f"wrote {FIXTURE_TEMPLATE.relative_to(PROJECT_ROOT)}; review the diff before committing it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
