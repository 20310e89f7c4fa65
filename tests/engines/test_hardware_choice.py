"""The LLM settings follow the CPU: never emulated bf16; an explicit config value wins."""

from __future__ import annotations

import pytest

from dialogsmith import cpu
from dialogsmith.engines.config import EngineConfig, VllmEngineConfig
from dialogsmith.engines.factory import choose_kind
from dialogsmith.engines.vllm_offline import choose_dtype

ZEN3 = frozenset(["avx", "avx2", "fma", "f16c", "sse4_2"])
ZEN4 = ZEN3 | {"avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"}
SKYLAKE_X = ZEN3 | {"avx512f", "avx512bw", "avx512vl"}


def info(flags: frozenset[str], forced: str | None = None) -> cpu.CpuInfo:
    detected = cpu.level_of(flags)
    return cpu.CpuInfo("test CPU", flags, detected, forced or detected, 2)


@pytest.mark.parametrize(
    ("flags", "level"), [(ZEN3, "avx2"), (ZEN4, "avx512_bf16"), (SKYLAKE_X, "avx512")]
)
def test_capability_levels_from_flags(flags, level) -> None:
    assert cpu.level_of(flags) == level


def test_vllm_dtype_is_bf16_only_where_the_cpu_computes_it() -> None:
    config = VllmEngineConfig()
    assert choose_dtype(config, True, info(ZEN4))[0] == "bfloat16"
    for flags in (ZEN3, SKYLAKE_X):
        dtype, why = choose_dtype(config, True, info(flags))
        assert dtype == "float32" and "no native bf16" in why
    assert choose_dtype(config, True, info(ZEN4, forced="avx2"))[0] == "float32"
    assert choose_dtype(config, False, info(ZEN3))[0] == "auto"


def test_an_explicit_dtype_wins() -> None:
    dtype, why = choose_dtype(VllmEngineConfig(dtype="bfloat16"), True, info(ZEN3))
    assert dtype == "bfloat16" and "script.engine.vllm.dtype" in why


def test_auto_engine_follows_the_hardware_and_an_explicit_kind_wins() -> None:
    auto = EngineConfig()
    assert choose_kind(auto, info(ZEN3), has_gpu=False)[0] == "llama_cpp"
    assert choose_kind(auto, info(ZEN4), has_gpu=False)[0] == "vllm"
    assert choose_kind(auto, info(ZEN4, forced="avx2"), has_gpu=False)[0] == "llama_cpp"
    assert choose_kind(auto, info(ZEN3), has_gpu=True)[0] == "vllm"
    assert choose_kind(EngineConfig(kind="llama_cpp"), info(ZEN4), has_gpu=True)[0] == "llama_cpp"


def test_forcing_lowers_the_capability_but_never_raises_it(monkeypatch) -> None:
    monkeypatch.setenv(cpu.FORCE_ENV, "avx2")
    assert cpu._forced_level("avx512_bf16") == "avx2"
    with pytest.raises(ValueError, match="only lower"):
        cpu._forced_level("baseline")
    monkeypatch.setenv(cpu.FORCE_ENV, "sse9")
    with pytest.raises(ValueError, match="sse9"):
        cpu._forced_level("avx2")


def test_this_machine_is_read_and_described() -> None:
    here = cpu.cpu_info()
    assert here.cores >= 1 and here.capability in cpu.LEVELS
    assert here.capability in here.describe()


class EngineDeadError(RuntimeError):
    """Named as vLLM names the error its client raises when the engine core died."""


def test_vllm_failures_are_retried_or_stop_the_job_naming_the_field() -> None:
    from dialogsmith.engines.base import EngineFailure, EngineFatalError
    from dialogsmith.engines.vllm_offline import classify_failure

    config = VllmEngineConfig()
    dead = classify_failure(EngineDeadError("RPC call to execute_model timed out."), config)
    assert isinstance(dead, EngineFailure)
    memory = classify_failure(RuntimeError("CPU out of memory allocating KV cache"), config)
    assert isinstance(memory, EngineFatalError) and "cpu_kv_cache_gib" in str(memory)
    dtype = classify_failure(ValueError("dtype bfloat16 is not supported on this CPU"), config)
    assert isinstance(dtype, EngineFatalError) and "script.engine.vllm.dtype" in str(dtype)
    bug = ValueError("a bug in our own code")
    assert classify_failure(bug, config) is bug


def test_llama_cpp_extra_buffers_are_off_on_amx_cpus_unless_configured(monkeypatch) -> None:
    """llama-cpp-python 0.3.36 segfaults in its AMX path (Intel Xeon with AMX, Qwen2.5
    Q4_K_M, first batched decode); an explicit setting still wins."""
    from dialogsmith.engines import llama_cpp

    amx = info(frozenset({"avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_int8"}))
    monkeypatch.setattr(llama_cpp, "cpu_info", lambda: amx)
    assert llama_cpp.extra_buffers(None) is False
    assert llama_cpp.extra_buffers(True) is True
    monkeypatch.setattr(llama_cpp, "cpu_info", lambda: info(frozenset({"avx2", "fma"})))
    assert llama_cpp.extra_buffers(None) is True
    assert llama_cpp.extra_buffers(False) is False
