from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from compliance import acknowledge, acknowledge_guard
from config import CustomDomain

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


WEB_ACL_METRIC_NAME = "UsersServiceWebAcl"


class EdgeFirewall(Construct):
    """A CloudFront-scoped WAF web ACL: AWS managed rules plus a per-IP rate limit.

    CloudFront-scoped web ACLs exist only in us-east-1, which config enforces for every stage.
    """

    def __init__(self, scope: Construct, construct_id: str, *, rate_limit: int) -> None:
        super().__init__(scope, construct_id)
        managed_rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rate_rule = wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerIp",
            priority=len(managed_rules),
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=rate_limit, aggregate_key_type="IP", evaluation_window_sec=300
                )
            ),
            visibility_config=_visibility("RateLimitPerIp"),
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=[*managed_rules, rate_rule],
            visibility_config=_visibility(WEB_ACL_METRIC_NAME),
        )


class ApiDistribution(Construct):
    """CloudFront in front of the HTTP API: HTTPS only, nothing cached, every header but Host
    forwarded (API Gateway routes on its own Host), access logs to the log bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_endpoint: str,
        log_bucket: s3.IBucket,
        web_acl_arn: str,
        custom_domain: CustomDomain | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # api_endpoint is https://<id>.execute-api.<region>.amazonaws.com: keep the host only.
        api_domain = Fn.select(2, Fn.split("/", api_endpoint))
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", custom_domain.certificate_arn)
            if custom_domain
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="users-service API",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    api_domain,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                    origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            ),
            domain_names=[custom_domain.domain_name] if custom_domain else None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if custom_domain else None,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            web_acl_id=web_acl_arn,
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            (
                "The API serves callers wherever they are; access is controlled by JWT scopes "
                "and the WAF rate limit, not by geography."
            ),
        )
        acknowledge_guard(
            self.distribution,
            "cloudfront_default_root_object_configured_check",
            "The distribution fronts an API, not a site: a request for / is an API request, which the "
            "API answers (404 for a route it does not have); there is no document to serve there.",
        )
        acknowledge_guard(
            self.distribution,
            "cloudfront_origin_failover_enabled_check",
            "The one origin is this stage's HTTP API in its region; a failover origin would need a second "
            "regional copy of the API and its tables, which this app does not build.",
        )
        if custom_domain is None:
            default_certificate = (
                "No custom domain is configured for this stage, so the distribution uses the "
                "default *.cloudfront.net certificate, whose minimum protocol CloudFront fixes "
                "at TLSv1; configure customDomain to get the TLS 1.2 policy."
            )
            acknowledge(self.distribution, "AwsSolutions-CFR4", default_certificate)
            # With a custom domain the distribution has an ACM certificate, sni-only and TLSv1.2_2021,
            # which these controls ask for; without one CloudFront allows none of them.
            for rule in (
                "cloudfront_custom_ssl_certificate_check",
                "cloudfront_sni_enabled_check",
                "cloudfront_security_policy_check",
            ):
                acknowledge_guard(self.distribution, rule, default_certificate)

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}/"
