#!/usr/bin/env python3
from __future__ import annotations

from aws_cdk import App

from compliance import enforce_nag_rules
from config import load_config
from stages.service_stage import ServiceStage


def build_app(app: App) -> App:
    config = load_config(app.node.try_get_context)
    for stage in config.stages:
        ServiceStage(app, stage.name.construct_id, config=stage, service_name=config.service_name)
    enforce_nag_rules(app)
    return app


if __name__ == "__main__":
    build_app(App()).synth()
