"""The llama.cpp engine on the real packaged GGUF: grammar, seeds, a shared prefix computed once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dialogsmith.engines.base import ChatRequest, EngineFatalError
from dialogsmith.engines.config import LlamaCppEngineConfig
from dialogsmith.engines.llama_cpp import LlamaCppEngine

pytestmark = pytest.mark.slow

MOODS = {"happy", "sad", "calm"}
TOPICS = ["rain", "a lost dog", "exam results", "a birthday"]
SYSTEM = (
    "You are a careful assistant that answers every question about feelings with one mood and a "
    "score from zero to nine, as JSON, and nothing else. " * 4
)


def _request(topic: str, seed: int, grammar: str) -> ChatRequest:
    return ChatRequest(
        messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"How does {topic} make you feel?"},
        ],
        seed=seed,
        max_tokens=32,
        temperature=0.8,
        grammar=grammar,
    )


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    engine = LlamaCppEngine(LlamaCppEngineConfig(n_ctx=4096, max_sequences=3))
    yield engine
    engine.close()


def test_grammar_output_parses_and_obeys(engine, mood_grammar: str) -> None:
    outputs = engine.generate([_request(t, i, mood_grammar) for i, t in enumerate(TOPICS)])
    assert len(outputs) == len(TOPICS)
    for text in outputs:
        parsed = json.loads(text)
        assert parsed["mood"] in MOODS and 0 <= parsed["score"] <= 9


def test_output_depends_on_the_request_alone(engine, mood_grammar: str) -> None:
    requests = [_request(t, 100 + i, mood_grammar) for i, t in enumerate(TOPICS)]
    first = engine.generate(requests)
    engine.generate([_request("a long queue at the post office", 7, mood_grammar)])
    again = engine.generate(list(reversed(requests)))
    assert list(reversed(again)) == first
    assert len(set(first)) > 1, "different topics and seeds all gave one answer"


def test_requests_sharing_a_prefix_compute_it_once(engine, mood_grammar: str) -> None:
    before = engine.stats.prompt_tokens_computed, engine.stats.prompt_tokens
    engine.generate([_request(t, 1, mood_grammar) for t in TOPICS])
    computed = engine.stats.prompt_tokens_computed - before[0]
    total = engine.stats.prompt_tokens - before[1]
    system_tokens = len(engine._model.tokenize(SYSTEM.encode(), add_bos=False, special=False))
    assert system_tokens > 100
    # the first request computes everything; the three others only what follows the system prompt
    assert computed <= total - 3 * (system_tokens - 10)


def test_json_schema_output_parses(engine) -> None:
    schema = {
        "type": "object",
        "properties": {"mood": {"enum": sorted(MOODS)}},
        "required": ["mood"],
    }
    request = ChatRequest(
        messages=[{"role": "user", "content": "How does rain make you feel? Reply as JSON."}],
        seed=3,
        max_tokens=24,
        json_schema=schema,
    )
    (text,) = engine.generate([request])
    assert json.loads(text)["mood"] in MOODS


def test_empty_batch_returns_nothing(engine) -> None:
    assert engine.generate([]) == []


def test_a_model_that_is_no_gguf_file_names_the_field(tmp_path) -> None:
    with pytest.raises(EngineFatalError, match=r"script\.engine\.llama_cpp\.model"):
        LlamaCppEngine(LlamaCppEngineConfig(model=str(tmp_path / "missing.gguf")))
