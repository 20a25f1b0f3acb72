"""The DLQ alarms check of a deployed stage: nothing to do when no alarm names are configured."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any


def _cloudwatch(region: str | None) -> Any:
    boto3 = importlib.import_module("boto3")  # only the AWS mode needs it
    return boto3.client("cloudwatch", region_name=region)


def alarms_in_alarm(
    names: Sequence[str], region: str | None, client_factory: Callable[[str | None], Any] = _cloudwatch
) -> list[str]:
    """Names (of ``names``) whose alarm is in ALARM, plus "<name> (missing)" for any that does not exist."""
    if not names:
        return []
    response = client_factory(region).describe_alarms(AlarmNames=list(names))
    found = {alarm["AlarmName"]: alarm["StateValue"] for alarm in response.get("MetricAlarms", [])}
    problems = [f"{name} (missing)" for name in names if name not in found]
    problems += [name for name, state in found.items() if state == "ALARM"]
    return problems
