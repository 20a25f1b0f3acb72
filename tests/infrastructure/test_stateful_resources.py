"""No change replaces or removes a stage's table, user pool, user pool domain, log bucket or KMS key
by accident: their logical IDs and replacement-causing properties match the reviewed record."""

from __future__ import annotations

import dataclasses
import re

import pytest

import app as app_module
from config import StageName
from service.contract import load_contract
from stages.service_stage import ServiceStage
from tests.assembly import SynthesizedStack
from tests.conftest import shipped_context
from tests.stage_support import SKIP_BUNDLING, build_stage, template_of
from tests.stateful_resources import (
    STATEFUL_TYPES,
    UPDATE_COMMAND,
    Snapshot,
    compare,
    current_snapshots,
    load_recorded,
    replacement_properties,
    stateful_snapshot,
)


@pytest.fixture(scope="module")
def current(synthesized_templates: dict[str, SynthesizedStack]) -> dict[str, Snapshot]:
    return current_snapshots(synthesized_templates)


@pytest.fixture(scope="module")
def recorded() -> dict[str, Snapshot]:
    return load_recorded()


def test_no_stateful_resource_would_be_replaced_or_removed(
    current: dict[str, Snapshot], recorded: dict[str, Snapshot]
) -> None:
    assert set(current) == set(recorded), f"stages changed; record them with `{UPDATE_COMMAND}`"
    problems = [problem for stage in current for problem in compare(stage, recorded[stage], current[stage])]
    assert not problems, "\n".join(problems)


def test_the_record_covers_every_kind_of_stateful_resource(recorded: dict[str, Snapshot]) -> None:
    for stage, snapshot in recorded.items():
        types = {resource["Type"] for resource in snapshot.values()}
        for type_name in STATEFUL_TYPES:
            assert type_name in types, f"{stage} records no {type_name}"


def test_the_registry_and_the_documented_properties_are_both_watched() -> None:
    # From the registry schema cfn-lint ships:
    assert "TableName" in replacement_properties("AWS::DynamoDB::Table")
    assert {"Domain", "UserPoolId"} <= set(replacement_properties("AWS::Cognito::UserPoolDomain"))
    assert "BucketName" in replacement_properties("AWS::S3::Bucket")
    # Documented by AWS but marked updatable in the schema:
    assert "KeySchema" in replacement_properties("AWS::DynamoDB::Table")
    assert "UsernameAttributes" in replacement_properties("AWS::Cognito::UserPool")
    assert "KeySpec" in replacement_properties("AWS::KMS::Key")


def _dev_with(*, sort_key: str) -> Snapshot:
    contract = load_contract()
    users = dataclasses.replace(contract.tables["users"], sort_key=sort_key)
    contract = dataclasses.replace(contract, tables={**contract.tables, "users": users})
    return stateful_snapshot(template_of(build_stage(StageName.DEV, contract=contract)).to_json())


def test_a_planted_key_schema_change_fails_naming_the_property_and_the_migration(
    recorded: dict[str, Snapshot],
) -> None:
    problems = compare("Dev", recorded["Dev"], _dev_with(sort_key="createdAt"))
    # The sort key's name changes in the key schema and in the key attribute's definition.
    changed = sorted(re.search(r"\): (.+?) changes from", problem).group(1) for problem in problems)  # type: ignore[union-attr]
    assert changed == ["AttributeDefinitions (key attributes)", "KeySchema"], problems
    key_schema = next(problem for problem in problems if ": KeySchema changes from" in problem)
    assert key_schema.startswith("Dev/DatabaseTable")
    assert "(AWS::DynamoDB::Table, Dev/UsersService/Database/Table/Resource)" in key_schema
    assert '"createdAt"' in key_schema
    assert "create the new table beside the old one" in key_schema
    assert all("AWS::DynamoDB::Table" in problem for problem in problems)


def test_a_renamed_stateful_resource_is_reported_as_gone_and_new(recorded: dict[str, Snapshot]) -> None:
    current = dict(recorded["Dev"])
    (table_id,) = [
        logical_id for logical_id, resource in current.items() if resource["Path"].endswith("/Database/Table/Resource")
    ]
    current["RenamedTable"] = current.pop(table_id)
    problems = compare("Dev", recorded["Dev"], current)
    assert len(problems) == 2, problems
    assert f"Dev/{table_id}" in problems[0]
    assert "rename_logical_id" in problems[0]
    assert "Dev/RenamedTable" in problems[1]


def test_a_changed_domain_prefix_fails_naming_the_domain(recorded: dict[str, Snapshot]) -> None:
    current = {logical_id: dict(resource) for logical_id, resource in recorded["Dev"].items()}
    (domain_id,) = [
        logical_id for logical_id, resource in current.items() if resource["Type"] == "AWS::Cognito::UserPoolDomain"
    ]
    current[domain_id] = {
        **current[domain_id],
        "Properties": {**current[domain_id]["Properties"], "Domain": "users-service-other"},
    }
    (problem,) = compare("Dev", recorded["Dev"], current)
    assert "Domain changes from" in problem
    assert "Domain already associated with another user pool" in problem


def test_the_domain_prefix_is_unique_per_stage_and_account(synthesized_templates: dict[str, SynthesizedStack]) -> None:
    domains = {}
    for name in (StageName.DEV, StageName.QA, StageName.PROD):
        template = synthesized_templates[f"{name.construct_id}/UsersService"].template
        (domain,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Cognito::UserPoolDomain"]
        domains[name] = domain["Properties"]["Domain"]
    assert len(set(domains.values())) == 3
    for name, domain in domains.items():
        assert len(domain) <= 63
        assert name.value in domain


def test_a_sandbox_in_devs_account_gets_its_own_domain_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)

    built = app_module.build_app(app_module.new_app(context={**shipped_context(), **SKIP_BUNDLING, "sandbox": "true"}))
    prefixes = {}
    for stage_id in ("Dev", "Sandbox"):
        stage = built.node.find_child(stage_id)
        assert isinstance(stage, ServiceStage)
        assert stage.config.environment.account == "222222222222"
        (domain,) = template_of(stage).find_resources("AWS::Cognito::UserPoolDomain").values()
        prefixes[stage_id] = domain["Properties"]["Domain"]
    assert prefixes == {"Dev": "users-service-dev-222222222222", "Sandbox": "users-service-sandbox-222222222222"}
