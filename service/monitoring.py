from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from compliance import acknowledge
from service.functions import TIMEOUT, UserFunction
from service.keys import encryption_key

# A function this close to its 30 s timeout is about to fail; one such invocation is enough.
SLOW_INVOCATION_MS = 25_000


class Monitoring(Construct):
    """The alarms an operator needs for this service, all notifying one encrypted SNS topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Sequence[UserFunction],
        http_api: apigwv2.HttpApi,
        alarm_email: str | None,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        if TIMEOUT.to_milliseconds() <= SLOW_INVOCATION_MS:
            raise ValueError(f"the slow-invocation alarm ({SLOW_INVOCATION_MS} ms) must be below the timeout")
        key = encryption_key(
            self,
            "AlarmTopicKey",
            description="Encrypts users-service alarm notifications",
            # A stage that tears down schedules its key's deletion; KMS waits the pending window
            # first, so a mistaken teardown can still be undone with CancelKeyDeletion.
            removal_policy=removal_policy,
            pending_window=Duration.days(7),
        )
        # CloudWatch publishes alarm notifications to the topic, so it must use the key.
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        # enforce_ssl gives the topic a resource policy, and a topic policy replaces SNS's default
        # one instead of adding to it: without this statement CloudWatch may not publish, and every
        # alarm fails to notify. Only alarms of this account and region may publish.
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
                    },
                },
            )
        )
        if alarm_email:
            subscription = self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            acknowledge(
                subscription,
                "Serverless-SNSRedrivePolicy",
                "An e-mail that SNS cannot deliver after its retries has no consumer to replay it to; "
                "the alarm itself stays visible in CloudWatch and keeps its state until resolved.",
            )
        self._action = cloudwatch_actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []
        self.dead_letter_alarms: list[cloudwatch.Alarm] = []
        # By operation: what a deployment of that function watches (its alias, and the API's 5xx).
        self._deployment_alarms: dict[str, list[cloudwatch.Alarm]] = {}
        self._stage_deployment_alarms: list[cloudwatch.Alarm] = []

        one_minute = Duration.minutes(1)
        for user_function in functions:
            name = user_function.operation.construct_id
            # The alias carries every request (and, during a canary, both versions' requests).
            function = user_function.alias
            watched = self._deployment_alarms.setdefault(user_function.operation.name, [])
            watched.append(
                self._alarm(
                    f"{name}Slow",
                    function.metric_duration(statistic="Maximum", period=one_minute),
                    threshold=SLOW_INVOCATION_MS,
                    description=f"An invocation of {name} ran longer than {SLOW_INVOCATION_MS // 1000} s",
                )
            )
            watched.append(
                self._alarm(
                    f"{name}Errors",
                    function.metric_errors(statistic="Sum", period=one_minute),
                    threshold=0,
                    description=f"{name} raised errors (unhandled exceptions or timeouts)",
                )
            )
            watched.append(
                self._alarm(
                    f"{name}Throttles",
                    function.metric_throttles(statistic="Sum", period=one_minute),
                    threshold=0,
                    description=f"{name} was throttled: concurrency is exhausted",
                )
            )
            self.dead_letter_alarms.append(
                self._alarm(
                    f"{name}DeadLetters",
                    user_function.dead_letter_queue.metric_approximate_number_of_messages_visible(
                        statistic="Maximum", period=one_minute
                    ),
                    threshold=0,
                    description=f"Failed asynchronous invocations of {name} wait in its dead-letter queue",
                )
            )
        self.api_5xx = self._alarm(
            "Api5xx",
            http_api.metric_server_error(statistic="Sum", period=one_minute),
            threshold=0,
            description="The API answered with 5xx errors",
        )
        self._alarm(
            "ApiLatency",
            http_api.metric_latency(statistic="p99", period=Duration.minutes(5)),
            threshold=3_000,
            evaluation_periods=3,
            description="The API's p99 latency stayed above 3 s for 15 minutes",
        )

    def deployment_alarms(self, user_function: UserFunction) -> list[cloudwatch.Alarm]:
        """What rolls a deployment of this function back: its alias's errors, throttles and
        near-timeout invocations, and the API's 5xx."""
        return [*self._deployment_alarms[user_function.operation.name], self.api_5xx, *self._stage_deployment_alarms]

    def watch_synthetic_client(self, construct_id: str, success_percent: cloudwatch.IMetric) -> cloudwatch.Alarm:
        """An alarm when a run of the stage's canary fails; every deployment of the stage watches
        it too, as the bake gate does (through the stage's health alarm)."""
        alarm = self._alarm(
            construct_id,
            success_percent,
            threshold=100,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            description="A run of the stage's synthetic client failed (list of one, get of a missing id)",
        )
        self._stage_deployment_alarms.append(alarm)
        return alarm

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm
