import numpy as np

from dialogsmith.records import (
    Dialogue,
    SceneSpec,
    Script,
    SpeakerSpec,
    Timeline,
    Track,
    Turn,
    TurnAudio,
    TurnCheck,
    Verification,
    VoiceCast,
)
from dialogsmith.serialize import dumps, loads
from dialogsmith.tts_backends.base import TurnStyle, VoiceSpec
from support import make_spec


def full_dialogue() -> Dialogue:
    spec = make_spec(
        dialogue_id="dlg-0000001",
        index=1,
        seed=42,
        topic="a lost umbrella on the bus",
        target_value="fast",
        user_labels={"gender": "female", "speed": "fast"},
        speakers=[SpeakerSpec("u", "user", "female"), SpeakerSpec("a", "assistant", "male")],
        scene=SceneSpec(noise_kind="pink", noise_snr_db=12.5),
    )
    turns = [
        Turn(0, "user", "Hi there.", {"speed": "fast"}),
        Turn(1, "assistant", "Slow down a little.", reacts_to="speed"),
    ]
    voice = VoiceSpec("flite", "slt", "female", "us", params=(("k", "v"),))
    return Dialogue(
        spec=spec,
        script=Script(turns=turns, raw="{}", attempts=1),
        cast=VoiceCast(voices={"user": voice}, styles=[TurnStyle(1.4, 2.0, 0.5)]),
        audio=[TurnAudio(0, 16000, 0.5, samples=np.ones(8000, dtype=np.float32))],
        timeline=Timeline(16000, 2.0, [Track("speech", "user", "user", 0.3, 0.5, turn_index=0)]),
        verification=Verification([TurnCheck(0, "user", "hi there", 0.0, 0.9, 0.5)]),
        stage_seconds={"plan": 0.1},
        channels={"mix": np.zeros(4)},
    )


def test_json_round_trip_keeps_metadata_and_drops_audio():
    original = full_dialogue()
    restored = loads(Dialogue, dumps(original))
    assert restored.spec == original.spec
    assert restored.script == original.script
    assert restored.cast == original.cast
    assert restored.timeline == original.timeline
    assert restored.verification == original.verification
    assert restored.audio[0].duration_s == 0.5 and restored.audio[0].samples is None
    assert restored.channels is None and restored.stage_seconds == {}
    assert dumps(restored) == dumps(original)


def test_units_and_derived_values():
    d = full_dialogue()
    assert d.timeline.tracks[0].end_s == 0.8
    assert d.verification.mean_wer == 0.0 and not d.verification.failed
    d.reject("verify", "wer_above_threshold", "turn 0")
    assert d.rejected and d.rejection.reason == "wer_above_threshold"
