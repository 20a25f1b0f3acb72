"""The README's diagram names what the code builds: the pipeline's gates in order and every
operation of the contract, so it cannot silently go stale."""

from __future__ import annotations

import re
from pathlib import Path

from config import StageName
from pipeline.pipeline_stack import BROADENING_CHECK_ID, PROD_APPROVAL_ID
from service.contract import load_contract

README = Path(__file__).resolve().parents[2] / "README.md"


def diagram(text: str) -> str:
    blocks: list[str] = re.findall(r"```mermaid\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1, "the README has one Mermaid diagram"
    return blocks[0]


def missing_names(text: str) -> list[str]:
    drawn = diagram(text)
    gates = ["Source", "Build", "UpdatePipeline", *(s.construct_id for s in StageName)]
    gates[-1:-1] = [BROADENING_CHECK_ID, PROD_APPROVAL_ID]

    def position(name: str) -> int:
        # A node is drawn as Name["..."] or Id["Name ..."].
        found = [index for index in (drawn.find(f"{name}["), drawn.find(f'["{name}')) if index >= 0]
        return min(found) if found else -1

    missing = [name for name in gates if position(name) < 0]
    positions = [position(name) for name in gates if name not in missing]
    if positions != sorted(positions):
        missing.append("the gates in pipeline order")
    missing += [op.name for op in load_contract().operations if op.name not in drawn]
    return missing


def test_the_diagram_draws_the_pipeline_and_the_contract() -> None:
    assert missing_names(README.read_text()) == []


def test_a_renamed_gate_or_a_new_operation_is_noticed() -> None:
    text = README.read_text()
    assert "PromoteToProd" in missing_names(text.replace("PromoteToProd", "Promote"))
    assert "deleteUser" in missing_names(text.replace("deleteUser", "removeUser"))
