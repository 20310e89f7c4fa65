"""Plan: a seeded `DialogueSpec` per dialogue index, with balanced or weighted coverage.

Every choice derives from (job seed, dialogue id), so a spec never depends on sharding.
"""

from __future__ import annotations

import numpy as np

from dialogsmith.config import JobConfig, PlanConfig
from dialogsmith.records import Dialogue, DialogueSpec, PlannedEvent, SceneSpec, SpeakerSpec
from dialogsmith.seeding import derive_seed, dialogue_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.stages.speakers import SpeakerPool
from dialogsmith.stages.topics import TopicBank
from dialogsmith.stages.voice import VOICED, voiced_values
from dialogsmith.taxonomy import ATTRIBUTE_VALUES, TAXONOMY

TURN_ENDINGS = ("interruption", "overlap", "non_query")
"""Events that decide how their turn ends: at most one per turn."""


def dialogue_id(index: int) -> str:
    return f"dlg-{index:07d}"


def plannable_values(attribute: str, realisable_only: bool = True) -> tuple[str, ...]:
    """The attribute's values, less those no voice here can speak (accents) when asked."""
    values = ATTRIBUTE_VALUES[attribute]
    if not realisable_only or attribute not in VOICED:
        return values
    spoken = voiced_values(attribute)
    return tuple(v for v in values if v in spoken) or values


def balanced_target(config: JobConfig, index: int) -> tuple[str, str]:
    """Attributes round-robin; each attribute's values in seeded blocks, so counts stay even."""
    attributes = config.plan.attributes
    attribute = attributes[index % len(attributes)]
    values = plannable_values(attribute, config.plan.realisable_only)
    round_, position = divmod(index // len(attributes), len(values))
    order = np.random.default_rng(derive_seed(config.seed, "plan", attribute, round_))
    return attribute, values[order.permutation(len(values))[position]]


def weighted_choice(rng: np.random.Generator, options: list[str], weights: dict[str, float]) -> str:
    p = np.array([max(0.0, weights.get(o, 1.0)) for o in options], dtype=np.float64)
    if p.sum() <= 0:
        raise ValueError(f"all weights of {options} are zero")
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def weighted_target(plan: PlanConfig, rng: np.random.Generator) -> tuple[str, str]:
    attribute = weighted_choice(rng, plan.attributes, plan.weights)
    values = list(plannable_values(attribute, plan.realisable_only))
    return attribute, weighted_choice(rng, values, plan.value_weights.get(attribute, {}))


class PlanStage(Stage):
    name = "plan"
    default_resources = Resources(cpus=0.25)

    def setup(self) -> None:
        self.topics = TopicBank.load()
        plan = self.config.plan
        wanted = {"gender", *plan.speaker_attributes, *plan.attributes}
        self.speakers = SpeakerPool(plan.speaker_pool, wanted, plan.realisable_only)

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        first = batch.first_index
        batch.dialogues = [Dialogue(spec=self.plan(i)) for i in range(first, first + batch.count)]

    def plan(self, index: int) -> DialogueSpec:
        cfg, plan = self.config, self.config.plan
        did = dialogue_id(index)
        seed = dialogue_seed(cfg.seed, did)
        rng = stage_rng(seed, self.name)
        if plan.coverage == "balanced":
            attribute, value = balanced_target(cfg, index)
        else:
            attribute, value = weighted_target(plan, rng)
        language = value if attribute == "language" else self._language(rng, attribute)
        user = self.speakers.pick(rng, language, {attribute: value})
        num_turns = int(rng.choice(range(plan.min_turns // 2 * 2, plan.max_turns + 1, 2)))
        attribute_turn = 2 * int(rng.integers(0, num_turns // 2))
        labels = {"gender": user.gender, "language": user.language}
        labels |= {"age": user.age} if user.age else {}
        labels |= {"accent": user.accent} if user.accent else {}
        labels[attribute] = value
        domain, topic = self.topics.draw(rng, language)
        return DialogueSpec(
            dialogue_id=did,
            index=index,
            seed=seed,
            language=language,
            topic=topic,
            domain=domain,
            target_attribute=attribute,
            target_value=value,
            num_turns=num_turns,
            attribute_turn=attribute_turn,
            user_labels=labels,
            speakers=[user, self._assistant(rng, did, language)],
            scene=self._scene(rng, attribute, value),
            events=self._events(rng, num_turns, attribute_turn),
        )

    def _language(self, rng: np.random.Generator, attribute: str) -> str:
        options = [
            lang for lang in self.config.plan.languages if lang in TAXONOMY[attribute].languages
        ]
        return weighted_choice(rng, options, dict(self.config.plan.languages))

    def _assistant(self, rng: np.random.Generator, did: str, language: str) -> SpeakerSpec:
        gender = str(rng.choice(["female", "male"]))
        return SpeakerSpec(f"{did}-assistant", "assistant", gender, language=language)

    def _scene(self, rng: np.random.Generator, attribute: str, value: str) -> SceneSpec:
        plan = self.config.plan
        kind = snr = None
        if rng.random() < plan.noise_probability:
            low, high = plan.noise_snr_db
            kind, snr = str(rng.choice(plan.noise_kinds)), round(float(rng.uniform(low, high)), 1)
        return SceneSpec(
            noise_kind=kind,
            noise_snr_db=snr,
            audio_event=value if attribute == "audio_event" else None,
            music=value if attribute == "music" else None,
        )

    def _events(self, rng: np.random.Generator, num_turns: int, attribute_turn: int) -> list:
        """Events go on turns other than the attribute turn and its reply. An interruption, an
        overlap and a non-query each decide how their turn ends, so each takes a turn of its
        own, and the first two one that a next turn follows; an event with no such turn left
        is not planned (a planned event always has its audio)."""
        free = [t for t in range(1, num_turns) if t not in (attribute_turn, attribute_turn + 1)]
        taken: set[int] = set()
        events = []
        for kind, probability in sorted(self.config.plan.events.items()):
            if not free or rng.random() >= probability:
                continue
            value = str(rng.choice(ATTRIBUTE_VALUES[kind]))
            turns = [t for t in free if kind not in TURN_ENDINGS or t not in taken]
            if kind in ("interruption", "overlap"):
                turns = [t for t in turns if t < num_turns - 1]
            if turns:
                turn = int(rng.choice(turns))
                taken |= {turn} if kind in TURN_ENDINGS else set()
                events.append(PlannedEvent(kind, value, turn))
        return events
