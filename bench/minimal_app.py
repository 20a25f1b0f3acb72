"""The yardstick for `make bench`'s synth ratio: one empty stack, synthesized by the same CDK CLI,
venv, Node.js and App settings as app.py, so the ratio measures what our app adds."""

import sys
from pathlib import Path

from aws_cdk import Stack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app import exit_after_synth, new_app

app = new_app()
Stack(app, "Minimal")
exit_after_synth(app)
