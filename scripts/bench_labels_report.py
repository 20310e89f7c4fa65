"""The label-fidelity report (`make bench-labels`): is every label of the verified dialogues
true of their exported channels?

- per label value: user turns whose measurement agrees with the label (the written rules of
  `qa.attribute_checks`, every label of every turn), over every verified dialogue and over the
  kept ones;
- overlaps heard on both speaker channels (VAD) over overlaps on the timeline, and seconds;
- events with audio over events planned (`qa.label_fidelity.missing_events`);
- identities over distinct timbres, and identities that share a voice;
- speed: the spread of the rate ratio of plain turns (syllables/s and words/s against the
  same speaker's other plain turns), 5th / 50th / 95th percentiles.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from dialogsmith.qa.label_fidelity import heard_overlaps, label_checks, missing_events
from dialogsmith.qa.label_fidelity import planned_events as count_planned
from dialogsmith.records import Dialogue
from dialogsmith.stages.voice import collisions_among, voice_ref


def label_report(dialogues: list[Dialogue], verify) -> dict:
    """`dialogues` have been through verify (kept or rejected there); `verify` is its stage."""
    verified = [d for d in dialogues if d.verification is not None and d.channels is not None]
    agree: dict[str, Counter] = defaultdict(Counter)
    overlaps = Counter()
    events = Counter()
    rates: dict[str, list[float]] = {"syllables": [], "words": []}
    voices: dict[str, str] = {}
    for d in verified:
        kept = d.rejection is None
        checks = _checks(d, verify)
        for index, results in checks.items():
            if d.script.turns[index].role != "user":
                continue
            for check in results:
                if check.attribute == "speech":
                    continue
                key = f"{check.attribute}={check.label}"
                agree[key]["all"] += 1
                agree[key]["all_agree"] += check.passed
                agree[key]["kept"] += kept
                agree[key]["kept_agree"] += kept and check.passed
        _rates(d, checks, rates)
        detected = {
            role: verify.vad.speech_regions(d.channels[role], d.timeline.sample_rate)
            for role in ("user", "assistant")
        }
        heard = heard_overlaps(d, detected)
        for name in ("expected", "heard", "expected_s", "heard_s"):
            overlaps[name] += getattr(heard, name)
            overlaps[f"kept_{name}"] += getattr(heard, name) if kept else 0
        events["planned"] += count_planned(d)
        events["missing"] += len(missing_events(d))
        if kept:
            voices[d.spec.speaker("user").speaker_id] = voice_ref(d.cast.voices["user"])
    return {
        "dialogues_verified": len(verified),
        "dialogues_kept": sum(d.rejection is None for d in verified),
        "labels": {k: _agreement(v) for k, v in sorted(agree.items())},
        "overlaps": _overlaps(overlaps),
        "events": {
            "planned": events["planned"],
            "with_audio": events["planned"] - events["missing"],
            "share": _share(events["planned"] - events["missing"], events["planned"]),
        },
        "identities": _identities(voices),
        "speed_rate_ratio_plain_turns": {k: _percentiles(v) for k, v in rates.items()},
    }


def _checks(d: Dialogue, verify) -> dict:
    inputs = {
        t.index: verify._turn_input(d, t, a)
        for t, a in zip(d.script.turns, d.audio, strict=True)
        if t.role == "user"
    }
    return label_checks(d, inputs, verify.thresholds, verify.emotion)


def _rates(d: Dialogue, checks: dict, rates: dict[str, list[float]]) -> None:
    """Rate of each plain user turn over the median of the speaker's other plain turns."""
    plain = [
        i
        for i in checks
        if d.script.turns[i].role == "user"
        and i != d.spec.attribute_turn
        and d.script.turns[i].labels.get("speed", "normal") == "normal"
    ]
    if len(plain) < 2:
        return
    syllables = {i: _measured(checks[i], "speed", "rate_syllables_per_s") for i in plain}
    durations = {i: _measured(checks[i], "speech", "duration_s") for i in plain}
    words = {i: len(d.script.turns[i].text.split()) / durations[i] for i in plain}
    for name, rate in (("syllables", syllables), ("words", words)):
        for i in plain:
            others = [rate[j] for j in plain if j != i]
            rates[name].append(rate[i] / float(np.median(others)))


def _measured(results: list, attribute: str, name: str) -> float:
    return float(next(c.measured[name] for c in results if c.attribute == attribute))


def _agreement(counts: Counter) -> dict:
    return {
        "turns": counts["all"],
        "agree": _share(counts["all_agree"], counts["all"]),
        "kept_turns": counts["kept"],
        "kept_agree": _share(counts["kept_agree"], counts["kept"]),
    }


def _overlaps(c: Counter) -> dict:
    return {
        "planned": c["expected"],
        "heard": c["heard"],
        "share_heard": _share(c["heard"], c["expected"]),
        "timeline_s": round(c["expected_s"], 2),
        "heard_s": round(c["heard_s"], 2),
        "kept_share_heard": _share(c["kept_heard"], c["kept_expected"]),
    }


def _identities(voices: dict[str, str]) -> dict:
    return {
        "identities": len(voices),
        "distinct_timbres": len(set(voices.values())),
        "identities_sharing_a_voice": collisions_among(voices),
    }


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"n": len(values), "p5": round(p5, 3), "p50": round(p50, 3), "p95": round(p95, 3)}


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None
