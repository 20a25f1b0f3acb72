"""Builds a ServiceStage from the shipped configuration for assertions on its template."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from app import new_app
from config import StageName
from service.contract import ServiceContract
from stages.service_stage import ServiceStage
from tests.conftest import config_from, shipped_context

# Asset bundling is exercised by the synth tests; assertions only need the templates.
SKIP_BUNDLING = {"aws:cdk:bundling-stacks": [], "aws:cdk:enable-path-metadata": True}


def build_stage(
    name: StageName, context_overrides: dict[str, Any] | None = None, *, contract: ServiceContract | None = None
) -> ServiceStage:
    context = {**shipped_context(), **SKIP_BUNDLING, **(context_overrides or {})}
    app = new_app(context=context)
    config = config_from(context)
    return ServiceStage(
        app, name.construct_id, config=config.stage(name), service_name=config.service_name, contract=contract
    )


def template_of(stage: ServiceStage) -> Template:
    return Template.from_stack(stage.service)
