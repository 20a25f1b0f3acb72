from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config import AppConfig, load_config

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
