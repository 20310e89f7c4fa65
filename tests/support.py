"""Shared test helpers: small job configs and a grammar-following test double for the LLM.

The double is used only where a test is about the runner, the executors or the stages around
the script; the real engines are tested in tests/engines and the end-to-end tests.
"""

from __future__ import annotations

import json
import re
from functools import partial

from dialogsmith.config import JobConfig, load_config
from dialogsmith.engines.base import ChatRequest, EngineFailure, EngineStats

PREFIX = re.compile(r'^t(\d+) ::= "((?:[^"\\]|\\.)*)" text', re.M)
SENTENCES = [
    "I would like some help with this today.",
    "Of course, tell me a little more about it.",
    "It started yesterday and I am not sure what to do.",
    "Let us go through it step by step together.",
    "That sounds like a good plan to me.",
    "Great, I will send you a short summary after this.",
]


class GrammarFollowingEngine:
    """Writes the script the grammar asks for, from fixed sentences: a stand-in for the LLM.

    `broken_first` makes the first try of every request invalid JSON, to exercise re-sampling.
    """

    def __init__(
        self, broken_first: bool = False, always_broken: bool = False, vary: bool = True
    ) -> None:
        self.broken_first = broken_first
        self.always_broken = always_broken
        self.vary = vary
        self.calls = 0
        self.stats = EngineStats()

    def generate(self, requests: list[ChatRequest]) -> list[str]:
        self.calls += 1
        for request in requests:
            prompt = sum(len(m["content"].split()) for m in request.messages)
            self.stats.add(prompt, prompt, 1)
        if self.always_broken or (self.broken_first and self.calls == 1):
            return ['{"turns": [{"role": "user", "text": "cut off' for _ in requests]
        return [self._script(r) for r in requests]

    def _script(self, request: ChatRequest) -> str:
        turns = []
        for index, prefix in PREFIX.findall(request.grammar or ""):
            head = json.loads(f'"{prefix}"')
            opener = head.split('"text": "', 1)[1]
            role = "user" if int(index) % 2 == 0 else "assistant"
            offset = request.seed if self.vary else 0
            sentence = SENTENCES[(int(index) + offset) % len(SENTENCES)]
            turns.append({"role": role, "text": f"{opener}, {sentence}" if opener else sentence})
        return json.dumps({"turns": turns})

    def close(self) -> None:
        pass


class DyingEngine(GrammarFollowingEngine):
    """Dies (raises EngineFailure, as a real engine whose worker died does) on its first
    `deaths` calls, counted over every instance made by one `DyingEngine.factory`."""

    def __init__(self, budget: list[int]) -> None:
        super().__init__()
        self.budget = budget
        self.closed = False

    @classmethod
    def factory(cls, deaths: int):
        budget = [deaths]
        made: list[DyingEngine] = []

        def make() -> DyingEngine:
            made.append(cls(budget))
            return made[-1]

        return make, made

    def generate(self, requests: list[ChatRequest]) -> list[str]:
        if self.budget[0] > 0:
            self.budget[0] -= 1
            raise EngineFailure("RPC call to execute_model timed out (test)")
        return super().generate(requests)

    def close(self) -> None:
        self.closed = True


def small_config(tmp_path=None, **overrides) -> JobConfig:
    base = {
        "num_dialogues": 4,
        "shard_size": 2,
        "seed": 7,
        "plan.min_turns": 4,
        "plan.max_turns": 4,
        "plan.noise_probability": 0.5,
    }
    base.update(overrides)
    return load_config(None, **base)


def stage_factories(config: JobConfig, output: str, engine=None) -> list:
    from dialogsmith.runner import default_stages
    from dialogsmith.stages.script import ScriptStage

    factories = []
    for cls in default_stages():
        if cls is ScriptStage:
            factories.append(partial(cls, config, output, engine or GrammarFollowingEngine()))
        else:
            factories.append(partial(cls, config, output))
    return factories


def make_spec(gender: str = "female", **fields):
    """A hand-made DialogueSpec for stage tests; any field can be overridden."""
    from dialogsmith.records import DialogueSpec, SceneSpec, SpeakerSpec

    values = {
        "dialogue_id": "dlg-0000000",
        "index": 0,
        "seed": 11,
        "language": "en",
        "topic": "t",
        "target_attribute": "speed",
        "target_value": "normal",
        "num_turns": 2,
        "attribute_turn": 0,
        "user_labels": {"gender": gender},
        "speakers": [SpeakerSpec("u", "user", gender), SpeakerSpec("a", "assistant", "female")],
        "scene": SceneSpec(None, None),
    }
    values.update(fields)
    return DialogueSpec(**values)
