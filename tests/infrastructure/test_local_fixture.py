"""The local run's fixture template is the synthesized dev stack, reduced (tests/local_fixture.py)."""

from __future__ import annotations

import copy
import json

from service.contract import load_contract
from tests.assembly import SynthesizedStack
from tests.local_fixture import FIXTURE_TEMPLATE, UPDATE_COMMAND, reduce, render


def drift(recorded: str, current: str) -> str | None:
    """None when the fixture is current, else what to run."""
    if recorded == current:
        return None
    return f"{FIXTURE_TEMPLATE.name} differs from the synthesized dev stack: regenerate it with `{UPDATE_COMMAND}`"


def test_the_fixture_is_the_synthesized_dev_stack_reduced(synthesized_templates: dict[str, SynthesizedStack]) -> None:
    current = render(reduce(synthesized_templates["Dev/UsersService"].template))
    assert drift(FIXTURE_TEMPLATE.read_text(), current) is None


def test_the_fixture_keeps_what_the_local_stack_reads(synthesized_templates: dict[str, SynthesizedStack]) -> None:
    reduced = reduce(synthesized_templates["Dev/UsersService"].template)["Resources"]
    types = sorted(resource["Type"] for resource in reduced.values())
    # One function per operation, and the log bucket's auto-delete provider (dev only).
    functions = len(load_contract().operations) + 1
    # One table per role of the contract.
    tables = len(load_contract().tables)
    expected = ["AWS::ApiGatewayV2::Api"] + ["AWS::DynamoDB::Table"] * tables + ["AWS::Lambda::Function"] * functions
    assert types == expected
    api = next(resource for resource in reduced.values() if resource["Type"] == "AWS::ApiGatewayV2::Api")
    assert api["Properties"]["CorsConfiguration"]["MaxAge"] == 3600
    assert not any("aws:asset:path" in resource.get("Metadata", {}) for resource in reduced.values())


def test_a_changed_setting_is_reported_with_the_command_that_regenerates_it(
    synthesized_templates: dict[str, SynthesizedStack],
) -> None:
    template = copy.deepcopy(synthesized_templates["Dev/UsersService"].template)
    current = render(reduce(template))
    function = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    function["Properties"]["MemorySize"] = 1024
    planted = render(reduce(template))
    message = drift(current, planted)
    assert message is not None
    assert UPDATE_COMMAND in message
    assert json.loads(planted) != json.loads(current)
