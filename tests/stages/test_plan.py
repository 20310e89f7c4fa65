from collections import Counter

from dialogsmith.runner import plan_shards
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.plan import PlanStage
from dialogsmith.taxonomy import ATTRIBUTE_VALUES
from support import small_config


def planned(config, first=0, count=None):
    stage = PlanStage(config, "unused")
    stage.setup()
    count = config.num_dialogues if count is None else count
    return [d.spec for d in stage.process(ShardBatch(0, first, count)).dialogues]


def test_targets_are_balanced_over_attributes_and_values():
    config = small_config(num_dialogues=4 * 42)
    specs = planned(config)
    per_attribute = Counter(s.target_attribute for s in specs)
    assert set(per_attribute.values()) == {42}
    for attribute, values in ATTRIBUTE_VALUES.items():
        counts = Counter(s.target_value for s in specs if s.target_attribute == attribute)
        assert set(counts) == set(values)
        assert max(counts.values()) - min(counts.values()) <= 1


def test_spec_carries_consistent_labels_and_turns():
    for spec in planned(small_config(num_dialogues=40, **{"plan.max_turns": 8})):
        assert spec.user_labels[spec.target_attribute] == spec.target_value
        assert spec.speaker("user").gender == spec.user_labels["gender"]
        assert spec.num_turns % 2 == 0 and 4 <= spec.num_turns <= 8
        assert spec.attribute_turn % 2 == 0 and spec.attribute_turn < spec.num_turns - 1
        if spec.scene.noise_kind is not None:
            assert 10 <= spec.scene.noise_snr_db <= 30


def test_plan_is_seeded_and_independent_of_sharding():
    config = small_config(num_dialogues=12)
    whole = planned(config)
    pieces = []
    for shard in plan_shards(config.model_copy(update={"shard_size": 5})):
        pieces += planned(config, shard.first_index, shard.count)
    assert whole == pieces
    assert planned(config) == whole
    other_seed = planned(small_config(num_dialogues=12, seed=8))
    assert [s.topic for s in other_seed] != [s.topic for s in whole]
