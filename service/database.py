from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from service.contract import TableDefinition


def _attribute(name: str | None) -> dynamodb.Attribute | None:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING) if name else None


class UsersDatabase(Construct):
    """The users and their e-mail claims: one item per normalised address, written in the same
    transaction as the user it belongs to, so no two users hold one address (a GSI cannot enforce
    uniqueness) and a lookup by address is one strongly consistent read of a copy of the user.

    Both are the service's data, kept alike: point-in-time recovery, deletion protection and RETAIN
    where the stage keeps data. `dynamodb.Table` rather than TableV2: the nag packs inspect
    AWS::DynamoDB::Table but no rule looks at AWS::DynamoDB::GlobalTable.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        users: TableDefinition,
        emails: TableDefinition,
        retain_data: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        # "Table" is the users table's id since the first release: renaming it would replace it.
        self.table = _table(self, "Table", users, retain_data=retain_data)
        self.emails_table = _table(self, "Emails", emails, retain_data=retain_data)


class IdempotencyRecords(Construct):
    """What POST /users answered to an Idempotency-Key, for 24 hours; DynamoDB's TTL removes expired
    records. Disposable by design (a lost record only means a retry after a restore writes anew), so
    it is destroyed with the stack in every stage, and has no deletion protection."""

    def __init__(self, scope: Construct, construct_id: str, *, definition: TableDefinition) -> None:
        super().__init__(scope, construct_id)
        self.table = _table(self, "Table", definition, retain_data=False)


def _table(scope: Construct, construct_id: str, definition: TableDefinition, *, retain_data: bool) -> dynamodb.Table:
    partition_key = dynamodb.Attribute(name=definition.partition_key, type=dynamodb.AttributeType.STRING)
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=partition_key,
        sort_key=_attribute(definition.sort_key),
        time_to_live_attribute=definition.time_to_live_attribute,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=retain_data,
        removal_policy=RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY,
    )
