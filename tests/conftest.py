from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from config import AppConfig, load_config

if TYPE_CHECKING:
    from tests.assembly import SynthesizedApp, SynthesizedStack

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shipped_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    return context


def config_from(context: dict[str, Any]) -> AppConfig:
    return load_config(context.get)


@pytest.fixture
def context() -> dict[str, Any]:
    """A mutable copy of cdk.json's context, for tests that break one value."""
    return copy.deepcopy(shipped_context())


@pytest.fixture(scope="session")
def app_config() -> AppConfig:
    return config_from(shipped_context())


ContextEditor = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="session")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The app as shipped, synthesized once per session (nag gate on, assets not bundled): every
    test that only reads the assembly shares it; only tests that plant something synthesize apart.
    Tests must not change it (deep-copy a template, copy the outdir, to break one)."""
    from tests.assembly import synthesize_app  # it imports this module

    return synthesize_app(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def synthesized_templates(synthesized_app: SynthesizedApp) -> dict[str, SynthesizedStack]:
    """Every stack the app synthesizes with the shipped configuration, built once per session:
    the pipeline stack and each stage's stack from its nested assembly (assembly-Dev, ...), keyed
    by display name (UsersServicePipeline, Dev/UsersService, ...). Assets are not bundled.

    Shared and session-wide: tests must not mutate the templates (deep-copy one to break it)."""
    return synthesized_app.stacks
