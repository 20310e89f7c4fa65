"""Build the configured LLM engine; heavy backends are imported only when chosen."""

from __future__ import annotations

from dialogsmith.engines.base import LLMEngine
from dialogsmith.engines.config import EngineConfig


def make_engine(config: EngineConfig) -> LLMEngine:
    """Return the engine named by `config.kind`; the caller must `close()` it."""
    if config.kind == "llama_cpp":
        from dialogsmith.engines.llama_cpp import LlamaCppEngine

        return LlamaCppEngine(config.llama_cpp)
    if config.kind == "vllm":
        from dialogsmith.engines.vllm_offline import VllmOfflineEngine

        return VllmOfflineEngine(config.vllm)
    if config.kind == "openai":
        from dialogsmith.engines.openai_endpoint import OpenAIEndpointEngine

        return OpenAIEndpointEngine(config.openai)
    raise ValueError(
        f"Unknown engine kind {config.kind!r}; expected 'llama_cpp', 'vllm' or 'openai'"
    )
