"""The replacement-causing properties of every stateful resource of a stage, recorded and compared.

CloudFormation replaces a resource when its logical ID changes or when a create-only property
changes: for a table, a user pool, a bucket or a key that means the data (or the users, or what
the key encrypts) is gone, or the update fails half-way (a user pool domain prefix is a global
name that the old domain still holds while the new one is created). `stateful-resources.json`
beside this file records, per stage, each such resource's logical ID and the values of those
properties; `tests/infrastructure/test_stateful_resources.py` fails when a change alters any of them.

Which properties count comes from two sources:
- the CloudFormation registry schemas that cfn-lint ships (`createOnlyProperties`), so a property
  AWS adds to that list is picked up with the cfn-lint upgrade;
- `DOCUMENTED_IMMUTABLE`: properties the registry schema marks updatable although AWS documents
  that changing them replaces the resource or is refused.

Regenerate the record after a reviewed, deliberate change:
`.venv/bin/python -m tests.stateful_resources --update`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint  # type: ignore[import-untyped]

from tests.assembly import SynthesizedStack, synthesize_app

SNAPSHOT_FILE = Path(__file__).with_name("stateful-resources.json")
REGISTRY_REGION = "us-east-1"
UPDATE_COMMAND = ".venv/bin/python -m tests.stateful_resources --update"

# Documented as replacement or as refused updates, though the registry schema omits them:
# DynamoDB: "Update requires: Replacement" for KeySchema and LocalSecondaryIndexes (CloudFormation
# template reference, AWS::DynamoDB::Table). Cognito: sign-in attributes and username case
# sensitivity "can't be changed after you create a user pool" (Cognito developer guide, "Updating
# user pool and app client configuration"). KMS: changing KeySpec, KeyUsage, Origin or MultiRegion
# of an existing key fails the update (AWS::KMS::Key reference).
DOCUMENTED_IMMUTABLE: dict[str, tuple[str, ...]] = {
    "AWS::DynamoDB::Table": ("KeySchema", "LocalSecondaryIndexes"),
    "AWS::Cognito::UserPool": ("AliasAttributes", "UsernameAttributes", "UsernameConfiguration"),
    "AWS::Cognito::UserPoolDomain": (),
    "AWS::S3::Bucket": (),
    "AWS::KMS::Key": ("KeySpec", "KeyUsage", "Origin", "MultiRegion"),
}
STATEFUL_TYPES = tuple(DOCUMENTED_IMMUTABLE)

# What to do instead of changing the recorded value in place.
MIGRATION: dict[str, str] = {
    "AWS::DynamoDB::Table": (
        "create the new table beside the old one as a new construct, copy the items (export to S3 "
        "and import, or a backfill), switch the functions over, and remove the old table in a later "
        "change"
    ),
    "AWS::Cognito::UserPool": (
        "Cognito cannot change this on an existing pool and a new pool has new user and client ids: "
        "add a second pool with its own domain prefix, migrate users (a user-migration trigger or an "
        "import job) and clients, then retire the old pool"
    ),
    "AWS::Cognito::UserPoolDomain": (
        "the prefix is a global name and a replacement creates the new domain while the old one "
        "still holds its pool (the update fails with 'Domain already associated with another user "
        "pool'): add the new domain as a second one, move clients to it, then remove the old one"
    ),
    "AWS::S3::Bucket": (
        "a replacement is a new, empty bucket: create it beside the old one, copy the objects, "
        "point the writers at it, then remove the old bucket"
    ),
    "AWS::KMS::Key": (
        "KMS refuses this change on an existing key: create a new key, re-encrypt what the old "
        "one protects, and keep the old key until nothing needs it"
    ),
}
RENAME_ADVICE = (
    "a new logical ID makes CloudFormation create a new resource and delete the old one; if the "
    "construct only moved or was renamed, keep its logical ID with "
    "`Stack.of(construct).rename_logical_id(old, new)` or `cfn_resource.override_logical_id(old)`"
)

Snapshot = dict[str, dict[str, Any]]  # logical ID -> {"Type", "Path", "Properties"}


@cache
def replacement_properties(type_name: str) -> tuple[str, ...]:
    """The registry schema's top-level create-only properties plus the documented ones."""
    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    index: dict[str, str] = json.loads((schemas / "providers" / f"{REGISTRY_REGION}.json").read_text())
    schema = json.loads((schemas / "resources" / f"{index[type_name]}.json").read_text())
    registry = [
        pointer.removeprefix("/properties/")
        for pointer in schema.get("createOnlyProperties", [])
        if pointer.count("/") == 2  # a whole top-level property, not a nested field
    ]
    return tuple(sorted({*registry, *DOCUMENTED_IMMUTABLE[type_name]}))


def stateful_snapshot(template: Mapping[str, Any]) -> Snapshot:
    """Each stateful resource of `template` with the values of its replacement-causing properties
    (None where the property is absent: setting it later replaces the resource too)."""
    snapshot: Snapshot = {}
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        type_name = resource["Type"]
        if type_name not in STATEFUL_TYPES:
            continue
        properties = resource.get("Properties", {})
        watched = {name: properties.get(name) for name in replacement_properties(type_name)}
        if type_name == "AWS::DynamoDB::Table":
            # A key attribute's type is part of the key: changing it replaces the table too, while
            # other attribute definitions come and go with indexes.
            key_names = {key["AttributeName"] for key in properties.get("KeySchema", [])}
            watched["AttributeDefinitions (key attributes)"] = [
                definition
                for definition in properties.get("AttributeDefinitions", [])
                if definition["AttributeName"] in key_names
            ]
        snapshot[logical_id] = {
            "Type": type_name,
            "Path": resource.get("Metadata", {}).get("aws:cdk:path", ""),
            "Properties": watched,
        }
    return snapshot


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def compare(stage: str, recorded: Snapshot, current: Snapshot) -> list[str]:
    """What `current` would replace or remove compared with `recorded`, one sentence each."""
    problems: list[str] = []
    for logical_id, before in recorded.items():
        where = f"{stage}/{logical_id} ({before['Type']}, {before['Path']})"
        after = current.get(logical_id)
        if after is None:
            problems.append(f"{where} is gone or has a new logical ID: {RENAME_ADVICE}.")
            continue
        for name, old in before["Properties"].items():
            new = after["Properties"].get(name)
            if new != old:
                problems.append(
                    f"{where}: {name} changes from {_show(old)} to {_show(new)}, which replaces the "
                    f"resource. Instead, {MIGRATION[before['Type']]}."
                )
    for logical_id, after in current.items():
        if logical_id not in recorded:
            problems.append(
                f"{stage}/{logical_id} ({after['Type']}, {after['Path']}) is a new stateful resource "
                f"(or a renamed one: {RENAME_ADVICE}); when it is meant to be new, record it with "
                f"`{UPDATE_COMMAND}`."
            )
    return problems


def load_recorded(path: Path = SNAPSHOT_FILE) -> dict[str, Snapshot]:
    recorded: dict[str, Snapshot] = json.loads(path.read_text())
    return recorded


def current_snapshots(stacks: Mapping[str, SynthesizedStack]) -> dict[str, Snapshot]:
    """Every stage's snapshot (Dev, Qa, Prod) from the synthesized app's stacks."""
    return {
        name.split("/")[0]: stateful_snapshot(stack.template)
        for name, stack in stacks.items()
        if name.endswith("/UsersService")
    }


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print(f"usage: {UPDATE_COMMAND}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as outdir:
        stacks = synthesize_app(Path(outdir)).stacks
    SNAPSHOT_FILE.write_text(json.dumps(current_snapshots(stacks), indent=2, sort_keys=True) + "\n")
    print(f"recorded {SNAPSHOT_FILE.name}; review the diff before committing it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
