"""schemathesis fuzzes the local stack with docs/openapi.json: every operation, its examples and
stateful sequences, bounded by a fixed seed and example count so a run is repeatable and short.
The checks are the document's promises: no 5xx, only documented status codes, content types and
headers, and bodies that match their schemas."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_local_e2e import REPO, LocalStack, start_stack

DOCUMENT = REPO / "docs/openapi.json"
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = 20
SEED = 1


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = start_stack(tmp_path_factory.mktemp("fuzzed-stack"))
    yield running
    running.kill()


def fuzz(stack: LocalStack, document: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            str(document),
            "--url",
            stack.url,
            "--header",
            f"Authorization: Bearer {stack.token()}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--no-color",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_planted_contract_violation_fails_the_run(stack: LocalStack, tmp_path: Path) -> None:
    # The document promises a field the API never returns: every user response breaks it.
    planted: dict[str, Any] = copy.deepcopy(json.loads(DOCUMENT.read_text()))
    user = planted["components"]["schemas"]["User"]
    user["properties"]["nickname"] = {"type": "string"}
    user["required"].append("nickname")
    broken = tmp_path / "openapi.json"
    broken.write_text(json.dumps(planted))
    result = fuzz(stack, broken)
    assert result.returncode != 0, result.stdout
    assert "Response violates schema" in result.stdout, result.stdout[-3000:]


def test_the_api_keeps_every_promise_of_its_document(stack: LocalStack) -> None:
    result = fuzz(stack, DOCUMENT)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "6/6" in result.stdout, result.stdout[-3000:]
    assert " failures" not in result.stdout.splitlines()[-1], result.stdout[-3000:]
