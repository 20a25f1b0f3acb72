from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from config import StageConfig
from service.contract import ServiceContract, load_contract
from service.stack import UsersServiceStack


class ServiceStage(Stage):
    """One deployable copy of the users service: dev, qa, prod (or a developer's sandbox).

    `smoke_trusted_account` is the account whose smoke tests may read the stage's machine-client
    secret and alarm states (the toolchain account for pipeline stages).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        service_name: str,
        environment_tag: str | None = None,
        contract: ServiceContract | None = None,
        smoke_trusted_account: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.environment.account, region=config.environment.region),
            **kwargs,
        )
        self.config = config
        self.service = UsersServiceStack(
            self,
            "UsersService",
            stage=config,
            service_name=service_name,
            contract=contract or load_contract(),
            smoke_trusted_account=smoke_trusted_account,
            description=f"{service_name} ({config.name.value})",
        )
        Tags.of(self).add("Environment", environment_tag or config.name.environment_tag)
        Tags.of(self).add("Service", service_name)
