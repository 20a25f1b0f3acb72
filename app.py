#!/usr/bin/env python3
from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, NoReturn

from aws_cdk import App

from compliance import enforce_nag_rules
from config import AppConfig, DeploymentEnvironment, StageName, load_config
from config.loader import require_stage_region
from pipeline.pipeline_stack import PIPELINE_STACK_ID, PipelineStack
from stages.service_stage import ServiceStage

SANDBOX_ID = "Sandbox"
SANDBOX_ENVIRONMENT_TAG = "Sandbox"


def sandbox_requested(app: App) -> bool:
    """`-c sandbox=true` adds the Sandbox stage; without it only the pipeline is synthesized."""
    return str(app.node.try_get_context("sandbox")).lower() == "true"


def build_service_stages(app: App, config: AppConfig) -> dict[StageName, ServiceStage]:
    """dev, qa and prod, in promotion order, as children of the App (siblings of the pipeline
    stack); their smoke roles trust the toolchain account, where the smoke steps run."""
    stages: dict[StageName, ServiceStage] = {}
    for stage_config in config.stages:
        stages[stage_config.name] = ServiceStage(
            app,
            stage_config.name.construct_id,
            config=stage_config,
            service_name=config.service_name,
            smoke_trusted_account=config.toolchain.account,
        )
    return stages


def build_sandbox(app: App, config: AppConfig) -> ServiceStage:
    """dev's configuration, deployed into the account and region of the current CLI credentials.

    Without credentials (an offline synth) it falls back to dev's account and region.
    """
    dev = config.stage(StageName.DEV)
    environment = DeploymentEnvironment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT") or dev.environment.account,
        region=os.environ.get("CDK_DEFAULT_REGION") or dev.environment.region,
    )
    require_stage_region("sandbox region (CDK_DEFAULT_REGION, from AWS_REGION)", environment.region)
    return ServiceStage(
        app,
        SANDBOX_ID,
        config=dataclasses.replace(dev, environment=environment),
        service_name=config.service_name,
        environment_tag=SANDBOX_ENVIRONMENT_TAG,
        smoke_trusted_account=environment.account,
    )


def build_app(app: App) -> App:
    config = load_config(app.node.try_get_context)
    stages = build_service_stages(app, config)
    if sandbox_requested(app):
        build_sandbox(app, config)
    # Every stage exists now. The gate must be in place before the pipeline is built: CDK Pipelines
    # synthesizes each stage as it is added, after which aspects no longer reach it. The packs
    # themselves run over the whole assembly, the pipeline stack included, at app.synth().
    enforce_nag_rules(app)
    PipelineStack(app, PIPELINE_STACK_ID, config=config, stages=stages)
    return app


def new_app(**props: Any) -> App:
    """The App every synth uses, the tests' included.

    CDK's built-in CloudFormation validation is off: it took about a third of each synth (an
    engine start plus a pass per template), and cfn-lint, which `make test` and so the pipeline's
    Build run over every synthesized template, checks the same schemas and more
    (tests/infrastructure/test_template_validation.py plants a schema error and sees cfn-lint fail).
    """
    return App(builtin_cloud_formation_validation=False, **props)


def exit_after_synth(app: App) -> NoReturn:
    """Synthesizes, then ends the process without the interpreter's and jsii's teardown.

    Once synth() has returned, the cloud assembly is complete on disk, and all that is left is
    jsii shutting its Node.js kernel down and Python collecting the proxies: about 6 % of a synth,
    for nothing the CLI reads. os._exit skips both; the kernel process ends when its pipe closes.
    One piece of that teardown is kept: jsii unpacks its Node.js runtime into a temporary
    directory per process and removes it at exit, so without this every synth would leave 2 MB
    behind in the temp dir.
    This is the one place that bypasses normal shutdown; tests/infrastructure/test_nag_gate.py checks through the CLI
    that the assembly is whole after it and that no temporary directory is left.
    """
    app.synth()
    sys.stdout.flush()
    sys.stderr.flush()
    _remove_jsii_runtime_directory()
    os._exit(0)


def _remove_jsii_runtime_directory() -> None:
    # jsii has no public call for this; its process provider keeps the directory in an ExitStack
    # that its (skipped) shutdown would close. The Node.js process has its files loaded already.
    from jsii import _runtime

    _runtime.kernel.provider._process._ctx_stack.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    exit_after_synth(build_app(new_app()))
