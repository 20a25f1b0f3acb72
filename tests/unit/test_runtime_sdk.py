"""The functions bundle no AWS SDK (the runtime provides it), so the SDK the handler tests ran on
must not be newer than the one the runtime ships: lambda/runtime-sdk.json records that version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.functions import bundling_options
from tests.conftest import PROJECT_ROOT

RECORD = json.loads((PROJECT_ROOT / "lambda/runtime-sdk.json").read_text())


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def sdk_drift(package_json: dict[str, Any], lock: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """What keeps the tested SDK from being the runtime's: a range instead of an exact pin, a lock
    file that disagrees with package.json, or a version past the runtime's."""
    problems = []
    for package in record["packages"]:
        declared = package_json["dependencies"].get(package, "")
        locked = lock["packages"][f"node_modules/{package}"]["version"]
        if not declared[:1].isdigit():
            problems.append(f"package.json pins {package} to {declared!r}, not an exact version")
        elif declared != locked:
            problems.append(f"package-lock.json has {package} {locked}, package.json {declared}")
        if _version(locked) > _version(record["runtimeVersion"]):
            problems.append(
                f"{package} {locked} is newer than the {record['runtimeVersion']} that {record['runtime']} "
                "ships (lambda/runtime-sdk.json): the tests would pass on an SDK production does not run"
            )
    return problems


def _shipped() -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        json.loads((PROJECT_ROOT / "package.json").read_text()),
        json.loads((PROJECT_ROOT / "package-lock.json").read_text()),
    )


def test_the_tested_sdk_is_the_runtimes() -> None:
    package_json, lock = _shipped()
    assert sdk_drift(package_json, lock, RECORD) == []


def test_the_sdk_stays_external_to_the_bundles() -> None:
    assert bundling_options().external_modules == ["@aws-sdk/*"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda p, lock: (
                p["dependencies"].update({"@aws-sdk/lib-dynamodb": "3.9999.0"}),
                lock["packages"]["node_modules/@aws-sdk/lib-dynamodb"].update(version="3.9999.0"),
            ),
            "newer",
        ),
        (lambda p, lock: p["dependencies"].update({"@aws-sdk/client-dynamodb": "^3.1169.0"}), "not an exact"),
        (lambda p, lock: p["dependencies"].update({"@aws-sdk/client-dynamodb": "3.1100.0"}), "package-lock.json has"),
    ],
)
def test_a_drifted_sdk_fails(edit: Any, expected: str) -> None:
    package_json, lock = _shipped()
    edit(package_json, lock)
    problems = sdk_drift(package_json, lock, RECORD)
    assert len(problems) == 1
    assert expected in problems[0]
