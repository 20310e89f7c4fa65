from dataclasses import replace

import numpy as np
import pytest

from dialogsmith.audio import peak_dbfs
from dialogsmith.config import TurnTakingConfig
from dialogsmith.mixing import (
    coloured_noise,
    overlap_snr_db,
    render_timeline,
    speech_mask,
    speech_power,
)
from dialogsmith.records import (
    ClipAudio,
    Dialogue,
    PlannedEvent,
    SceneSpec,
    Script,
    Timeline,
    Turn,
    TurnAudio,
)
from dialogsmith.serialize import dumps, loads
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.scene import SceneStage
from dialogsmith.stages.scene_timing import draw_offset, word_boundaries
from support import make_spec, small_config

RATE = 16000
WORDS = "aaaa bbbb cccc dddd eeee ffff"
WORD_S, PAUSE_S = 0.25, 0.08


def spoken(freq: float, amplitude: float = 0.3, words: int = 6) -> np.ndarray:
    """Tone bursts of equal length with short silences: words with pauses between them."""
    t = np.arange(int(WORD_S * RATE)) / RATE
    burst = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    pause = np.zeros(int(PAUSE_S * RATE), dtype=np.float32)
    parts = [burst if i % 2 == 0 else pause for i in range(2 * words - 1)]
    return np.concatenate(parts)


def dialogue(noise_kind="pink", snr=10.0, amplitude=0.3, seed=3, events=(), clips=()) -> Dialogue:
    spec = make_spec(
        "male",
        seed=seed,
        target_attribute="volume",
        target_value="loud",
        num_turns=4,
        scene=SceneSpec(noise_kind=noise_kind, noise_snr_db=snr if noise_kind else None),
        events=list(events),
    )
    roles = ["user", "assistant", "user", "assistant"]
    turns = [Turn(i, r, WORDS) for i, r in enumerate(roles)]
    audio = []
    for i in range(4):
        samples = spoken(200 + 100 * i, amplitude)
        audio.append(TurnAudio(i, RATE, len(samples) / RATE, samples=samples))
    return Dialogue(spec=spec, script=Script(turns, "", 1), audio=audio, clips=list(clips) or None)


def run_scene(d: Dialogue, **overrides) -> Dialogue:
    SceneStage(small_config(**overrides), "unused").process(ShardBatch(0, 0, 1, [d]))
    return d


def rebuild(d: Dialogue) -> dict[str, np.ndarray]:
    timeline = loads(Timeline, dumps(d.timeline))
    turns = {a.turn_index: a.samples for a in d.audio}
    clips = {c.clip_id: c.samples for c in d.clips or []}
    return render_timeline(timeline, turns, clips)


def quiet(samples: np.ndarray) -> np.ndarray:
    return np.abs(samples) < 1e-7


def test_each_channel_holds_only_its_own_speakers_turns():
    d = run_scene(dialogue(noise_kind=None))
    speech = d.timeline.speech()
    assert [t.turn_index for t in speech] == [0, 1, 2, 3]
    for role in ("user", "assistant"):
        own = np.zeros(len(d.channels[role]), dtype=bool)
        for track in speech:
            if track.channel == role:
                own[round(track.offset_s * RATE) : round(track.end_s * RATE)] = True
        assert quiet(d.channels[role][~own]).all()
        assert not quiet(d.channels[role][own]).all()
    assert np.array_equal(
        d.channels["mix"], d.channels["user"] + d.channels["assistant"] + d.channels["background"]
    )


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_overlap_probability_decides_between_gaps_and_overlaps(probability):
    d = run_scene(
        dialogue(noise_kind=None), **{"scene.turn_taking.overlap_probability": probability}
    )
    transitions = d.timeline.transitions()
    assert all(g < 0 for g in transitions) if probability else all(g > 0 for g in transitions)
    active = {role: quiet(d.channels[role]) == 0 for role in ("user", "assistant")}
    both = active["user"] & active["assistant"]
    assert both.any() == bool(probability)


def test_gap_and_overlap_draws_follow_the_configured_means():
    cfg = TurnTakingConfig(min_overlap_s=0.25)  # a floor few draws reach keeps the mean
    rng = np.random.default_rng(0)
    draws = np.array([draw_offset(rng, cfg, 4.0, 3.0) for _ in range(4000)])
    overlaps, gaps_ = -draws[draws < 0], draws[draws > 0]
    assert len(overlaps) / len(draws) == pytest.approx(cfg.overlap_probability, abs=0.03)
    assert gaps_.mean() == pytest.approx(cfg.mean_silence * 4.0, rel=0.06)
    assert overlaps.mean() == pytest.approx(cfg.mean_overlap * 3.0, rel=0.06)
    assert overlaps.max() <= 1.5
    assert overlaps.min() == pytest.approx(cfg.min_overlap_s), "shorter is not heard as overlap"


def test_word_boundaries_land_in_the_pauses_between_words():
    samples = spoken(300)
    for index, at in word_boundaries(samples, RATE, WORDS):
        pause_start = index * WORD_S + (index - 1) * PAUSE_S
        assert pause_start <= at <= pause_start + PAUSE_S


def test_an_interrupted_turn_is_cut_at_a_word_boundary_with_a_fade_and_recorded():
    event = PlannedEvent("interruption", "user_interrupts", 1)
    d = run_scene(dialogue(noise_kind=None, events=[event]))
    cut, interrupter = d.timeline.speech()[1], d.timeline.speech()[2]
    assert cut.duration_s < d.audio[1].duration_s and cut.fade_out_s > 0
    assert interrupter.offset_s < cut.end_s, "the interrupter starts before the cut turn stops"
    word = d.script.turns[1].cut_at_word
    assert 1 <= word < 6
    pause_start = word * WORD_S + (word - 1) * PAUSE_S
    assert pause_start <= cut.duration_s <= pause_start + PAUSE_S
    end = round(cut.end_s * RATE)
    assert quiet(d.channels["assistant"][end : round(interrupter.end_s * RATE)]).all()
    assert all(t.cut_at_word is None for i, t in enumerate(d.script.turns) if i != 1)


def test_a_backchannel_sits_on_the_listeners_channel_inside_the_speakers_turn():
    clip = spoken(900, words=1)
    bc = ClipAudio("backchannel-0", "assistant", "mm-hm", RATE, len(clip) / RATE, samples=clip)
    event = PlannedEvent("backchannel", "assistant_backchannel", 0)
    d = run_scene(dialogue(noise_kind=None, events=[event], clips=[bc]))
    track = next(t for t in d.timeline.tracks if t.kind == "backchannel")
    turn = d.timeline.speech()[0]
    assert track.channel == "assistant" and turn.channel == "user"
    assert turn.offset_s < track.offset_s and track.end_s < turn.end_s
    start = round(track.offset_s * RATE)
    heard = d.channels["assistant"][start : start + len(clip)]
    assert np.corrcoef(heard, clip)[0, 1] > 0.999
    assert quiet(d.channels["user"][start : start + len(clip)]).mean() < 0.5


def test_overheard_speech_goes_to_the_background_between_turns():
    line = spoken(600, words=3)
    clip = ClipAudio("overheard", "other", "pass the salt", RATE, len(line) / RATE, samples=line)
    event = PlannedEvent("non_query", "background_talk", 1)
    d = run_scene(
        dialogue(noise_kind=None, events=[event], clips=[clip]), **{"scene.loudness_lufs": None}
    )
    track = next(t for t in d.timeline.tracks if t.kind == "nonquery")
    speech = d.timeline.speech()
    assert speech[1].end_s < track.offset_s and track.end_s < speech[2].offset_s
    assert track.caption.endswith("pass the salt")
    start = round(track.offset_s * RATE)
    assert not quiet(d.channels["background"][start : start + len(line)]).all()
    assert quiet(d.channels["user"][start : start + len(line)]).all()


@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_noise_is_added_at_the_configured_snr_over_the_speech_it_overlaps(kind, snr):
    d = run_scene(dialogue(noise_kind=kind, snr=snr))
    speech = d.channels["user"] + d.channels["assistant"]
    active = speech_mask(d.timeline)
    measured = overlap_snr_db(speech, d.channels["background"], active, np.ones_like(active))
    assert abs(measured - snr) < 0.5
    noise_power = np.mean(np.square(d.channels["background"], dtype=np.float64))
    assert abs(10 * np.log10(speech_power(d.channels, d.timeline) / noise_power) - snr) < 0.5


def test_mix_is_normalised_to_the_target_loudness_without_clipping():
    import pyloudnorm

    d = run_scene(dialogue(amplitude=0.05, snr=15.0))
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(d.channels["mix"].astype(np.float64))
    assert loudness == pytest.approx(-23.0, abs=0.5)
    assert d.timeline.loudness_lufs == pytest.approx(loudness, abs=0.05)
    assert all(peak_dbfs(x) <= -1.0 + 1e-3 for x in d.channels.values())


def test_loud_scene_is_held_below_the_peak_limit_and_rebuilds_identically():
    d = run_scene(dialogue(amplitude=0.99, snr=0.0), **{"scene.loudness_lufs": -5.0})
    assert d.timeline.master_gain_db < 0
    assert all(peak_dbfs(x) <= -1.0 + 1e-3 for x in d.channels.values())
    rebuilt = rebuild(d)
    for name, samples in d.channels.items():
        assert np.array_equal(rebuilt[name], samples)


def test_events_and_clips_rebuild_identically_from_the_stored_timeline():
    bc = spoken(900, words=1)
    clip = ClipAudio("backchannel-2", "assistant", "right", RATE, len(bc) / RATE, samples=bc)
    events = [
        PlannedEvent("interruption", "user_interrupts", 0),
        PlannedEvent("backchannel", "assistant_backchannel", 2),
    ]
    d = run_scene(dialogue(events=events, clips=[clip]), **{"scene.crosstalk_db": -30.0})
    assert {t.kind for t in d.timeline.tracks} >= {"speech", "backchannel", "crosstalk", "noise"}
    rebuilt = rebuild(d)
    for name, samples in d.channels.items():
        assert np.array_equal(rebuilt[name], samples)


def test_scene_is_seeded():
    a, b = run_scene(dialogue(seed=1)), run_scene(dialogue(seed=1))
    c = run_scene(dialogue(seed=2))
    assert a.timeline == b.timeline and np.array_equal(a.channels["mix"], b.channels["mix"])
    assert a.timeline != c.timeline


def test_coloured_noise_spectra_tilt_as_named():
    def low_to_high(kind):
        spectrum = np.abs(np.fft.rfft(coloured_noise(kind, 32000, seed=0))) ** 2
        return spectrum[10:400].mean() / spectrum[8000:12000].mean()

    assert low_to_high("white") < 2 < low_to_high("pink") < low_to_high("brown")
    with pytest.raises(ValueError, match="allowed"):
        coloured_noise("purple", 10, 0)


@pytest.mark.parametrize(
    ("scene", "kind"),
    [
        (SceneSpec(None, None, audio_event="dog_bark"), "event"),
        (SceneSpec(None, None, audio_event="phone_ring"), "event"),
        (SceneSpec(None, None, music="sad_piano"), "music"),
    ],
)
def test_events_and_music_sit_at_their_snr_over_the_speech_they_overlap(scene, kind):
    d = dialogue(noise_kind=None)
    d.spec = replace(d.spec, scene=scene, attribute_turn=2)
    run_scene(d)
    track = next(t for t in d.timeline.tracks if t.kind == kind)
    assert track.caption and track.source.startswith(f"{kind}:")
    if kind == "event":
        turn = d.timeline.speech()[2]
        assert track.offset_s <= turn.offset_s and track.end_s >= turn.end_s
    speech = d.channels["user"] + d.channels["assistant"]
    source_active = np.abs(d.channels["background"]) > 0
    measured = overlap_snr_db(
        speech, d.channels["background"], speech_mask(d.timeline), source_active
    )
    assert abs(measured - track.snr_db) < 0.5
    rebuilt = rebuild(d)
    assert np.array_equal(rebuilt["mix"], d.channels["mix"])


def test_a_room_reverberates_the_users_channel_only_and_rebuilds_identically():
    dry = run_scene(dialogue(noise_kind=None), **{"scene.loudness_lufs": None})
    wet = run_scene(
        dialogue(noise_kind=None), **{"scene.loudness_lufs": None, "scene.room.probability": 1.0}
    )
    room = wet.timeline.room
    assert room is not None and 0.2 <= room.rt60_s <= 0.6
    user = [t for t in wet.timeline.speech() if t.channel == "user"]
    assert all(t.room_position == "user" for t in user)
    assert all(t.room_position is None for t in wet.timeline.speech() if t.channel == "assistant")
    end = round(user[0].end_s * RATE)
    tail = wet.channels["user"][end : end + RATE // 10]
    assert np.abs(tail).max() > 1e-3, "reverberation rings on after the turn ends"
    assert not np.array_equal(wet.channels["user"], dry.channels["user"])
    rebuilt = rebuild(wet)
    assert np.array_equal(rebuilt["user"], wet.channels["user"])


def test_low_fidelity_degrades_only_the_labelled_turn():
    from dialogsmith.stages.scene_channel import effective_bandwidth_hz

    d = dialogue(noise_kind=None)
    rng = np.random.default_rng(0)
    for a in d.audio:  # broadband speech stand-in: the band limit must show
        a.samples = (a.samples + 0.05 * rng.standard_normal(len(a.samples))).astype(np.float32)
    turns = list(d.script.turns)
    turns[2] = replace(turns[2], labels={"fidelity": "low"})
    d.script = replace(d.script, turns=turns)
    run_scene(d, **{"scene.loudness_lufs": None})
    speech = d.timeline.speech()
    assert speech[2].effect and all(t.effect is None for i, t in enumerate(speech) if i != 2)

    def bandwidth(track):
        piece = d.channels["user"][round(track.offset_s * RATE) : round(track.end_s * RATE)]
        return effective_bandwidth_hz(piece, RATE)

    assert bandwidth(speech[2]) < 4000 < bandwidth(speech[0])


def test_babble_of_bank_voices_sits_at_its_snr():
    d = run_scene(dialogue(noise_kind="babble", snr=5.0), **{"scene.background.babble_talkers": 2})
    track = next(t for t in d.timeline.tracks if t.kind == "noise")
    assert track.source == "babble:2" and "people talking" in track.caption
    speech = d.channels["user"] + d.channels["assistant"]
    active = speech_mask(d.timeline)
    measured = overlap_snr_db(speech, d.channels["background"], active, np.ones_like(active))
    assert abs(measured - 5.0) < 0.5


def test_every_planned_event_is_found_on_the_timeline_or_named_missing():
    from dialogsmith.qa.label_fidelity import missing_events

    events = [
        PlannedEvent("interruption", "user_interrupts", 0),
        PlannedEvent("non_query", "background_noise", 1),
        PlannedEvent("overlap", "short_overlap", 2),
    ]
    d = run_scene(dialogue(events=events))
    assert missing_events(d) == []
    talk = run_scene(dialogue(events=[PlannedEvent("non_query", "background_talk", 1)]))
    assert not any(t.kind == "nonquery" for t in talk.timeline.tracks)  # no line to play
    assert missing_events(talk) == ["non_query=background_talk at turn 1"]
