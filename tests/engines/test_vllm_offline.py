"""The in-process vLLM engine on the real embedded model, with a GBNF grammar."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialogsmith.engines.base import ChatRequest
from dialogsmith.engines.config import EngineConfig, VllmEngineConfig
from dialogsmith.engines.factory import make_engine

pytestmark = pytest.mark.slow

MOODS = {"happy", "sad", "calm"}
TOPICS = ["rain", "a lost dog", "exam results", "a birthday"]


def _request(topic: str, seed: int, grammar: str) -> ChatRequest:
    text = f"How does {topic} make you feel? Answer as JSON with a mood and a score."
    return ChatRequest(
        messages=[{"role": "user", "content": text}],
        seed=seed,
        max_tokens=32,
        temperature=0.8,
        grammar=grammar,
    )


def _children() -> set[int]:
    """Live child processes; an exited one not yet reaped (a zombie) has stopped."""
    import psutil

    alive = set()
    for p in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
                p.cmdline()
            ):
                alive.add(p.pid)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    return alive


@pytest.fixture(scope="module")
def engine(embedded_model: Path) -> Iterator:
    before = _children()
    config = EngineConfig(vllm=VllmEngineConfig(max_model_len=1024, max_num_seqs=8))
    engine = make_engine(config)
    yield engine
    engine.close()
    assert _children() <= before, "closing the engine must stop its worker processes"


def test_grammar_output_parses_and_obeys(engine, mood_grammar: str) -> None:
    requests = [_request(t, i, mood_grammar) for i, t in enumerate(TOPICS)]
    outputs = engine.generate(requests)
    assert len(outputs) == len(TOPICS)
    for text in outputs:
        parsed = json.loads(text)
        assert set(parsed) == {"mood", "score"}
        assert parsed["mood"] in MOODS
        assert 0 <= parsed["score"] <= 9


def test_same_seed_gives_same_text(engine, mood_grammar: str) -> None:
    requests = [_request(t, 100 + i, mood_grammar) for i, t in enumerate(TOPICS)]
    first = engine.generate(requests)
    again = engine.generate(requests)
    assert first == again


def test_json_schema_output_parses(engine) -> None:
    schema = {
        "type": "object",
        "properties": {"mood": {"enum": sorted(MOODS)}},
        "required": ["mood"],
        "additionalProperties": False,
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
