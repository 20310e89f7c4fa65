"""Engine configuration: defaults, ranges and unknown keys."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dialogsmith.engines.config import (
    EngineConfig,
    LlamaCppEngineConfig,
    OpenAIEngineConfig,
    VllmEngineConfig,
)


def test_defaults_pick_the_engine_by_hardware_on_the_embedded_model() -> None:
    config = EngineConfig()
    assert config.kind == "auto"
    assert config.llama_cpp.model == "embedded" and config.vllm.model == "embedded"
    assert config.vllm.dtype is None, "vLLM's dtype follows the hardware unless set"
    assert config.vllm.cpu_kv_cache_gib == 2
    assert config.openai.api_key_env == "OPENAI_API_KEY"


def test_every_field_is_described() -> None:
    for model in (VllmEngineConfig, LlamaCppEngineConfig, OpenAIEngineConfig, EngineConfig):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


@pytest.mark.parametrize(
    ("section", "values"),
    [
        ("vllm", {"gpu_memory_utilization": 1.5}),
        ("vllm", {"max_num_seqs": 0}),
        ("vllm", {"unknown_key": 1}),
        ("vllm", {"dtype": "bf16"}),
        ("llama_cpp", {"n_batch": 0}),
        ("llama_cpp", {"unknown_key": 1}),
        ("openai", {"base_url": "localhost:8000"}),
        ("openai", {"concurrency": 0}),
        ("openai", {"max_retries": -1}),
    ],
)
def test_bad_values_are_refused(section: str, values: dict) -> None:
    with pytest.raises(ValidationError):
        EngineConfig.model_validate({section: values})


def test_base_url_loses_trailing_slash() -> None:
    assert OpenAIEngineConfig(base_url="http://h:1/v1/").base_url == "http://h:1/v1"
