"""The LLM engine interface every script backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to run; `grammar` (GBNF) or `json_schema` constrains the output."""

    messages: list[dict[str, str]]
    seed: int
    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.95
    grammar: str | None = None
    json_schema: dict | None = field(default=None, hash=False)


class LLMEngine(Protocol):
    def generate(self, requests: list[ChatRequest]) -> list[str]:
        """Return one completion text per request, in order."""
        ...

    def close(self) -> None: ...
