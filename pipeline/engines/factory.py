"""Build the configured LLM engine; heavy backends are imported only when chosen."""

from __future__ import annotations

import logging
from functools import cache

from dialogsmith.cpu import CpuInfo, cpu_info
from dialogsmith.engines.base import LLMEngine
from dialogsmith.engines.config import EMBEDDED_MODEL, EngineConfig

log = logging.getLogger(__name__)


@cache
def gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def choose_kind(config: EngineConfig, cpu: CpuInfo, has_gpu: bool) -> tuple[str, str]:
    """The engine kind to run, and why: an explicit kind wins; 'auto' follows the hardware."""
    if config.kind != "auto":
        return config.kind, "set by script.engine.kind"
    if has_gpu:
        return "vllm", "a GPU is available"
    if config.vllm.model != EMBEDDED_MODEL:
        return "vllm", f"script.engine.vllm.model is {config.vllm.model!r}"
    if cpu.native_bf16:
        return "vllm", f"the CPU computes bf16 natively ({cpu.capability}): batched vLLM is fastest"
    return "llama_cpp", (
        f"the CPU has no native bf16 ({cpu.capability}): llama.cpp on the Q4_K_M GGUF is fastest"
    )


def resolved_kind(config: EngineConfig) -> str:
    if config.kind != "auto":
        return config.kind
    return choose_kind(config, cpu_info(), gpu_available())[0]


def make_engine(config: EngineConfig) -> LLMEngine:
    """Return the engine `config.kind` names (or 'auto' picks); the caller must `close()` it."""
    kind, why = choose_kind(config, cpu_info(), gpu_available() if config.kind == "auto" else False)
    log.info("LLM engine %s: %s; CPU %s", kind, why, cpu_info().describe())
    if kind == "llama_cpp":
        from dialogsmith.engines.llama_cpp import LlamaCppEngine

        return LlamaCppEngine(config.llama_cpp)
    if kind == "vllm":
        from dialogsmith.engines.vllm_offline import VllmOfflineEngine

        return VllmOfflineEngine(config.vllm)
    if kind == "openai":
        from dialogsmith.engines.openai_endpoint import OpenAIEndpointEngine

        return OpenAIEndpointEngine(config.openai)
    raise ValueError(
        f"Unknown engine kind {kind!r}; expected 'auto', 'llama_cpp', 'vllm' or 'openai'"
    )
