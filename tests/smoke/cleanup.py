"""What a test created, to delete even when the test fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CleanupFailure:
    label: str
    error: BaseException

    def __str__(self) -> str:
        return f"{self.label}: {type(self.error).__name__}: {self.error}"


@dataclass
class CleanupRegistry:
    _actions: list[tuple[str, Callable[[], object]]] = field(default_factory=list)

    def add(self, label: str, action: Callable[[], object]) -> None:
        self._actions.append((label, action))

    def __len__(self) -> int:
        return len(self._actions)

    def run(self) -> list[CleanupFailure]:
        """Runs every action, newest first, even after one fails; returns the failures."""
        failures: list[CleanupFailure] = []
        while self._actions:
            label, action = self._actions.pop()
            try:
                action()
            except Exception as error:
                failures.append(CleanupFailure(label, error))
        return failures
