"""Turns the environment into the suite's settings and fixtures (see settings.py and fixtures.py)."""

from .fixtures import api, client, pytest_configure, pytest_generate_tests, settings, token, users

__all__ = ["api", "client", "pytest_configure", "pytest_generate_tests", "settings", "token", "users"]
