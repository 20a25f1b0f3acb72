"""The pipeline's notifications: failed executions and pending approvals, to an encrypted SNS topic
(and an e-mail address, when configured)."""

from __future__ import annotations

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from compliance import acknowledge
from service.keys import encryption_key

NOTIFIED_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
)


@jsii.implements(notifications.INotificationRuleTarget)
class ScopedTopicTarget:
    """An SNS topic as a notification rule's target, bound without the grant that passing the topic
    itself adds: that statement lets codestar-notifications.amazonaws.com publish with no condition,
    on behalf of any account's rule. The topic's policy carries a scoped statement instead."""

    def __init__(self, topic: sns.ITopic) -> None:
        self._topic = topic

    def bind_as_notification_rule_target(self, _scope: Construct) -> notifications.NotificationRuleTargetConfig:
        return notifications.NotificationRuleTargetConfig(target_type="SNS", target_address=self._topic.topic_arn)


class PipelineNotifications(Construct):
    """A rule on the pipeline's failures and pending approvals, delivered to a topic encrypted with a
    key of its own; only CodeStar Notifications for rules of `account` may publish to it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: codepipeline.IPipeline,
        account: str,
        email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        key = encryption_key(
            self,
            "Key",
            description="Encrypts the users-service pipeline notifications",
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CodeStar Notifications publishes to the encrypted topic, so it must use the key.
        key.grant(iam.ServicePrincipal("codestar-notifications.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True)
        if email:
            subscription = topic.add_subscription(subscriptions.EmailSubscription(email))
            acknowledge(
                subscription,
                "Serverless-SNSRedrivePolicy",
                (
                    "An e-mail subscription of pipeline notifications: what a lost e-mail reported "
                    "(a failed execution, a pending approval) stays visible in the pipeline itself, "
                    "and a dead-letter queue of undelivered e-mails would have no reader."
                ),
            )
        # enforce_ssl gives the topic a resource policy, which replaces SNS's default one: CodeStar
        # Notifications may publish only through this statement, for rules of this account only.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPipelineNotificationsToPublish",
                principals=[iam.ServicePrincipal("codestar-notifications.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        notifications.NotificationRule(
            self,
            "Rule",
            source=pipeline,
            events=list(NOTIFIED_EVENTS),
            targets=[ScopedTopicTarget(topic)],
            detail_type=notifications.DetailType.FULL,
        )
        self.topic = topic
