"""One voice per identity: the job's speaker pool gets distinct voices while the bank allows,
the bank grows with the pool, collisions are counted, and the mapping never depends on the
shard (real bank, real pool; the distinctness check renders with the real TTS backends)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dialogsmith.config import JobConfig, load_config
from dialogsmith.records import Dialogue, Script, Turn
from dialogsmith.runner import plan_shards
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.plan import PlanStage
from dialogsmith.stages.voice import (
    VoiceStage,
    collisions_among,
    identity_voices,
    voice_collisions,
    voice_ref,
)
from dialogsmith.tts_backends.timbre import bank_report, build_timbre_bank

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"
DEMO_BASES = ["hibari:heart", "piper:en_US-joe-medium"]
SENTENCE = "The weather is lovely today, and I think we should go for a walk."


def demo(**overrides) -> JobConfig:
    return load_config(DEMO, **overrides)


def voice_stage(config: JobConfig) -> VoiceStage:
    stage = VoiceStage(config, "unused")
    stage.setup()
    return stage


@pytest.fixture(scope="module")
def stage() -> VoiceStage:
    return voice_stage(demo())


def test_every_identity_of_the_demo_pool_gets_its_own_matching_voice(stage):
    assert [s.language for s in stage.pool] == ["en"] * 240
    assert stage.per_base == 120  # 40 identities per gender x age cell, 20 per base and cell
    assert sum(map(len, stage.user_voices.values())) == 240
    mapping = stage.identity_voices
    assert set(mapping) == {s.speaker_id for s in stage.pool}
    refs = [voice_ref(v) for v in mapping.values()]
    assert len(set(refs)) == len(refs) and stage.pool_collisions == 0
    for speaker in stage.pool:
        voice = mapping[speaker.speaker_id]
        assert (voice.gender, voice.param("age")) == (speaker.gender, speaker.age)
        assert voice.backend in {"hibari", "piper"} and "~" in voice.name


def test_the_pair_that_used_to_collide_is_apart(stage):
    """spk-en-0220 and spk-en-0058 (and 0118 and 0196) shared a voice under the hash."""
    mapping = stage.identity_voices
    assert mapping["spk-en-0220"] != mapping["spk-en-0058"]
    assert mapping["spk-en-0118"] != mapping["spk-en-0196"]


def test_collisions_count_every_identity_that_shares_its_voice():
    assert collisions_among({}) == 0
    assert collisions_among({"a": "v1", "b": "v2"}) == 0
    assert collisions_among({"a": "v1", "b": "v1", "c": "v2", "d": "v3", "e": "v3"}) == 4


def expected_collisions(m: int, n: int) -> int:
    """m identities over n candidates, identity j on candidate j % n: none share while
    m <= n; m - n voices hold two (2(m - n) identities) while m < 2n; all share from 2n on."""
    if m <= n:
        return 0
    return 2 * (m - n) if m < 2 * n else m


@pytest.mark.parametrize(("pool", "per_cell_ids"), [(240, 40), (18, 3), (12, 2)])
def test_a_pool_bigger_than_a_fixed_bank_reports_its_collisions(pool, per_cell_ids):
    stage = voice_stage(demo(**{"plan.speaker_pool": pool, "voice.user_bank_per_base": 6}))
    assert stage.per_base == 6 and sum(map(len, stage.user_voices.values())) == 12
    cells = Counter((s.gender, s.age) for s in stage.pool)
    assert set(cells.values()) == {per_cell_ids} and len(cells) == 6
    per_cell = expected_collisions(per_cell_ids, 2)  # one timbre per base and cell
    assert stage.pool_collisions == voice_collisions(stage.identity_voices) == 6 * per_cell
    refs = [voice_ref(v) for v in stage.identity_voices.values()]
    assert len(set(refs)) == min(len(refs), 12)  # the bank's voices are all used first
    if pool == 12:
        assert stage.pool_collisions == 0


def test_the_auto_bank_grows_with_the_pool_up_to_its_bound():
    small = voice_stage(demo(**{"plan.speaker_pool": 12}))
    assert small.per_base == 6 and small.pool_collisions == 0
    grown = voice_stage(demo(**{"plan.speaker_pool": 600}))
    assert grown.per_base == 300 and grown.pool_collisions == 0  # 100 per cell, 50 per base
    capped = voice_stage(demo(**{"plan.speaker_pool": 1000}))
    assert capped.per_base == 400 and capped.pool_collisions > 0
    fixed = voice_stage(demo(**{"voice.user_bank_per_base": 30}))
    assert fixed.per_base == 30 and fixed.pool_collisions == 240  # 10 per cell for 40 each


def test_a_big_bank_extends_the_small_one_with_labelled_distinct_timbres():
    big = build_timbre_bank(DEMO_BASES, 400, seed=1234)
    assert len({s.ref for s in big}) == len(big) == 800
    small = build_timbre_bank(DEMO_BASES, 12, seed=1234)
    assert [s for s in big if s.base == DEMO_BASES[0]][:12] == small[:12]
    for spec in big:
        voice = spec.voice()
        assert (voice.gender, voice.param("age")) == (spec.gender, spec.age)


def test_the_user_voices_path_maps_identities_without_a_bank():
    """Engine voices carry no age, so a pool without age labels: one voice per gender."""
    config = demo(**{"voice.user_bank_bases": [], "plan.attributes": ["gender", "emotion"]})
    stage = voice_stage(config)
    assert stage.per_base is None
    assert {voice_ref(v) for v in stage.identity_voices.values()} == {
        "hibari:heart",
        "piper:en_US-joe-medium",
    }
    assert stage.pool_collisions == len(stage.pool) == 240


def scripted(specs) -> list[Dialogue]:
    """The planned dialogues with a stand-in script, so the voice stage can cast them."""
    dialogues = []
    for spec in specs:
        turns = [
            Turn(i, "user", "Hello there.", dict(spec.user_labels))
            if i % 2 == 0
            else Turn(i, "assistant", "Hi.")
            for i in range(spec.num_turns)
        ]
        dialogues.append(Dialogue(spec=spec, script=Script(turns, "", 1)))
    return dialogues


def cast_by_shards(config: JobConfig, shard_size: int) -> dict[str, str]:
    """speaker_id -> user voice ref over the job, each shard planned and cast by fresh stages
    (as a worker does); an identity must keep one voice across the job."""
    config = config.model_copy(update={"shard_size": shard_size})
    voices: dict[str, str] = {}
    for shard in plan_shards(config):
        planner = PlanStage(config, "unused")
        planner.setup()
        batch = planner.process(ShardBatch(shard.shard, shard.first_index, shard.count))
        batch.dialogues = scripted(d.spec for d in batch.dialogues)
        voice_stage(config).process(batch)
        for d in batch.dialogues:
            assert not d.rejected, d.rejection
            ref = voice_ref(d.cast.voices["user"])
            assert voices.setdefault(d.spec.speaker("user").speaker_id, ref) == ref
    return voices


def test_the_mapping_is_the_same_in_every_setup_and_shard_split(stage):
    again = voice_stage(demo())
    assert again.identity_voices == stage.identity_voices
    config = demo(num_dialogues=60)
    by_five, by_twelve = cast_by_shards(config, 5), cast_by_shards(config, 12)
    assert by_five == by_twelve
    assert by_five == {s: voice_ref(stage.identity_voices[s]) for s in by_five}
    assert len(by_five) > 40 and collisions_among(by_five) == 0


def test_the_mapping_follows_the_seed_only():
    pool = voice_stage(demo()).pool
    voices = voice_stage(demo()).user_voices
    assert identity_voices(pool, voices, 1234) == identity_voices(pool, voices, 1234)
    assert identity_voices(pool, voices, 1234) != identity_voices(pool, voices, 99)


def test_voices_of_one_cell_of_the_grown_bank_sound_apart():
    """Six of the 40 male middle-aged voices (bank_report spreads them: three from each
    base). Measured 0.60 of the 15 pairs farther apart than a voice from itself (min 0.42,
    median 2.72, within 1.18); 0.60-0.73 in the other cells. The apart pairs are the
    cross-base ones: two timbres of one base in one cell are rarely apart (0.13 of 15
    pairs), since a cell's settings range spans only a few semitones of F0."""
    bank = build_timbre_bank(DEMO_BASES, 120, seed=1234)
    cell = [s for s in bank if (s.gender, s.age) == ("male", "middle_aged")]
    assert len(cell) == 40
    report = bank_report(cell, SENTENCE, 6)
    assert report["voices"] == 6 and report["min_distance"] > 0.2
    assert report["share_pairs_apart"] >= 0.5
    assert report["median_distance"] > 2 * report["mean_within_distance"]
