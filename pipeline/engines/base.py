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


@dataclass
class EngineStats:
    """Token counts since the engine started; `prompt_tokens_computed` excludes reused prefixes."""

    requests: int = 0
    prompt_tokens: int = 0
    prompt_tokens_computed: int = 0
    generated_tokens: int = 0

    def add(self, prompt: int, computed: int, generated: int) -> None:
        self.requests += 1
        self.prompt_tokens += prompt
        self.prompt_tokens_computed += computed
        self.generated_tokens += generated


class EngineFailure(RuntimeError):
    """The engine died or stopped answering mid-call; a fresh engine may succeed."""


class EngineFatalError(RuntimeError):
    """A failure a fresh engine would hit again (out of memory, unsupported dtype): the message
    names the cause and the config field that fixes it."""


class LLMEngine(Protocol):
    stats: EngineStats

    def generate(self, requests: list[ChatRequest]) -> list[str]:
        """Return one completion text per request, in order; raise EngineFailure if the engine
        died, EngineFatalError if retrying cannot help."""
        ...

    def close(self) -> None: ...
