"""One CloudWatch dashboard per stage, written directly with aws_cloudwatch: what an on-call
person looks at first (requests, latency, errors, each function's health, the tables, WAF, alarm
states). cdk-monitoring-constructs would draw much the same, but as one more dependency (its
jsii package, its own construct tree under the nag gate, more synth time) for a dozen widgets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from service.functions import UserFunction

PERIOD = Duration.minutes(1)
WIDTH = 12  # half of the dashboard's 24 columns


class ServiceDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        http_api: apigwv2.HttpApi,
        functions: Sequence[UserFunction],
        tables: Mapping[str, dynamodb.ITable],
        web_acl_metric_name: str,
        alarms: Sequence[cloudwatch.IAlarm],
        synthetic_success: cloudwatch.IMetric | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))

        def graph(
            title: str, metrics: Sequence[cloudwatch.IMetric], right: Sequence[cloudwatch.IMetric] = ()
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(metrics), right=list(right), width=WIDTH, height=6)

        aliases = [(f.operation.name, f.alias) for f in functions]
        self.dashboard.add_widgets(
            graph("Requests", [http_api.metric_count(period=PERIOD, statistic="Sum")]),
            graph(
                "Latency (ms)",
                [
                    http_api.metric_latency(period=PERIOD, statistic="p50", label="p50"),
                    http_api.metric_latency(period=PERIOD, statistic="p99", label="p99"),
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "4xx and 5xx",
                [
                    http_api.metric_client_error(period=PERIOD, statistic="Sum", label="4xx"),
                    http_api.metric_server_error(period=PERIOD, statistic="Sum", label="5xx"),
                ],
            ),
            graph(
                "Function errors",
                [alias.metric_errors(period=PERIOD, statistic="Sum", label=name) for name, alias in aliases],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "Function duration p99 (ms)",
                [alias.metric_duration(period=PERIOD, statistic="p99", label=name) for name, alias in aliases],
            ),
            graph(
                "Throttles and concurrency",
                [
                    alias.metric_throttles(period=PERIOD, statistic="Sum", label=f"{name} throttles")
                    for name, alias in aliases
                ],
                right=[
                    alias.metric(
                        "ConcurrentExecutions", period=PERIOD, statistic="Maximum", label=f"{name} concurrency"
                    )
                    for name, alias in aliases
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "DynamoDB consumed capacity",
                [
                    metric
                    for role, table in tables.items()
                    for metric in (
                        table.metric_consumed_read_capacity_units(period=PERIOD, statistic="Sum", label=f"{role} read"),
                        table.metric_consumed_write_capacity_units(
                            period=PERIOD, statistic="Sum", label=f"{role} write"
                        ),
                    )
                ],
            ),
            graph(
                "DynamoDB throttled requests",
                [
                    table.metric("ThrottledRequests", period=PERIOD, statistic="Sum", label=role)
                    for role, table in tables.items()
                ],
            ),
        )
        blocked = cloudwatch.Metric(
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            # WAF reports a web ACL under the metric name of its visibility configuration.
            dimensions_map={"WebACL": web_acl_metric_name, "Rule": "ALL"},
            period=PERIOD,
            statistic="Sum",
            region="us-east-1",  # a CloudFront web ACL reports in us-east-1
        )
        if synthetic_success is not None:
            self.dashboard.add_widgets(graph("Synthetic client success (%)", [synthetic_success]))
        self.dashboard.add_widgets(
            graph("WAF blocked requests", [blocked]),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=WIDTH, height=6),
        )
