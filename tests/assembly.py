"""The whole app synthesized into a cloud assembly, read back as one template per deployed stack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App

import app as app_module
from tests.conftest import shipped_context
from tests.stage_support import SKIP_BUNDLING


@dataclass(frozen=True)
class SynthesizedStack:
    """One stack of the assembly: its template and the environment it deploys to."""

    artifact_id: str  # e.g. DevUsersServiceF1D63F47
    display_name: str  # the construct path of the stack, e.g. Dev/UsersService
    stack_name: str  # the CloudFormation stack name, e.g. Dev-UsersService
    account: str
    region: str
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        return resources


@dataclass(frozen=True)
class SynthesizedApp:
    """The built App (its constructs, for tests that inspect them), where it was synthesized, and
    every stack it holds by display name."""

    app: App
    outdir: Path
    stacks: dict[str, SynthesizedStack]


def synthesize_app(outdir: Path, context_overrides: dict[str, Any] | None = None) -> SynthesizedApp:
    """Synthesizes app.py's app (assets left unbundled) into `outdir` with every stack it holds,
    those of nested stage assemblies (assembly-Dev, ...) included, by display name."""
    context = {**shipped_context(), **SKIP_BUNDLING, **(context_overrides or {})}
    app = app_module.build_app(app_module.new_app(context=context, outdir=str(outdir)))
    assembly = app.synth()
    stacks = {
        artifact.hierarchical_id: SynthesizedStack(
            artifact_id=artifact.id,
            display_name=artifact.hierarchical_id,
            stack_name=artifact.stack_name,
            account=artifact.environment.account,
            region=artifact.environment.region,
            template=artifact.template,
        )
        for artifact in assembly.stacks_recursively
    }
    templates_on_disk = sorted(path.relative_to(outdir) for path in outdir.rglob("*.template.json"))
    assert len(templates_on_disk) == len(stacks), f"{templates_on_disk} vs {sorted(stacks)}"
    return SynthesizedApp(app=app, outdir=outdir, stacks=stacks)
