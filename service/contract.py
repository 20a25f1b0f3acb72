"""The users API as declared once in lambda/service-contract.json.

The handlers' tests and the local server read the same file, so routes, scopes, key schema and
each function's DynamoDB actions (per table) cannot drift between the code and the infrastructure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

TableRole = Literal["users", "emails", "idempotency"]
TABLE_ROLES: tuple[TableRole, ...] = get_args(TableRole)

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"
CONTRACT_FILE = LAMBDA_ROOT / "service-contract.json"


@dataclass(frozen=True)
class Operation:
    name: str  # e.g. createUser
    method: str  # HTTP method
    path: str  # e.g. /users/{userId}
    entry: Path  # the handler's TypeScript module
    scope: str  # OAuth scope a caller's token must carry
    # Per table role, every DynamoDB action the handler calls on that table, nothing more.
    dynamodb_actions: dict[TableRole, tuple[str, ...]]
    # A request that reads at most, and the status a healthy version answers it with: what the
    # pre-traffic hook sends a new version before it takes traffic.
    probe: dict[str, Any]

    @property
    def construct_id(self) -> str:
        return self.name[0].upper() + self.name[1:]


@dataclass(frozen=True)
class TableDefinition:
    partition_key: str
    sort_key: str | None
    time_to_live_attribute: str | None
    environment_variable: str  # tells a function the table's name


@dataclass(frozen=True)
class ServiceContract:
    tables: dict[TableRole, TableDefinition]
    read_scope: str
    write_scope: str
    operations: tuple[Operation, ...]


@cache
def load_contract(path: Path = CONTRACT_FILE) -> ServiceContract:
    document = json.loads(path.read_text(encoding="utf-8"))
    operations = tuple(
        Operation(
            name=item["name"],
            method=item["method"],
            path=item["path"],
            entry=path.parent / item["entry"],
            scope=item["scope"],
            probe={"method": item["method"], "path": item["path"], **item["probe"]},
            dynamodb_actions={
                role: tuple(item["dynamodbActions"][role]) for role in TABLE_ROLES if role in item["dynamodbActions"]
            },
        )
        for item in document["operations"]
    )
    return ServiceContract(
        tables={
            role: TableDefinition(
                partition_key=document["tables"][role]["partitionKey"],
                sort_key=document["tables"][role].get("sortKey"),
                time_to_live_attribute=document["tables"][role].get("timeToLiveAttribute"),
                environment_variable=document["tables"][role]["environmentVariable"],
            )
            for role in TABLE_ROLES
        },
        read_scope=document["scopes"]["read"],
        write_scope=document["scopes"]["write"],
        operations=operations,
    )
