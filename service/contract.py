"""The users API as declared once in lambda/service-contract.json.

The handlers' tests and the local server read the same file, so routes, scopes, key schema and
each function's DynamoDB actions cannot drift between the code and the infrastructure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"
CONTRACT_FILE = LAMBDA_ROOT / "service-contract.json"


@dataclass(frozen=True)
class Operation:
    name: str  # e.g. createUser
    method: str  # HTTP method
    path: str  # e.g. /users/{userId}
    entry: Path  # the handler's TypeScript module
    scope: str  # OAuth scope a caller's token must carry
    dynamodb_actions: tuple[str, ...]  # every DynamoDB action the handler calls, nothing more

    @property
    def construct_id(self) -> str:
        return self.name[0].upper() + self.name[1:]


@dataclass(frozen=True)
class ServiceContract:
    partition_key: str
    sort_key: str
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
            dynamodb_actions=tuple(item["dynamodbActions"]),
        )
        for item in document["operations"]
    )
    return ServiceContract(
        partition_key=document["table"]["partitionKey"],
        sort_key=document["table"]["sortKey"],
        read_scope=document["scopes"]["read"],
        write_scope=document["scopes"]["write"],
        operations=operations,
    )
