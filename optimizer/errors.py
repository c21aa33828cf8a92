"""Error types that carry user-facing explanations instead of tracebacks.

Each error maps to one exit code of the CLI; the messages are complete sentences
that name the file, the field or row, and what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable


class HorizonError(Exception):
    """Base class: an expected failure with a message for the user."""

    exit_code = 1

    def __init__(self, messages: str | Iterable[str], *, headline: str | None = None) -> None:
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        self.headline = headline
        super().__init__(self.render())

    def render(self) -> str:
        lines = [self.headline] if self.headline else []
        if len(self.messages) == 1 and not self.headline:
            return self.messages[0]
        lines += [f"  - {m}" for m in self.messages]
        return "\n".join(lines)


class InputError(HorizonError):
    """The instance (or a command-line argument) is invalid. Exit code 2."""

    exit_code = 2


class InfeasibleError(HorizonError):
    """The problem provably has no solution; messages explain why. Exit code 3."""

    exit_code = 3


class SolverError(HorizonError):
    """The solver failed or returned no usable solution. Exit code 4."""

    exit_code = 4
