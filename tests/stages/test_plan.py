from collections import Counter

import pytest

from dialogsmith.config import ConfigError
from dialogsmith.runner import plan_shards
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.plan import TURN_ENDINGS, PlanStage
from dialogsmith.stages.topics import TopicBank
from dialogsmith.taxonomy import ATTRIBUTE_VALUES, TARGET_ATTRIBUTES
from support import small_config

ALL = {
    "plan.attributes": list(TARGET_ATTRIBUTES),
    "plan.languages": {"en": 1.0, "zh": 1.0},
    "plan.realisable_only": False,
}


def planned(config, first=0, count=None):
    stage = PlanStage(config, "unused")
    stage.setup()
    count = config.num_dialogues if count is None else count
    return [d.spec for d in stage.process(ShardBatch(0, first, count)).dialogues]


def test_every_target_and_value_is_covered_evenly():
    lengths = [len(ATTRIBUTE_VALUES[a]) for a in TARGET_ATTRIBUTES]
    rounds = 2 * max(lengths)
    specs = planned(small_config(num_dialogues=len(TARGET_ATTRIBUTES) * rounds, **ALL))
    assert set(Counter(s.target_attribute for s in specs).values()) == {rounds}
    for attribute in TARGET_ATTRIBUTES:
        counts = Counter(s.target_value for s in specs if s.target_attribute == attribute)
        assert set(counts) == set(ATTRIBUTE_VALUES[attribute])
        assert max(counts.values()) - min(counts.values()) <= 1


def test_realisable_only_plans_just_the_accents_a_voice_speaks():
    config = small_config(num_dialogues=40, **{"plan.attributes": ["accent", "speed"]})
    specs = planned(config)
    accents = {s.target_value for s in specs if s.target_attribute == "accent"}
    assert accents == {"us", "gb"}
    assert {s.speaker("user").accent for s in specs} <= {"us", "gb", None}


def test_weighted_coverage_follows_the_weights():
    config = small_config(
        num_dialogues=600,
        **{
            "plan.coverage": "weighted",
            "plan.attributes": ["speed", "volume"],
            "plan.weights": {"speed": 3.0, "volume": 1.0},
            "plan.value_weights": {"speed": {"fast": 1.0, "slow": 0.0, "normal": 0.0}},
        },
    )
    specs = planned(config)
    share = sum(s.target_attribute == "speed" for s in specs) / len(specs)
    assert 0.68 < share < 0.82
    assert {s.target_value for s in specs if s.target_attribute == "speed"} == {"fast"}


def test_specs_are_consistent_with_their_labels():
    for spec in planned(small_config(num_dialogues=120, **ALL, **{"plan.max_turns": 12})):
        user = spec.speaker("user")
        assert spec.user_labels[spec.target_attribute] == spec.target_value
        assert (user.gender, user.language) == (spec.user_labels["gender"], spec.language)
        assert 4 <= spec.num_turns <= 12 and spec.num_turns % 2 == 0
        assert spec.attribute_turn % 2 == 0 and spec.attribute_turn < spec.num_turns - 1
        if spec.target_attribute == "accent":
            assert spec.language == "en" and user.accent == spec.target_value
        if spec.target_attribute in ("audio_event", "music"):
            assert getattr(spec.scene, spec.target_attribute) == spec.target_value
        assert spec.topic and spec.domain


def test_a_speaker_keeps_the_same_identity_across_dialogues():
    specs = planned(small_config(num_dialogues=300, **ALL, **{"plan.speaker_pool": 60}))
    identities: dict[str, tuple] = {}
    for spec in specs:
        user = spec.speaker("user")
        identity = (user.gender, user.age, user.accent, user.language)
        assert identities.setdefault(user.speaker_id, identity) == identity
    assert len(identities) > 40, "the pool is used, not a few speakers"


def test_events_are_placed_away_from_the_attribute_exchange():
    events = {"interruption": 0.5, "backchannel": 0.5, "overlap": 0.5, "non_query": 0.5}
    specs = planned(small_config(num_dialogues=80, **{"plan.events": events, "plan.max_turns": 8}))
    placed = [e for s in specs for e in s.events]
    assert {e.kind for e in placed} == set(events)
    for spec in specs:
        for event in spec.events:
            assert event.turn not in (spec.attribute_turn, spec.attribute_turn + 1)
            assert 0 < event.turn < spec.num_turns


def test_events_that_end_a_turn_take_a_turn_each_and_one_a_reply_follows():
    """An interruption, an overlap and a non-query each decide how their turn ends: two on
    one turn, or an interruption of the last turn, would leave one of them without audio."""
    events = {"interruption": 0.9, "backchannel": 0.9, "overlap": 0.9, "non_query": 0.9}
    config = small_config(num_dialogues=120, **{"plan.events": events, "plan.max_turns": 8})
    specs = planned(config)
    for spec in specs:
        endings = [e.turn for e in spec.events if e.kind in TURN_ENDINGS]
        assert len(endings) == len(set(endings)), spec.events
        for event in spec.events:
            if event.kind in ("interruption", "overlap"):
                assert event.turn < spec.num_turns - 1, event
    counts = Counter(e.kind for s in specs for e in s.events)
    assert all(counts[kind] > 30 for kind in events), counts


def test_plan_is_seeded_and_independent_of_sharding():
    config = small_config(num_dialogues=12, **ALL)
    whole = planned(config)
    pieces = []
    for shard in plan_shards(config.model_copy(update={"shard_size": 5})):
        pieces += planned(config, shard.first_index, shard.count)
    assert whole == pieces
    assert planned(config) == whole
    other_seed = planned(small_config(num_dialogues=12, seed=8, **ALL))
    assert [s.topic for s in other_seed] != [s.topic for s in whole]


def test_topic_bank_is_large_and_bilingual():
    bank = TopicBank.load()
    assert bank.count("en") >= 300 and bank.count("zh") >= 150
    assert len(bank.domains) >= 12


def test_unknown_attributes_and_events_are_refused():
    with pytest.raises(ConfigError, match="unknown target attributes \\['pitch'\\]"):
        small_config(**{"plan.attributes": ["pitch"]})
    with pytest.raises(ConfigError, match="unknown event 'applause'"):
        small_config(**{"plan.events": {"applause": 0.1}})
