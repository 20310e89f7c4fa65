"""Is every label true of the audio? Measurements of one dialogue's labels against its
exported channels, for verification and for the label-fidelity report (`make bench-labels`).

- `missing_events`: planned events and sound labels the timeline holds no audio for.
- `heard_overlaps`: the timeline's overlaps of the two speakers against where the VAD hears
  both channels at once; an overlap counts as heard when both are heard over at least
  `MIN_HEARD_SHARE` of it.
- `label_checks`: every label of every user turn checked by the written rules
  (`qa.attribute_checks`), each against the same speaker's other turns but the attribute turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dialogsmith.records import Dialogue

from .attribute_checks import AttributeCheck, CheckThresholds, TurnInput, check_turn
from .emotion import EmotionClassifier
from .turn_measures import measure_turn, speaker_reference
from .vad import Region, merge_regions, overlap_regions

MIN_HEARD_SHARE = 0.5


def missing_events(dialogue: Dialogue) -> list[str]:
    """The planned events and sound labels the timeline holds no audio for."""
    timeline, script, spec = dialogue.timeline, dialogue.script, dialogue.spec
    gaps = timeline.transitions()
    tracks = {(t.kind, t.turn_index) for t in timeline.tracks}
    labels = {(t.kind, t.label) for t in timeline.tracks}
    missing = []
    for event in spec.events:
        near = {event.turn - 1, event.turn, event.turn + 1}
        heard = {
            "interruption": script.turns[event.turn].cut_at_word is not None,
            "overlap": event.turn < len(gaps) and gaps[event.turn] < 0,
            "backchannel": any(("backchannel", i) in tracks for i in near),
            "non_query": ("nonquery", event.value) in labels,
        }.get(event.kind, True)
        if not heard:
            missing.append(f"{event.kind}={event.value} at turn {event.turn}")
    scene = spec.scene
    sounds = (("noise", scene.noise_kind), ("event", scene.audio_event), ("music", scene.music))
    for kind, value in sounds:
        if value is not None and (kind, value) not in labels:
            missing.append(f"{kind}={value}")
    for turn in script.turns:
        for label, kind in (("non_verbal", "nonverbal"), ("stress", "stress")):
            value = turn.labels.get(label)
            if value not in (None, "none") and (kind, turn.index) not in tracks:
                missing.append(f"{label}={value} on turn {turn.index}")
    return missing


def planned_events(dialogue: Dialogue) -> int:
    """How many events and sound labels `missing_events` looks for."""
    scene = dialogue.spec.scene
    sounds = sum(v is not None for v in (scene.noise_kind, scene.audio_event, scene.music))
    marks = sum(
        t.labels.get(label) not in (None, "none")
        for t in dialogue.script.turns
        for label in ("non_verbal", "stress")
    )
    return len(dialogue.spec.events) + sounds + marks


@dataclass(frozen=True)
class HeardOverlaps:
    expected: int  # overlaps on the timeline
    heard: int  # of them, those both channels are heard over
    expected_s: float
    heard_s: float  # seconds both channels are heard at once, anywhere


def expected_speech(dialogue: Dialogue, role: str) -> list[Region]:
    """Where the timeline puts `role`'s own voice (turns and backchannels)."""
    return [
        (t.offset_s, t.end_s)
        for t in dialogue.timeline.foreground()
        if t.channel == role and t.kind != "crosstalk"
    ]


def heard_overlaps(
    dialogue: Dialogue, detected: dict[str, list[Region]], min_share: float = MIN_HEARD_SHARE
) -> HeardOverlaps:
    """The timeline's overlaps against `detected`, the VAD regions of each speaker channel."""
    user, assistant = (expected_speech(dialogue, role) for role in ("user", "assistant"))
    want = overlap_regions(user, assistant)
    got = overlap_regions(detected["user"], detected["assistant"])
    heard = sum(_covered(region, got) >= min_share * (region[1] - region[0]) for region in want)
    return HeardOverlaps(
        expected=len(want),
        heard=int(heard),
        expected_s=round(float(sum(e - s for s, e in want)), 3),
        heard_s=round(float(sum(e - s for s, e in got)), 3),
    )


def _covered(region: Region, regions: list[Region]) -> float:
    start, end = region
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in merge_regions(regions))


def label_checks(
    dialogue: Dialogue,
    inputs: Mapping[int, TurnInput],
    thresholds: CheckThresholds,
    emotion: EmotionClassifier | None = None,
) -> dict[int, list[AttributeCheck]]:
    """Every label of every turn in `inputs` (turn index -> the turn as its channel carries
    it) checked by its rule; a user turn against the speaker's other turns but itself and the
    attribute turn, so a "normal" is a claim like any other."""
    spec = dialogue.spec
    measures = {
        i: measure_turn(x.samples[round(x.speech_start_s * x.sample_rate) :], x.sample_rate, x.text)
        for i, x in inputs.items()
    }
    users = [t.index for t in dialogue.script.turns if t.role == "user" and t.index in inputs]
    out = {}
    for index, turn_input in inputs.items():
        turn = dialogue.script.turns[index]
        reference = None
        if turn.role == "user":
            others = [measures[i] for i in users if i not in (spec.attribute_turn, index)]
            reference = speaker_reference(others)
        out[index] = check_turn(
            turn_input,
            turn.labels,
            reference,
            thresholds,
            emotion,
            measurements=measures[index],
        )
    return out
