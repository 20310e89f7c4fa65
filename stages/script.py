"""Script: the LLM writes each dialogue's turns under a grammar (or JSON schema); invalid output
is repaired, re-sampled, or the dialogue is rejected with the reason."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from dialogsmith import prompts
from dialogsmith.engines.base import ChatRequest, EngineFailure, LLMEngine
from dialogsmith.records import Dialogue, DialogueSpec, Script, Turn
from dialogsmith.seeding import derive_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.stages.script_format import (
    ScriptProblem,
    ScriptShape,
    check_script,
    parse_script,
    repair_turn,
    role_of,
    script_grammar,
    script_schema,
)
from dialogsmith.taxonomy import NEUTRAL_VALUE, TAXONOMY

NUM_EXAMPLES = 2
ENGINE_TRIES = 2  # a call that kills the engine runs once more on a fresh one

log = logging.getLogger(__name__)


class EngineGaveUp(RuntimeError):
    """The engine died on every try of one call; the call's dialogues are rejected."""


@dataclass
class Attempt:
    dialogue: Dialogue
    shape: ScriptShape
    raw: str = ""
    problem: ScriptProblem | None = None


def turn_labels(spec: DialogueSpec) -> list[dict[str, str]]:
    """Per-turn labels: speaker attributes everywhere, the target on the attribute turn."""
    speaker = {k: v for k, v in spec.user_labels.items() if TAXONOMY[k].scope == "speaker"}
    labels = []
    for i in range(spec.num_turns):
        if role_of(i) == "assistant":
            labels.append({})
            continue
        turn = dict(NEUTRAL_VALUE) | speaker
        if i == spec.attribute_turn:
            turn[spec.target_attribute] = spec.target_value
        labels.append(turn)
    return labels


def script_shape(spec: DialogueSpec, opener: str | None, max_length: int) -> ScriptShape:
    return ScriptShape(
        num_turns=spec.num_turns,
        reply_turn=spec.attribute_turn + 1,
        opener=opener,
        language=spec.language,
        stress_turn=spec.attribute_turn
        if (spec.target_attribute, spec.target_value) == ("stress", "stressed")
        else None,
        overheard=any(e.value == "background_talk" for e in spec.events),
        max_length=max_length,
    )


class ScriptStage(Stage):
    name = "script"
    requires = ("spec",)
    default_resources = Resources(cpus=2.0, memory_gib=10.0)

    def __init__(
        self,
        config,
        output,
        engine: LLMEngine | None = None,
        engine_factory: Callable[[], LLMEngine] | None = None,
    ) -> None:
        super().__init__(config, output)
        self.engine = engine
        self.engine_factory = engine_factory or self._configured_engine

    @property
    def resources(self) -> Resources:
        from dialogsmith.engines.factory import resolved_kind

        engine = self.config.script.engine
        kind = resolved_kind(engine)
        if kind == "vllm" and engine.vllm.model != "embedded":
            gpus = engine.vllm.tensor_parallel_size * engine.vllm.pipeline_parallel_size
            return Resources(cpus=2.0, gpus=float(gpus), memory_gib=16.0)
        if kind == "llama_cpp":
            return Resources(cpus=2.0, memory_gib=3.0)
        return self.default_resources

    def _configured_engine(self) -> LLMEngine:
        from dialogsmith.engines.factory import make_engine

        return make_engine(self.config.script.engine)

    def setup(self) -> None:
        if self.engine is None:
            self.engine = self.engine_factory()

    def teardown(self) -> None:
        if self.engine is not None:
            engine, self.engine = self.engine, None
            engine.close()

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        pending = [Attempt(d, self._shape(d.spec)) for d in dialogues]
        for attempt_no in range(1, self.config.script.max_attempts + 1):
            requests = [self._request(a, attempt_no) for a in pending]
            try:
                texts = self._generate(requests, batch) if requests else []
            except EngineGaveUp as error:
                for a in pending:
                    a.dialogue.reject(self.name, "engine_failed", str(error))
                return
            for attempt, text in zip(pending, texts, strict=True):
                attempt.raw = text
                self._accept(attempt, attempt_no)
            pending = [a for a in pending if a.problem is not None]
        for a in pending:
            a.dialogue.reject(
                self.name, a.problem.reason, f"{a.problem.detail}; raw={a.raw[:300]!r}"
            )

    def _generate(self, requests: list[ChatRequest], batch: ShardBatch) -> list[str]:
        """One engine call; a dead engine is replaced and the call runs once more."""
        errors = []
        for tries in range(1, ENGINE_TRIES + 1):
            self.setup()
            before = dataclasses.replace(self.engine.stats)
            try:
                texts = self.engine.generate(requests)
            except EngineFailure as error:
                errors.append(str(error))
                log.warning(
                    "shard %d: LLM engine failed (try %d of %d): %s",
                    batch.shard,
                    tries,
                    ENGINE_TRIES,
                    error,
                )
                self._drop_engine()
                continue
            batch.count_llm_tokens(before, self.engine.stats)
            return texts
        raise EngineGaveUp(f"engine failed {ENGINE_TRIES} times: {' | '.join(errors)[:600]}")

    def _drop_engine(self) -> None:
        try:
            self.teardown()
        except Exception as error:  # a dead engine may not close cleanly; the next one starts
            log.warning("closing the failed engine: %s", error)

    def _shape(self, spec: DialogueSpec) -> ScriptShape:
        openers = TAXONOMY[spec.target_attribute].openers(spec.target_value, spec.language)
        opener = str(stage_rng(spec.seed, self.name, "opener").choice(openers))
        cfg = self.config.script
        length = cfg.max_chars_per_turn_zh if spec.language == "zh" else cfg.max_words_per_turn
        return script_shape(spec, opener, length)

    def prompt(self, spec: DialogueSpec, shape: ScriptShape) -> list[dict[str, str]]:
        attribute = TAXONOMY[spec.target_attribute]
        value = attribute.values[spec.target_value]
        unit = "Chinese characters" if spec.language == "zh" else "words"
        user = prompts.render(
            f"script_{attribute.group}.j2",
            num_turns=spec.num_turns,
            topic=spec.topic,
            language_name=prompts.LANGUAGE_NAMES[spec.language],
            max_length=f"{shape.max_length} {unit}",
            attribute_turn=spec.attribute_turn,
            reply_turn=shape.reply_turn,
            sound=value.sound.get("en", ""),
            notice=value.notice.get("en", ""),
            opener=shape.opener,
            stress=shape.stress_turn is not None,
            events=[dict(e.__dict__, group=TAXONOMY[e.kind].group) for e in spec.events],
            examples=self._examples(spec, attribute.group),
        )
        system = prompts.render(f"script_system_{spec.language}.j2")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _examples(self, spec: DialogueSpec, group: str) -> list[str]:
        """The same examples for every dialogue of a group and language, so their requests
        share the prompt prefix (system prompt and examples) the engine computes once."""
        pool = prompts.examples().get(group, {}).get(spec.language, [])
        chosen = pool[:NUM_EXAMPLES]
        return [json.dumps({"turns": e["turns"]}, ensure_ascii=False) for e in chosen]

    def _request(self, attempt: Attempt, attempt_no: int) -> ChatRequest:
        spec, cfg, shape = attempt.dialogue.spec, self.config.script, attempt.shape
        structured = (
            {"grammar": script_grammar(shape)}
            if cfg.output_format == "grammar"
            else {"json_schema": script_schema(shape)}
        )
        return ChatRequest(
            messages=self.prompt(spec, shape),
            seed=derive_seed(spec.seed, self.name, attempt_no) % (2**31),
            max_tokens=cfg.max_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            **structured,
        )

    def _accept(self, attempt: Attempt, attempt_no: int) -> None:
        spec, shape = attempt.dialogue.spec, attempt.shape
        parsed = parse_script(attempt.raw)
        if isinstance(parsed, ScriptProblem):
            attempt.problem = parsed
            return
        turns = [
            dict(t, text=repair_turn(str(t.get("text", "")), i, shape))
            for i, t in enumerate(parsed["turns"])
        ]
        repaired = turns != parsed["turns"]
        parsed = dict(parsed, turns=turns)
        attempt.problem = check_script(parsed, shape)
        if attempt.problem is None:
            attempt.dialogue.script = self._script(spec, parsed, attempt, attempt_no, repaired)

    def _script(self, spec, parsed: dict, attempt: Attempt, attempt_no: int, repaired: bool):
        labels = turn_labels(spec)
        reply = attempt.shape.reply_turn
        turns = [
            Turn(
                index=i,
                role=role_of(i),
                text=" ".join(str(t["text"]).split()),
                labels=labels[i],
                reacts_to=spec.target_attribute if i == reply else None,
            )
            for i, t in enumerate(parsed["turns"])
        ]
        stress = attempt.shape.stress_turn
        stressed = parsed["turns"][stress]["stressed_word"] if stress is not None else None
        return Script(
            turns=turns,
            raw=attempt.raw,
            attempts=attempt_no,
            repaired=repaired,
            stressed_word=str(stressed).strip(" .,!?") if stressed else None,
            overheard=str(parsed["overheard"]).strip() if attempt.shape.overheard else None,
        )
