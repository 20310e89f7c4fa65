"""Plan: a seeded, balanced `DialogueSpec` per dialogue index."""

from __future__ import annotations

from importlib import resources

import numpy as np

from dialogsmith.config import JobConfig
from dialogsmith.records import Dialogue, DialogueSpec, SceneSpec, SpeakerSpec
from dialogsmith.seeding import derive_seed, dialogue_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.taxonomy import ATTRIBUTE_VALUES, NEUTRAL_VALUE


def dialogue_id(index: int) -> str:
    return f"dlg-{index:07d}"


def load_topics() -> list[str]:
    text = resources.files("dialogsmith.prompts").joinpath("topics.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def balanced_target(config: JobConfig, index: int) -> tuple[str, str]:
    """Attributes round-robin; each attribute's values in seeded blocks, so counts stay even."""
    attributes = config.plan.attributes
    attribute = attributes[index % len(attributes)]
    values = ATTRIBUTE_VALUES[attribute]
    round_, position = divmod(index // len(attributes), len(values))
    order = np.random.default_rng(derive_seed(config.seed, "plan", attribute, round_))
    return attribute, values[order.permutation(len(values))[position]]


class PlanStage(Stage):
    name = "plan"
    default_resources = Resources(cpus=0.25)

    def setup(self) -> None:
        self.topics = load_topics()

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        first = batch.first_index
        batch.dialogues = [Dialogue(spec=self.plan(i)) for i in range(first, first + batch.count)]

    def plan(self, index: int) -> DialogueSpec:
        cfg = self.config
        did = dialogue_id(index)
        seed = dialogue_seed(cfg.seed, did)
        rng = stage_rng(seed, self.name)
        attribute, value = balanced_target(cfg, index)
        labels = dict(NEUTRAL_VALUE)
        labels["gender"] = str(rng.choice(ATTRIBUTE_VALUES["gender"]))
        labels[attribute] = value
        turn_choices = range(cfg.plan.min_turns // 2 * 2, cfg.plan.max_turns + 1, 2)
        num_turns = int(rng.choice(list(turn_choices) or [2]))
        attribute_turn = 2 * int(rng.integers(0, num_turns // 2))
        return DialogueSpec(
            dialogue_id=did,
            index=index,
            seed=seed,
            language=cfg.language,
            topic=str(rng.choice(self.topics)),
            target_attribute=attribute,
            target_value=value,
            num_turns=num_turns,
            attribute_turn=attribute_turn,
            user_labels=labels,
            speakers=[
                SpeakerSpec(f"{did}-user", "user", labels["gender"]),
                SpeakerSpec(f"{did}-assistant", "assistant", str(rng.choice(["female", "male"]))),
            ],
            scene=self._scene(rng),
        )

    def _scene(self, rng: np.random.Generator) -> SceneSpec:
        plan = self.config.plan
        if rng.random() >= plan.noise_probability:
            return SceneSpec(noise_kind=None, noise_snr_db=None)
        low, high = plan.noise_snr_db
        snr = round(float(rng.uniform(low, high)), 1)
        return SceneSpec(noise_kind=str(rng.choice(plan.noise_kinds)), noise_snr_db=snr)
