from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from config import ConfigError, StageName
from service.contract import load_contract
from service.functions import RUNTIME
from tests.assembly import SynthesizedStack
from tests.conftest import config_from, shipped_context
from tests.stage_support import build_stage, template_of

CONTRACT = load_contract()


@pytest.fixture(scope="module")
def dev(synthesized_templates: dict[str, SynthesizedStack]) -> Template:
    return Template.from_json(synthesized_templates["Dev/UsersService"].template)


@pytest.fixture(scope="module")
def prod(synthesized_templates: dict[str, SynthesizedStack]) -> Template:
    return Template.from_json(synthesized_templates["Prod/UsersService"].template)


def resources(template: Template, type_name: str) -> dict[str, dict[str, Any]]:
    return {logical_id: dict(resource) for logical_id, resource in template.find_resources(type_name).items()}


def logical_id_of(template: Template, type_name: str, path_fragment: str) -> str:
    matches = [
        logical_id
        for logical_id, resource in resources(template, type_name).items()
        if path_fragment in resource.get("Metadata", {}).get("aws:cdk:path", "")
    ]
    assert len(matches) == 1, f"expected one {type_name} under {path_fragment}, found {matches}"
    return matches[0]


# --- DynamoDB ---------------------------------------------------------------------------------


def _table_at(template: Template, path_fragment: str) -> dict[str, Any]:
    table: dict[str, Any] = resources(template, "AWS::DynamoDB::Table")[
        logical_id_of(template, "AWS::DynamoDB::Table", path_fragment)
    ]
    return table


def test_the_service_has_its_users_their_email_claims_and_idempotency_records(dev: Template) -> None:
    dev.resource_count_is("AWS::DynamoDB::Table", 3)
    keys = {
        "/Database/Table/": [("userId", "HASH"), ("createdDate", "RANGE")],
        "/Database/Emails/": [("email", "HASH")],
        "/Idempotency/Table/": [("id", "HASH")],
    }
    for path, key in keys.items():
        properties = _table_at(dev, path)["Properties"]
        assert [(k["AttributeName"], k["KeyType"]) for k in properties["KeySchema"]] == key, path
        assert properties["AttributeDefinitions"] == [{"AttributeName": name, "AttributeType": "S"} for name, _ in key]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True}
    # Expired idempotency records go by themselves; users and claims never expire.
    assert _table_at(dev, "/Idempotency/Table/")["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }
    assert "TimeToLiveSpecification" not in _table_at(dev, "/Database/Table/")["Properties"]
    assert "TimeToLiveSpecification" not in _table_at(dev, "/Database/Emails/")["Properties"]


def test_prod_keeps_users_and_claims_alike_and_idempotency_records_never(dev: Template, prod: Template) -> None:
    for path in ("/Database/Table/", "/Database/Emails/"):
        table = _table_at(prod, path)
        assert table["DeletionPolicy"] == "Retain", path
        assert table["Properties"]["DeletionProtectionEnabled"] is True, path
        assert _table_at(dev, path)["DeletionPolicy"] == "Delete", path
        assert _table_at(dev, path)["Properties"].get("DeletionProtectionEnabled", False) is False, path
    for template in (dev, prod):
        records = _table_at(template, "/Idempotency/Table/")
        assert records["DeletionPolicy"] == "Delete"
        assert records["Properties"].get("DeletionProtectionEnabled", False) is False


def test_a_function_is_told_only_the_tables_it_uses(dev: Template) -> None:
    for operation in CONTRACT.operations:
        function_id = logical_id_of(dev, "AWS::Lambda::Function", f"/Functions/{operation.construct_id}/Function/")
        variables = resources(dev, "AWS::Lambda::Function")[function_id]["Properties"]["Environment"]["Variables"]
        told = {name for name, value in variables.items() if isinstance(value, dict)}
        assert told == {CONTRACT.tables[role].environment_variable for role in operation.dynamodb_actions}


# --- Lambda -----------------------------------------------------------------------------------


def test_runtime_is_the_newest_nodejs_the_installed_cdk_offers() -> None:
    def version(name: str) -> int:
        return int(re.fullmatch(r"NODEJS_(\d+)_X", name).group(1))  # type: ignore[union-attr]

    newest = max((name for name in dir(lambda_.Runtime) if re.fullmatch(r"NODEJS_\d+_X", name)), key=version)
    assert RUNTIME.name == getattr(lambda_.Runtime, newest).name


def service_functions(template: Template) -> dict[str, dict[str, Any]]:
    """The operations' functions, without CDK's custom-resource handlers (the log bucket's
    auto-delete provider in stages that tear down)."""
    return {
        logical_id: function
        for logical_id, function in resources(template, "AWS::Lambda::Function").items()
        if "/Functions/" in function["Metadata"]["aws:cdk:path"]
    }


def hook_functions(template: Template) -> dict[str, dict[str, Any]]:
    """The pre-traffic hooks, one per operation (service/deployment.py)."""
    return {
        logical_id: function
        for logical_id, function in resources(template, "AWS::Lambda::Function").items()
        if "/Deployments/" in function["Metadata"]["aws:cdk:path"]
    }


def test_only_the_hooks_and_cdks_auto_delete_provider_add_a_function(dev: Template, prod: Template) -> None:
    assert len(hook_functions(dev)) == len(CONTRACT.operations)
    extra = set(resources(dev, "AWS::Lambda::Function")) - set(service_functions(dev)) - set(hook_functions(dev))
    assert len(extra) == 1
    assert "AutoDeleteObjects" in next(iter(extra))
    assert set(resources(prod, "AWS::Lambda::Function")) == set(service_functions(prod)) | set(hook_functions(prod))


def test_one_function_per_operation_with_the_required_settings(dev: Template) -> None:
    functions = service_functions(dev)
    assert len(functions) == len(CONTRACT.operations) == 6
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Runtime"] == RUNTIME.name
        assert properties["Timeout"] == 30
        assert properties["Architectures"] == ["arm64"]
        assert properties["MemorySize"] > 128
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert "TargetArn" in properties["DeadLetterConfig"]
        assert properties["Handler"] == "index.handler"
        assert "TABLE_NAME" in properties["Environment"]["Variables"]
        assert "LogGroup" in properties["LoggingConfig"]


def test_each_function_has_its_own_role_and_dead_letter_queue(dev: Template) -> None:
    functions = service_functions(dev).values()
    roles = {function["Properties"]["Role"]["Fn::GetAtt"][0] for function in functions}
    queues = {function["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0] for function in functions}
    assert len(roles) == len(queues) == len(CONTRACT.operations)


def test_dead_letter_queues_are_encrypted_tls_only_with_14_day_retention(dev: Template) -> None:
    queues = resources(dev, "AWS::SQS::Queue")
    assert len(queues) == 2 * len(CONTRACT.operations)  # a function's and its hook's
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    for policy in resources(dev, "AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )


def test_log_groups_have_retention(dev: Template) -> None:
    groups = resources(dev, "AWS::Logs::LogGroup")
    # One per function and per hook, one for API access logs.
    assert len(groups) == 2 * len(CONTRACT.operations) + 1
    assert all(group["Properties"]["RetentionInDays"] == 30 for group in groups.values())


# --- IAM: least privilege -----------------------------------------------------------------------


def _statements_of_role(template: Template, role_logical_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


@pytest.mark.parametrize("operation", CONTRACT.operations, ids=lambda operation: operation.name)
def test_function_role_holds_exactly_what_its_handler_needs(dev: Template, operation) -> None:
    role_id = logical_id_of(dev, "AWS::IAM::Role", f"/Functions/{operation.construct_id}/Role/")
    table_ids = {
        "users": logical_id_of(dev, "AWS::DynamoDB::Table", "/Database/Table/"),
        "emails": logical_id_of(dev, "AWS::DynamoDB::Table", "/Database/Emails/"),
        "idempotency": logical_id_of(dev, "AWS::DynamoDB::Table", "/Idempotency/Table/"),
    }
    queue_id = logical_id_of(dev, "AWS::SQS::Queue", f"/Functions/{operation.construct_id}/DeadLetterQueue/")
    log_group_id = logical_id_of(dev, "AWS::Logs::LogGroup", f"/Functions/{operation.construct_id}/Logs/")

    role = resources(dev, "AWS::IAM::Role")[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]

    # CDK merges statements that grant the same actions (one statement, several resources).
    granted = {
        (action, repr(resource))
        for statement in _statements_of_role(dev, role_id)
        for action in _actions(statement)
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    }
    expected = {
        (action, repr({"Fn::GetAtt": [table_ids[role], "Arn"]}))
        for role, actions in operation.dynamodb_actions.items()
        for action in actions
    }
    expected |= {
        ("logs:CreateLogStream", repr({"Fn::GetAtt": [log_group_id, "Arn"]})),
        ("logs:PutLogEvents", repr({"Fn::GetAtt": [log_group_id, "Arn"]})),
        ("sqs:SendMessage", repr({"Fn::GetAtt": [queue_id, "Arn"]})),
        ("xray:PutTraceSegments", repr("*")),
        ("xray:PutTelemetryRecords", repr("*")),
    }
    assert granted == expected


def test_no_policy_uses_a_wildcard_action(dev: Template) -> None:
    for policy in resources(dev, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in _actions(statement):
                assert "*" not in action, f"wildcard action {action}"


def test_only_xray_statements_use_a_wildcard_resource(dev: Template) -> None:
    for policy in resources(dev, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Resource"] == "*":
                assert all(action.startswith("xray:") for action in _actions(statement))


# --- HTTP API -----------------------------------------------------------------------------------


def test_every_contract_route_exists_behind_the_jwt_authorizer_with_its_scope(dev: Template) -> None:
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in resources(dev, "AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {f"{operation.method} {operation.path}" for operation in CONTRACT.operations}
    assert set(routes) == {
        "POST /users",
        "GET /users",
        "GET /users/{userId}",
        "PUT /users/{userId}",
        "PATCH /users/{userId}",
        "DELETE /users/{userId}",
    }
    for operation in CONTRACT.operations:
        route = routes[f"{operation.method} {operation.path}"]
        assert route["AuthorizationType"] == "JWT"
        assert route["AuthorizationScopes"] == [operation.scope]
    reads = {op.scope for op in CONTRACT.operations if op.method == "GET"}
    writes = {op.scope for op in CONTRACT.operations if op.method != "GET"}
    assert reads == {"users/read"}
    assert writes == {"users/write"}


def test_jwt_authorizer_trusts_the_stage_user_pool_client(dev: Template) -> None:
    dev.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {
                "Audience": [{"Ref": Match.string_like_regexp("MachineClient")}],
                "Issuer": Match.any_value(),
            },
        },
    )


def test_user_pool_has_machine_client_with_client_credentials_and_both_scopes(dev: Template) -> None:
    dev.has_resource_properties(
        "AWS::Cognito::UserPoolResourceServer",
        {
            "Identifier": "users",
            "Scopes": [
                {"ScopeName": "read", "ScopeDescription": Match.any_value()},
                {"ScopeName": "write", "ScopeDescription": Match.any_value()},
            ],
        },
    )
    dev.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "AllowedOAuthFlows": ["client_credentials"],
            "GenerateSecret": True,
            "AllowedOAuthScopes": [
                {"Fn::Join": ["", [{"Ref": Match.string_like_regexp("ResourceServer")}, "/read"]]},
                {"Fn::Join": ["", [{"Ref": Match.string_like_regexp("ResourceServer")}, "/write"]]},
            ],
        },
    )
    dev.has_resource_properties("AWS::Cognito::UserPool", {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}})


def _scopes(client: dict[str, Any]) -> set[str]:
    """Scopes as text; the resource server's identifier is a reference to the `users` server."""
    return {
        "".join(part if isinstance(part, str) else "users" for part in scope["Fn::Join"][1])
        if isinstance(scope, dict)
        else scope
        for scope in client["Properties"]["AllowedOAuthScopes"]
    }


def test_a_configured_client_is_accepted_by_the_authorizer_with_its_scopes() -> None:
    clients = [
        {"name": "back-office", "scopes": ["users/read"]},
        {"name": "admin-console", "scopes": ["users/write"], "callbackUrls": ["https://admin.example/cb"]},
    ]
    template = template_of(build_stage(StageName.DEV, {"stages.dev.auth.clients": clients}))
    app_clients = resources(template, "AWS::Cognito::UserPoolClient")
    by_name = {
        client["Properties"].get("ClientName"): (logical_id, client) for logical_id, client in app_clients.items()
    }
    back_office_id, back_office = by_name["back-office"]
    assert back_office["Properties"]["GenerateSecret"] is True
    assert back_office["Properties"]["AllowedOAuthFlows"] == ["client_credentials"]
    assert _scopes(back_office) == {"users/read"}
    console_id, console = by_name["admin-console"]
    assert console["Properties"]["GenerateSecret"] is False
    assert console["Properties"]["AllowedOAuthFlows"] == ["code"]
    assert console["Properties"]["CallbackURLs"] == ["https://admin.example/cb"]
    assert _scopes(console) == {"openid", "users/write"}
    (authorizer,) = resources(template, "AWS::ApiGatewayV2::Authorizer").values()
    audience = authorizer["Properties"]["JwtConfiguration"]["Audience"]
    assert {"Ref": back_office_id} in audience
    assert {"Ref": console_id} in audience
    assert len(audience) == 3  # and the smoke tests' machine client


def test_a_client_scope_the_api_does_not_grant_fails_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"stages\.dev\.auth\.clients\[0\]\.scopes='users/admin'"):
        build_stage(StageName.DEV, {"stages.dev.auth.clients": [{"name": "x1", "scopes": ["users/admin"]}]})


def test_external_issuer_replaces_the_user_pool() -> None:
    stage = build_stage(
        StageName.DEV,
        {"stages.dev.auth.issuerUrl": "https://login.example.com/", "stages.dev.auth.audience": "users-api"},
    )
    template = template_of(stage)
    template.resource_count_is("AWS::Cognito::UserPool", 0)
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"JwtConfiguration": {"Issuer": "https://login.example.com/", "Audience": ["users-api"]}},
    )


def test_cors_comes_from_config_without_credentials(dev: Template, prod: Template) -> None:
    dev.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "ProtocolType": "HTTP",
            "CorsConfiguration": {
                "AllowOrigins": ["http://localhost:5173", "https://dev.users.example.com"],
                "AllowMethods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                "AllowHeaders": ["authorization", "content-type", "idempotency-key", "if-match", "if-none-match"],
                "ExposeHeaders": ["etag", "location", "retry-after"],
                "AllowCredentials": False,
                "MaxAge": 3600,
            },
        },
    )
    prod.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"CorsConfiguration": Match.object_like({"AllowOrigins": ["https://users.example.com"]})},
    )


def test_default_stage_has_json_access_logs_and_throttling(dev: Template) -> None:
    stages = list(resources(dev, "AWS::ApiGatewayV2::Stage").values())
    assert len(stages) == 1
    stage = stages[0]["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}
    fields = json.loads(stage["AccessLogSettings"]["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["status"] == "$context.status"
    assert fields["routeKey"] == "$context.routeKey"
    # No field logs the raw path (it can hold e-mail addresses); the route key names the route.
    assert not any("$context.path" in value or "resourcePath" in value for value in fields.values())
    access_log_group = logical_id_of(dev, "AWS::Logs::LogGroup", "/Api/AccessLogs/")
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": [access_log_group, "Arn"]}


# --- S3 log bucket and CloudFront ---------------------------------------------------------------


def test_prod_keeps_its_log_bucket_and_keys_and_dev_tears_them_down(dev: Template, prod: Template) -> None:
    # The log bucket, and the synthetic client's artifacts bucket (qa and prod only).
    prod_buckets = resources(prod, "AWS::S3::Bucket").values()
    assert len(prod_buckets) == 2
    for prod_bucket in prod_buckets:
        assert prod_bucket["DeletionPolicy"] == prod_bucket["UpdateReplacePolicy"] == "Retain"
    prod.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    for key in resources(prod, "AWS::KMS::Key").values():
        assert key["DeletionPolicy"] == "Retain"

    (dev_bucket_id,) = resources(dev, "AWS::S3::Bucket")
    assert resources(dev, "AWS::S3::Bucket")[dev_bucket_id]["DeletionPolicy"] == "Delete"
    # CloudFormation cannot delete a bucket that still holds objects: the auto-delete resource
    # empties it (every version) first.
    dev.has_resource_properties("Custom::S3AutoDeleteObjects", {"BucketName": {"Ref": dev_bucket_id}})
    keys = resources(dev, "AWS::KMS::Key")
    assert keys
    for key in keys.values():
        assert key["DeletionPolicy"] == "Delete"
        assert key["Properties"]["PendingWindowInDays"] == 7


def test_log_bucket_is_versioned_encrypted_private_and_tls_only(dev: Template) -> None:
    dev.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]},
                    "LifecycleConfiguration": {
                        "Rules": [
                            Match.object_like(
                                {"ExpirationInDays": 365, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
                            )
                        ]
                    },
                }
            ),
        },
    )
    dev.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_cloudfront_fronts_the_api_https_only_uncached_logged_and_firewalled(dev: Template) -> None:
    api_id = logical_id_of(dev, "AWS::ApiGatewayV2::Api", "/Api/HttpApi/")
    distribution = next(iter(resources(dev, "AWS::CloudFront::Distribution").values()))["Properties"][
        "DistributionConfig"
    ]
    origin = distribution["Origins"][0]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    domain = origin["DomainName"]["Fn::Select"]
    assert domain[0] == 2
    assert domain[1]["Fn::Split"][0] == "/"
    assert domain[1]["Fn::Split"][1]["Fn::GetAtt"] == [api_id, "ApiEndpoint"]
    behavior = distribution["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["AllowedMethods"] == ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
    assert behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert behavior["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert distribution["Logging"]["Bucket"]["Fn::GetAtt"][1] == "RegionalDomainName"
    assert distribution["WebACLId"]["Fn::GetAtt"][1] == "Arn"


def test_the_direct_endpoint_stays_open_behind_jwt_and_throttling_but_not_waf(dev: Template) -> None:
    """The decision in README "WAF and the direct API endpoint": both ways in stay open. WAF is on
    the CloudFront path only; the execute-api endpoint is protected by the JWT authorizer on every
    route and the stage's throttling. Disabling the endpoint (or adding an origin-secret check)
    changes this test and that section together."""
    (api,) = resources(dev, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"].get("DisableExecuteApiEndpoint", False) is False
    (stage,) = resources(dev, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    for route in resources(dev, "AWS::ApiGatewayV2::Route").values():
        assert route["Properties"]["AuthorizationType"] == "JWT"
    (distribution,) = resources(dev, "AWS::CloudFront::Distribution").values()
    assert "WebACLId" in distribution["Properties"]["DistributionConfig"]
    dev.resource_count_is("AWS::WAFv2::WebACLAssociation", 0)  # nothing attaches WAF to the API itself
    assert "no WAF" in dev.find_outputs("ApiUrl")["ApiUrl"]["Description"]


def test_web_acl_is_cloudfront_scoped_with_managed_rules_and_rate_limit(dev: Template) -> None:
    acl = next(iter(resources(dev, "AWS::WAFv2::WebACL").values()))["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    names = [rule["Name"] for rule in acl["Rules"]]
    assert names == ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "RateLimitPerIp"]
    assert acl["Rules"][2]["Statement"]["RateBasedStatement"]["Limit"] == 1000


def test_custom_domain_gets_its_certificate_and_tls12() -> None:
    template = template_of(
        build_stage(
            StageName.DEV,
            {
                "stages.dev.customDomain.domainName": "api.example.com",
                "stages.dev.customDomain.certificateArn": (
                    "arn:aws:acm:us-east-1:222222222222:certificate/00000000-0000-4000-8000-000000000000"
                ),
            },
        )
    )
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "Aliases": ["api.example.com"],
                    "ViewerCertificate": Match.object_like({"MinimumProtocolVersion": "TLSv1.2_2021"}),
                }
            )
        },
    )


# --- Alarms -------------------------------------------------------------------------------------


def test_each_function_alarms_on_one_invocation_longer_than_25_seconds(dev: Template) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in resources(dev, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "Duration"
    ]
    assert len(alarms) == len(CONTRACT.operations)
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/Lambda"
        assert alarm["Statistic"] == "Maximum"
        assert alarm["Period"] == 60
        assert alarm["EvaluationPeriods"] == 1
        assert alarm["Threshold"] == 25_000
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize(
    ("metric", "namespace", "count"),
    [
        ("Errors", "AWS/Lambda", len(CONTRACT.operations)),
        ("Throttles", "AWS/Lambda", len(CONTRACT.operations)),
        ("ApproximateNumberOfMessagesVisible", "AWS/SQS", len(CONTRACT.operations)),
        ("5xx", "AWS/ApiGateway", 1),
        ("Latency", "AWS/ApiGateway", 1),
    ],
)
def test_operator_alarms_exist(dev: Template, metric: str, namespace: str, count: int) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in resources(dev, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == metric
    ]
    assert len(alarms) == count
    assert all(alarm["Namespace"] == namespace for alarm in alarms)


def test_every_alarm_notifies_the_encrypted_tls_only_topic(dev: Template) -> None:
    topic_id = logical_id_of(dev, "AWS::SNS::Topic", "/Monitoring/AlarmTopic/")
    topic = resources(dev, "AWS::SNS::Topic")[topic_id]["Properties"]
    assert "KmsMasterKeyId" in topic
    environment = config_from(shipped_context()).stage(StageName.DEV).environment
    dev.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    dev.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                        # The topic policy replaces SNS's default one: CloudWatch needs its own Allow.
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": {"Ref": topic_id},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": environment.account},
                                    "ArnLike": {
                                        "aws:SourceArn": (
                                            f"arn:aws:cloudwatch:{environment.region}:{environment.account}:alarm:*"
                                        )
                                    },
                                },
                            }
                        ),
                    ]
                )
            }
        },
    )
    for alarm in resources(dev, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_alarm_email_subscribes_only_when_configured() -> None:
    without = template_of(build_stage(StageName.DEV))
    without.resource_count_is("AWS::SNS::Subscription", 0)
    with_email = template_of(build_stage(StageName.DEV, {"stages.dev.alarmEmail": "oncall@example.com"}))
    with_email.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


# --- Tags and outputs ---------------------------------------------------------------------------


TAGGABLE = (
    "AWS::DynamoDB::Table",
    "AWS::Lambda::Function",
    "AWS::SQS::Queue",
    "AWS::IAM::Role",
    "AWS::S3::Bucket",
    "AWS::CloudFront::Distribution",
    "AWS::SNS::Topic",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::WAFv2::WebACL",
    "AWS::CloudWatch::Alarm",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::Cognito::UserPool",
)


def _tags(properties: dict[str, Any]) -> dict[str, str]:
    tags = properties.get("Tags", properties.get("UserPoolTags", []))
    if isinstance(tags, dict):
        return dict(tags)
    return {tag["Key"]: tag["Value"] for tag in tags}


@pytest.mark.parametrize(("stage", "expected"), [(StageName.DEV, "Development"), (StageName.PROD, "Production")])
def test_every_taggable_resource_carries_environment_and_service(
    stage: StageName, expected: str, dev: Template, prod: Template
) -> None:
    template = dev if stage is StageName.DEV else prod
    for type_name in TAGGABLE:
        found = resources(template, type_name)
        assert found, type_name
        for logical_id, resource in found.items():
            if "/Custom::" in resource["Metadata"]["aws:cdk:path"]:
                # CDK builds its custom-resource providers as raw CfnResources, which the Tags
                # aspect cannot reach; the auto-delete provider only exists where a stage tears down.
                continue
            tags = _tags(resource["Properties"])
            assert tags.get("Environment") == expected, f"{type_name} {logical_id}"
            assert tags.get("Service") == "users-service", f"{type_name} {logical_id}"


def test_stage_exposes_api_and_cloudfront_urls(dev: Template) -> None:
    outputs = dev.find_outputs("*")
    assert {"ApiUrl", "CloudFrontUrl"} <= set(outputs)
    assert "Fn::Join" in outputs["CloudFrontUrl"]["Value"]


# --- Log group encryption ------------------------------------------------------------------------


def log_groups_usable_by_cloudwatch_logs(template: dict[str, Any], account: str, region: str) -> list[str]:
    """Each log group whose key's policy would refuse CloudWatch Logs: CreateLogGroup with a KmsKeyId
    fails unless the key policy allows logs.<region>.amazonaws.com for this account's log groups."""
    problems = []
    resources_by_id: dict[str, dict[str, Any]] = template["Resources"]
    expected_context = f"arn:aws:logs:{region}:{account}:log-group:*"
    for logical_id, resource in resources_by_id.items():
        if resource["Type"] != "AWS::Logs::LogGroup":
            continue
        key_ref = resource["Properties"].get("KmsKeyId")
        if key_ref is None:
            problems.append(f"{logical_id}: not encrypted with a key of the stage")
            continue
        key = resources_by_id[key_ref["Fn::GetAtt"][0]]
        allowed = [
            statement
            for statement in key["Properties"]["KeyPolicy"]["Statement"]
            if statement["Effect"] == "Allow"
            and statement.get("Principal") == {"Service": f"logs.{region}.amazonaws.com"}
            and "kms:GenerateDataKey*" in statement["Action"]
            and "kms:Decrypt*" in statement["Action"]
        ]
        contexts = [s.get("Condition", {}).get("ArnLike", {}) for s in allowed]
        contexts = [context.get("kms:EncryptionContext:aws:logs:arn") for context in contexts]
        if expected_context not in contexts:
            problems.append(f"{logical_id}: its key does not let CloudWatch Logs use it for {expected_context}")
    return problems


def test_every_log_group_is_encrypted_with_a_key_cloudwatch_logs_may_use(
    synthesized_templates: dict[str, SynthesizedStack],
) -> None:
    for name in ("Dev/UsersService", "Qa/UsersService", "Prod/UsersService"):
        stack = synthesized_templates[name]
        assert len(resources(Template.from_json(stack.template), "AWS::Logs::LogGroup")) == 13
        assert log_groups_usable_by_cloudwatch_logs(stack.template, stack.account, stack.region) == [], name


def test_a_key_policy_without_cloudwatch_logs_or_a_plain_log_group_is_found(
    synthesized_templates: dict[str, SynthesizedStack],
) -> None:
    stack = synthesized_templates["Dev/UsersService"]
    template = copy.deepcopy(stack.template)
    key = next(r for r in template["Resources"].values() if r["Metadata"]["aws:cdk:path"].endswith("/LogsKey/Resource"))
    key["Properties"]["KeyPolicy"]["Statement"] = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") != "AllowCloudWatchLogsOfThisAccount"
    ]
    assert len(log_groups_usable_by_cloudwatch_logs(template, stack.account, stack.region)) == 13
    template = copy.deepcopy(stack.template)
    access_logs = next(
        logical_id
        for logical_id, r in template["Resources"].items()
        if r["Metadata"]["aws:cdk:path"].endswith("/Api/AccessLogs/Resource")
    )
    del template["Resources"][access_logs]["Properties"]["KmsKeyId"]
    assert log_groups_usable_by_cloudwatch_logs(template, stack.account, stack.region) == [
        f"{access_logs}: not encrypted with a key of the stage"
    ]
