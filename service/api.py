from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from config.model import ApiThrottle
from service.functions import UserFunction
from service.log_groups import LogSettings, log_group

CORS_METHODS = [
    apigwv2.CorsHttpMethod.GET,
    apigwv2.CorsHttpMethod.POST,
    apigwv2.CorsHttpMethod.PUT,
    apigwv2.CorsHttpMethod.PATCH,
    apigwv2.CorsHttpMethod.DELETE,
    apigwv2.CorsHttpMethod.OPTIONS,
]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "idempotency-key", "if-match", "if-none-match"]
# What browser code reads of a response: the version for If-Match, a new user's URL, and when to
# retry a 503. The local run takes the same list from the synthesized template.
CORS_EXPOSE_HEADERS = ["etag", "location", "retry-after"]

# One JSON object per request, so CloudWatch Logs Insights can query fields directly.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "httpMethod": "$context.httpMethod",
    # The route key, never the raw path: a path can hold a user's e-mail address or id lookups.
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "userAgent": "$context.identity.userAgent",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class JsonAccessLogSettings:
    """HttpStage wants an IAccessLogSettings object; jsii cannot deserialize a plain dict for it."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(_json(ACCESS_LOG_FIELDS))


def _json(fields: Mapping[str, str]) -> str:
    return json.dumps(fields, separators=(",", ":"))


class UsersApi(Construct):
    """The HTTP API: one route per operation, each behind the JWT authorizer with its scope."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Sequence[UserFunction],
        issuer_url: str,
        audience: Sequence[str],
        cors_allowed_origins: Sequence[str],
        throttle: ApiThrottle,
        log_settings: LogSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="users-service API",
            create_default_stage=False,
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(cors_allowed_origins),
                allow_methods=CORS_METHODS,
                allow_headers=CORS_ALLOW_HEADERS,
                expose_headers=CORS_EXPOSE_HEADERS,
                allow_credentials=False,
                max_age=Duration.hours(1),
            ),
        )
        self.access_logs = log_group(self, "AccessLogs", log_settings)
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            access_log_settings=JsonAccessLogSettings(self.access_logs),
            throttle=apigwv2.ThrottleSettings(rate_limit=throttle.rate_limit, burst_limit=throttle.burst_limit),
        )
        authorizer = authorizers.HttpJwtAuthorizer(
            "JwtAuthorizer",
            issuer_url,
            jwt_audience=list(audience),
            identity_source=["$request.header.Authorization"],
        )
        for user_function in functions:
            operation = user_function.operation
            self.http_api.add_routes(
                path=operation.path,
                methods=[apigwv2.HttpMethod(operation.method)],
                # The alias, never $LATEST: traffic follows CodeDeploy's shifting.
                integration=integrations.HttpLambdaIntegration(
                    f"{operation.construct_id}Integration", user_function.alias
                ),
                authorizer=authorizer,
                authorization_scopes=[operation.scope],
            )
        # API Gateway may invoke each alias for this API's routes (SourceArn); naming the account as
        # well, as a literal, is what Control Tower's CT.LAMBDA.PR.2 can verify.
        account = Stack.of(self).account
        for child in self.http_api.node.find_all():
            if isinstance(child, lambda_.CfnPermission):
                child.source_account = account

    @property
    def url(self) -> str:
        return self.http_api.api_endpoint + "/"
