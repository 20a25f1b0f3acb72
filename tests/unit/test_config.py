from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, StageName
from config.model import PROMOTION_ORDER
from tests.conftest import config_from


def test_each_stage_maps_to_its_own_account_and_region(context: dict[str, Any]) -> None:
    context["toolchain"]["account"] = "999999999999"
    for index, name in enumerate(("dev", "qa", "prod")):
        context["stages"][name]["account"] = f"10000000000{index}"

    config = config_from(context)

    assert [stage.name for stage in config.stages] == list(PROMOTION_ORDER)
    assert config.stage(StageName.DEV).environment.account == "100000000000"
    assert config.stage(StageName.QA).environment.account == "100000000001"
    assert config.stage(StageName.PROD).environment.account == "100000000002"
    assert all(stage.environment.account != config.toolchain.account for stage in config.stages)
    assert all(stage.environment.region == "us-east-1" for stage in config.stages)


def test_dotted_context_overrides_a_nested_value(context: dict[str, Any]) -> None:
    context["stages.qa.account"] = "123456789012"
    context["stages.dev.corsAllowedOrigins"] = "https://a.example, https://b.example"

    config = config_from(context)

    assert config.stage(StageName.QA).environment.account == "123456789012"
    assert config.stage(StageName.DEV).cors_allowed_origins == ("https://a.example", "https://b.example")


def test_environment_tags_follow_the_stage() -> None:
    assert StageName.PROD.environment_tag == "Production"
    assert StageName.QA.environment_tag == "QA"
    assert StageName.DEV.environment_tag == "Development"


def test_prod_retains_data_and_dev_does_not(app_config) -> None:
    assert app_config.stage(StageName.PROD).retain_data is True
    assert app_config.stage(StageName.DEV).retain_data is False


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("stages.dev.account", "12345", "12345"),
        ("stages.prod.account", "12345678901x", "12345678901x"),
        ("toolchain.account", "", "is required"),
        ("stages.qa.region", "us-middle-7", "not a known AWS region"),
        ("stages.qa.region", "eu-west-1", "CloudFront only accepts a WAF web ACL created in us-east-1"),
        ("toolchain.region", "mars-1", "mars-1"),
        ("stages.dev.logRetentionDays", 31, "CloudWatch Logs only accepts"),
        ("stages.dev.removalPolicy", "snapshot", "must be one of retain, destroy"),
        ("stages.dev.corsAllowedOrigins", "*", "wildcard"),
        ("stages.dev.corsAllowedOrigins", "http://example.com", "https://"),
        ("stages.dev.corsAllowedOrigins", "https://example.com/app", "no path"),
        ("stages.dev.alarmEmail", "not-an-email", "not-an-email"),
        ("stages.dev.throttle.rateLimit", 0, "between 1 and"),
        ("source.connectionArn", "arn:aws:iam::123:role/x", "source.connectionArn"),
        ("stages.dev.auth.issuerUrl", "http://issuer.example", "https://"),
        ("stages.dev.customDomain.domainName", "api.example.com", "needs both"),
        ("stages.prod.deployment.strategy", "CANARY_10PERCENT_5MINUTE", "CANARY_10PERCENT_5MINUTE"),
        ("stages.prod.deployment.strategy", "CodeDeployDefault.LambdaAllAtOnce", "must be one of ALL_AT_ONCE"),
        ("stages.qa.deployment.bakeMinutes", -1, "between 0 and 1440"),
        ("stages.prod.canary.enabled", "sometimes", "must be true or false"),
        ("stages.qa.canary.scheduleMinutes", 0, "between 1 and 60"),
    ],
)
def test_a_bad_value_fails_naming_the_key_and_the_value(
    context: dict[str, Any], key: str, value: object, fragment: str
) -> None:
    context[key] = value

    with pytest.raises(ConfigError) as error:
        config_from(context)

    message = str(error.value)
    assert key in message or error.value.key.startswith(key.rsplit(".", 1)[0])
    assert fragment in message


def test_a_missing_stage_fails_naming_it(context: dict[str, Any]) -> None:
    del context["stages"]["qa"]

    with pytest.raises(ConfigError, match=r"stages\.qa"):
        config_from(context)


def test_external_issuer_replaces_the_user_pool(context: dict[str, Any]) -> None:
    context["stages"]["dev"]["auth"] = {"issuerUrl": "https://login.example.com/", "audience": ["users-api"]}

    stage = config_from(context).stage(StageName.DEV)

    assert stage.external_auth is not None
    assert stage.external_auth.issuer_url == "https://login.example.com/"
    assert stage.external_auth.audience == ("users-api",)


def test_api_clients_are_read_from_config(context: dict[str, Any]) -> None:
    context["stages"]["qa"]["auth"] = {
        "clients": [
            {"name": "back-office", "scopes": ["users/read"]},
            {
                "name": "admin-console",
                "scopes": ["users/read", "users/write"],
                "callbackUrls": ["https://a.example/cb"],
            },
        ]
    }

    clients = config_from(context).stage(StageName.QA).api_clients

    assert [(client.name, client.scopes, client.callback_urls) for client in clients] == [
        ("back-office", ("users/read",), ()),
        ("admin-console", ("users/read", "users/write"), ("https://a.example/cb",)),
    ]
    assert config_from(context).stage(StageName.DEV).api_clients == ()


@pytest.mark.parametrize(
    ("clients", "key", "fragment"),
    [
        ([{"name": "Bad Name", "scopes": ["users/read"]}], "stages.dev.auth.clients[0].name", "must match"),
        ([{"name": "a1", "scopes": []}], "stages.dev.auth.clients[0].scopes", "non-empty"),
        ([{"name": "a1", "scopes": ["read"]}], "stages.dev.auth.clients[0].scopes", "resource-server/name"),
        (
            [{"name": "a1", "scopes": ["users/read"], "callbackUrls": ["http://app.example/cb"]}],
            "stages.dev.auth.clients[0].callbackUrls",
            "https://",
        ),
        (
            [{"name": "a1", "scopes": ["users/read"]}, {"name": "a1", "scopes": ["users/read"]}],
            "stages.dev.auth.clients[1].name",
            "another client",
        ),
        ([{"name": "a1", "scopes": ["users/read"], "grant": "x"}], "stages.dev.auth.clients[0].grant", "not a client"),
        ('[{"name": ', "stages.dev.auth.clients", "JSON list"),
    ],
)
def test_a_bad_api_client_fails_naming_the_key_and_the_value(
    context: dict[str, Any], clients: object, key: str, fragment: str
) -> None:
    context["stages.dev.auth.clients"] = clients

    with pytest.raises(ConfigError) as error:
        config_from(context)

    assert error.value.key == key
    assert fragment in str(error.value)


def test_an_external_issuer_takes_its_clients_as_audiences(context: dict[str, Any]) -> None:
    context["stages"]["dev"]["auth"] = {
        "issuerUrl": "https://login.example.com/",
        "audience": ["users-api"],
        "clients": [{"name": "a1", "scopes": ["users/read"]}],
    }

    with pytest.raises(ConfigError, match=r"stages\.dev\.auth\.clients.*auth\.audience"):
        config_from(context)
