"""lambda/bundling.json is the one declaration of how the functions are bundled (the bench builds
with it too); service/functions.py must pass every option on, or refuse the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.functions import BUNDLING_FILE, bundling_options


def _planted(tmp_path: Path, **changes: object) -> Path:
    options = json.loads(BUNDLING_FILE.read_text()) | changes
    path = tmp_path / "bundling.json"
    path.write_text(json.dumps(options))
    return path


def test_the_shipped_options_are_passed_on() -> None:
    options = json.loads(BUNDLING_FILE.read_text())
    bundling = bundling_options()
    assert bundling.target == options["target"] == "node24"
    assert bundling.minify is options["minify"]
    assert bundling.source_map is options["sourcemap"]
    assert bundling.main_fields == options["mainFields"]
    assert bundling.external_modules == options["external"] == ["@aws-sdk/*"]
    assert bundling.banner == options["banner"]
    assert bundling.force_docker_bundling is False


def test_an_option_the_cdk_side_would_ignore_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="treeShaking not understood"):
        bundling_options(_planted(tmp_path, treeShaking=False))


def test_an_unknown_format_names_the_key_and_value(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format must be one of esm, cjs, not 'umd'"):
        bundling_options(_planted(tmp_path, format="umd"))
