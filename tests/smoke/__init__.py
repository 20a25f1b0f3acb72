"""Post-deployment smoke suite for the users API, configured only by environment variables.

Run it with ``pytest tests/smoke`` (the normal ``pytest`` run leaves it out); see settings.py for
the variables. The pure support modules (settings, urls, auth, cleanup) are unit-tested by
tests/unit/test_smoke_support.py.
"""
