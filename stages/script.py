"""Script: the LLM writes each dialogue's turns under a grammar; invalid output is repaired,
re-sampled, or the dialogue is rejected with the reason."""

from __future__ import annotations

from dataclasses import dataclass

from dialogsmith import prompts
from dialogsmith.engines.base import ChatRequest, LLMEngine
from dialogsmith.records import Dialogue, DialogueSpec, Script
from dialogsmith.seeding import derive_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.stages.script_format import (
    ScriptProblem,
    check_turns,
    parse_turns,
    role_of,
    script_grammar,
    to_turns,
    trim_turn,
)
from dialogsmith.taxonomy import NEUTRAL_VALUE


@dataclass
class Attempt:
    dialogue: Dialogue
    opener: str
    raw: str = ""
    problem: ScriptProblem | None = None


def turn_labels(spec: DialogueSpec) -> list[dict[str, str]]:
    """Per-turn labels: the user's gender everywhere, the target value on the attribute turn."""
    labels = []
    for i in range(spec.num_turns):
        if role_of(i) == "assistant":
            labels.append({})
            continue
        turn = dict(NEUTRAL_VALUE, gender=spec.user_labels["gender"])
        if i == spec.attribute_turn:
            turn[spec.target_attribute] = spec.target_value
        labels.append(turn)
    return labels


class ScriptStage(Stage):
    name = "script"
    requires = ("spec",)
    default_resources = Resources(cpus=2.0, memory_gib=10.0)

    def __init__(self, config, output, engine: LLMEngine | None = None) -> None:
        super().__init__(config, output)
        self.engine = engine

    @property
    def resources(self) -> Resources:
        engine = self.config.script.engine
        if engine.kind == "vllm" and engine.vllm.model != "embedded":
            gpus = engine.vllm.tensor_parallel_size * engine.vllm.pipeline_parallel_size
            return Resources(cpus=2.0, gpus=float(gpus), memory_gib=16.0)
        return self.default_resources

    def setup(self) -> None:
        if self.engine is None:
            from dialogsmith.engines.factory import make_engine

            self.engine = make_engine(self.config.script.engine)

    def teardown(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        pending = [Attempt(d, self._opener(d.spec)) for d in dialogues]
        for attempt_no in range(1, self.config.script.max_attempts + 1):
            requests = [self._request(a, attempt_no) for a in pending]
            texts = self.engine.generate(requests) if requests else []
            for attempt, text in zip(pending, texts, strict=True):
                attempt.raw = text
                self._accept(attempt, attempt_no)
            pending = [a for a in pending if a.problem is not None]
        for attempt in pending:
            problem = attempt.problem
            attempt.dialogue.reject(
                self.name, problem.reason, f"{problem.detail}; raw={attempt.raw[:300]!r}"
            )

    def _opener(self, spec: DialogueSpec) -> str:
        openers = prompts.reactions()[spec.target_attribute][spec.target_value]["openers"]
        return str(stage_rng(spec.seed, self.name, "opener").choice(openers))

    def _request(self, attempt: Attempt, attempt_no: int) -> ChatRequest:
        spec, cfg = attempt.dialogue.spec, self.config.script
        reaction = prompts.reactions()[spec.target_attribute][spec.target_value]
        user = prompts.render(
            f"script_user_{spec.language}.j2",
            num_turns=spec.num_turns,
            topic=spec.topic,
            max_words=cfg.max_words_per_turn,
            attribute_turn=spec.attribute_turn,
            sound=reaction["sound"],
            notice=reaction["notice"],
            opener=attempt.opener,
        )
        return ChatRequest(
            messages=[
                {"role": "system", "content": prompts.render(f"script_system_{spec.language}.j2")},
                {"role": "user", "content": user},
            ],
            seed=derive_seed(spec.seed, self.name, attempt_no) % (2**31),
            max_tokens=cfg.max_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            grammar=script_grammar(spec.num_turns, spec.attribute_turn + 1, attempt.opener),
        )

    def _accept(self, attempt: Attempt, attempt_no: int) -> None:
        spec, max_words = attempt.dialogue.spec, self.config.script.max_words_per_turn
        parsed = parse_turns(attempt.raw)
        if isinstance(parsed, ScriptProblem):
            attempt.problem = parsed
            return
        trimmed = [dict(t, text=trim_turn(str(t.get("text", "")), max_words)) for t in parsed]
        reply = spec.attribute_turn + 1
        attempt.problem = check_turns(trimmed, spec.num_turns, reply, attempt.opener, max_words)
        if attempt.problem is None:
            turns = to_turns(trimmed, reply, spec.target_attribute, turn_labels(spec))
            attempt.dialogue.script = Script(
                turns=turns, raw=attempt.raw, attempts=attempt_no, repaired=trimmed != parsed
            )
