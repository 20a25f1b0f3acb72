"""The CDK app (service/contract.py) and the TypeScript side (lambda/src/contract.ts) read the one
lambda/service-contract.json through loaders of their own; this proves they read the same thing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from service.auth import resource_server_scopes
from service.contract import CONTRACT_FILE, LAMBDA_ROOT, load_contract

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PRINT_CONTRACT = "import('./lambda/src/contract.ts').then((m) => process.stdout.write(JSON.stringify(m.contract)))"


def _typescript_contract() -> dict[str, Any]:
    env = {**os.environ, "PATH": f"{PROJECT_ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["node", "--input-type=module", "-e", PRINT_CONTRACT],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_both_loaders_read_the_same_contract() -> None:
    python = load_contract()
    typescript = _typescript_contract()

    assert typescript["tables"] == {
        role: {
            "partitionKey": table.partition_key,
            **({"sortKey": table.sort_key} if table.sort_key else {}),
            **({"timeToLiveAttribute": table.time_to_live_attribute} if table.time_to_live_attribute else {}),
            "environmentVariable": table.environment_variable,
        }
        for role, table in python.tables.items()
    }
    assert typescript["scopes"] == {"read": python.read_scope, "write": python.write_scope}
    assert [
        (
            item["name"],
            item["method"],
            item["path"],
            item["routeKey"],
            LAMBDA_ROOT / item["entry"],
            item["scope"],
            {role: tuple(actions) for role, actions in item["dynamodbActions"].items()},
        )
        for item in typescript["operations"]
    ] == [
        (op.name, op.method, op.path, f"{op.method} {op.path}", op.entry, op.scope, op.dynamodb_actions)
        for op in python.operations
    ]
    # Nothing in the file escapes both: every operation of the document is in both loaders.
    document = json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))
    assert len(python.operations) == len(typescript["operations"]) == len(document["operations"])


def test_the_resource_server_comes_from_the_contracts_scopes() -> None:
    contract = load_contract()
    assert resource_server_scopes(contract.read_scope, contract.write_scope) == ("users", "read", "write")
    assert resource_server_scopes("people/list", "people/edit") == ("people", "list", "edit")


@pytest.mark.parametrize(
    ("read", "write"), [("users/read", "staff/write"), ("read", "users/write"), ("users/", "users/w")]
)
def test_scopes_that_name_no_single_resource_server_are_refused(read: str, write: str) -> None:
    with pytest.raises(ValueError, match=f"not {read!r} and {write!r}"):
        resource_server_scopes(read, write)
