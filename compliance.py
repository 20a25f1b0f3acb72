"""The cdk-nag gate: rule packs registered as validation plugins on the App; and the one way to
acknowledge a finding of either policy engine (cdk-nag here, cfn-guard's Control Tower controls
in `make guard`, scripts/check_guard.py).

Registered on the App (not on a Stage nested in a stack, where they never run), they check every
stack of every stage at synth. Any finding without an exact acknowledgment on its construct fails
the synth, warnings included. Acknowledgments and their reasons are written into the templates'
metadata (`cdk_nag.rules_to_suppress`), so the audit trail ships with what is deployed.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Aspects, Stage, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks, WriteNagSuppressionsToCloudFormationAspect
from constructs import IConstruct


def enforce_nag_rules(app: App) -> None:
    """Call once every stage exists: the audit-trail aspect must be added to each Stage, because
    aspects added to the App do not reach into nested stages."""
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(app, verbose=True),
    )
    for construct in app.node.find_all():
        if isinstance(construct, Stage) and construct is not app:
            Aspects.of(construct).add(WriteNagSuppressionsToCloudFormationAspect())


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledges one exact finding on the CloudFormation resource behind `construct` only, so
    the acknowledgment cannot flow down to anything else the construct contains."""
    target = construct.node.default_child or construct
    Validations.of(target).acknowledge(Acknowledgment(id=finding, reason=reason))


# The id cdk-validator-cfnguard reports a rule under; scripts/check_guard.py reads the same.
GUARD_PLUGIN = "cdk-validator-cfnguard"


def acknowledge_guard(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledges one cfn-guard rule (its name, e.g. `s3_bucket_logging_enabled_check`) on the
    CloudFormation resource behind `construct` only."""
    acknowledge(construct, f"{GUARD_PLUGIN}::{rule}", reason)
