"""Phase 2 of scripts/bench_scene.py: voice, render, scene and verify the scripted dialogues,
then measure the scene against its configuration and the verification against corrupted labels.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import numpy as np
from tqdm import tqdm

from dialogsmith.config import JobConfig
from dialogsmith.mixing import background_tracks, overlap_snr_db, render_timeline, speech_mask
from dialogsmith.records import Dialogue, Timeline, Track
from dialogsmith.stage import ShardBatch
from dialogsmith.taxonomy import ATTRIBUTE_VALUES
from dialogsmith.tts_backends.base import Audio

MIX_SNRS_DB = (20.0, 10.0, 5.0)
CORRUPTED_SHARE = 0.10


def report(config: JobConfig, scripted: list[Dialogue], labels_only: bool = False) -> dict:
    """The scene benchmark's report; `labels_only`: the label-fidelity part alone."""
    from dialogsmith.stages.render import RenderStage
    from dialogsmith.stages.scene import SceneStage
    from dialogsmith.stages.verify import VerifyStage
    from dialogsmith.stages.voice import VoiceStage

    stages = [cls(config, "unused") for cls in (VoiceStage, RenderStage, SceneStage, VerifyStage)]
    for stage in stages:
        stage.setup()
    dialogues = [d for d in scripted if not d.rejected]
    for d in tqdm(dialogues, desc="voice/render/scene/verify", unit="dlg"):
        batch = ShardBatch(0, d.spec.index, 1, [d])
        for stage in stages:
            stage.process(batch)
    done = [d for d in dialogues if d.timeline is not None and d.verification is not None]
    verify = stages[-1]
    from bench_labels_report import label_report  # next to this file

    fidelity = {"label_fidelity": label_report(dialogues, verify)}
    if labels_only:
        return {"scripted": len(scripted), "after_verify": Counter(map(_outcome, dialogues))} | (
            fidelity
        )
    return fidelity | {
        "scripted": len(scripted),
        "script_rejected": len(scripted) - len(dialogues),
        "after_verify": Counter(_outcome(d) for d in dialogues),
        "stage_seconds_per_dialogue": _stage_seconds(dialogues),
        "scene_rtf": _rtf(done, "scene"),
        "verify_rtf": _rtf(done, "verify"),
        "turn_taking": turn_taking(config, done),
        "snr": snr_agreement(done),
        "verification": pass_rates(done),
        "corrupted_labels": corrupted_labels(config, done, verify),
        "mix_wer": mix_wer(config, done[:40], verify.asr),
    }


def _outcome(d: Dialogue) -> str:
    if d.rejection is not None:
        return f"rejected:{d.rejection.stage}:{d.rejection.reason}"
    return d.verification.verdict if d.verification else "unfinished"


def _stage_seconds(dialogues: list[Dialogue]) -> dict[str, float]:
    names = sorted({n for d in dialogues for n in d.stage_seconds})
    return {
        n: round(float(np.mean([d.stage_seconds.get(n, 0.0) for d in dialogues])), 3) for n in names
    }


def _rtf(dialogues: list[Dialogue], stage: str) -> float:
    audio = sum(d.timeline.duration_s for d in dialogues)
    return round(sum(d.stage_seconds.get(stage, 0.0) for d in dialogues) / audio, 4)


def turn_taking(config: JobConfig, dialogues: list[Dialogue]) -> dict:
    """Ordinary transitions (no planned event on them) against the configured distribution."""
    tt = config.scene.turn_taking
    gaps, overlaps, special = [], [], Counter()
    for d in dialogues:
        speech = sorted(d.timeline.speech(), key=lambda t: t.turn_index)
        events = {e.turn: e.kind for e in d.spec.events if e.kind != "backchannel"}
        for a, b in itertools.pairwise(speech):
            offset = b.offset_s - a.end_s
            if a.turn_index in events:
                special[events[a.turn_index]] += 1
                continue
            audio = {x.turn_index: x.duration_s for x in d.audio}
            if offset < 0:
                overlaps.append(-offset / min(a.duration_s, audio[b.turn_index]))
            else:
                gaps.append(offset / a.duration_s)
    n = len(gaps) + len(overlaps)
    return {
        "ordinary_transitions": n,
        "event_transitions": dict(special),
        "overlap_share": {
            "measured": round(len(overlaps) / n, 3),
            "configured": tt.overlap_probability,
        },
        "gap_over_previous_turn": _summary(gaps, tt.mean_silence),
        "overlap_over_shorter_turn": _summary(overlaps, tt.mean_overlap),
        "backchannels": sum(t.kind == "backchannel" for d in dialogues for t in d.timeline.tracks),
        "interruptions": sum(t.cut_at_word is not None for d in dialogues for t in d.script.turns),
    }


def _summary(values: list[float], configured_mean: float) -> dict:
    if not values:
        return {"n": 0}
    q = np.quantile(values, [0.1, 0.5, 0.9])
    return {
        "n": len(values),
        "mean": round(float(np.mean(values)), 4),
        "configured_mean": configured_mean,
        "p10_p50_p90": [round(float(x), 4) for x in q],
        "note": "capped at max_gap_s / max_overlap_s and half the shorter turn",
    }


def snr_agreement(dialogues: list[Dialogue]) -> dict:
    """Measured SNR on the exported channels over the speech a background track overlaps,
    where no other background track is active; tracks in gaps (non-query) overlap no speech
    and are counted apart."""
    errors: dict[str, list[float]] = {}
    in_gaps = Counter()
    for d in dialogues:
        master = 10 ** (d.timeline.master_gain_db / 20)
        speech = (d.channels["user"] + d.channels["assistant"]) / master
        clips = {c.clip_id: c.samples for c in d.clips or []}
        placed = background_tracks(d.timeline, speech.astype(np.float32), clips)
        active = speech_mask(d.timeline)
        for index, (_, mask) in placed.items():
            track = d.timeline.tracks[index]
            others = [m for i, (_, m) in placed.items() if i != index]
            alone = mask & ~np.any(others, axis=0) if others else mask
            background = d.channels["background"] / master
            measured = overlap_snr_db(speech, background, active, alone)
            if not np.isfinite(measured):
                in_gaps[track.kind] += 1
                continue
            errors.setdefault(track.kind, []).append(measured - track.snr_db)
    out = {
        kind: {
            "n": len(e),
            "mean_abs_error_db": round(float(np.mean(np.abs(e))), 3),
            "max_abs_error_db": round(float(np.max(np.abs(e))), 3),
        }
        for kind, e in errors.items()
    }
    out["overlapping_no_speech"] = dict(in_gaps)
    return out


def pass_rates(dialogues: list[Dialogue]) -> dict:
    """Share of turns passing each attribute check, and of dialogues per finding."""
    checks: dict[str, list[bool]] = {}
    for d in dialogues:
        for turn in d.verification.turns:
            for check in turn.attributes:
                checks.setdefault(f"{check.attribute}={check.label}", []).append(check.passed)
    findings = Counter(f.check for d in dialogues for f in d.verification.findings)
    return {
        "verdicts": Counter(d.verification.verdict for d in dialogues),
        "attribute_checks": {
            k: {"n": len(v), "pass_rate": round(sum(v) / len(v), 3)}
            for k, v in sorted(checks.items())
        },
        "dialogues_with_finding": dict(findings),
    }


def corrupted_labels(config: JobConfig, dialogues: list[Dialogue], verify) -> dict:
    """Give 10 % of the dialogues a wrong target label (another value of the attribute) on
    the attribute turn and run the attribute checks again; an attribute without a rule
    (age, audio_event, music) cannot be caught, and is counted as missed."""
    rng = np.random.default_rng(config.seed)
    picks = rng.choice(
        len(dialogues), size=max(1, round(CORRUPTED_SHARE * len(dialogues))), replace=False
    )
    caught, by_attr = 0, Counter()
    for k in sorted(int(x) for x in picks):
        d = dialogues[k]
        attr, index = d.spec.target_attribute, d.spec.attribute_turn
        truth = d.script.turns[index].labels.get(attr, d.spec.target_value)
        wrong = str(rng.choice([v for v in ATTRIBUTE_VALUES[attr] if v != truth]))
        corrupted = _relabelled(d, index, attr, wrong)
        checks = verify._attribute_checks(corrupted)[index]
        hit = any(c.attribute == attr and not c.passed for c in checks)
        caught += hit
        by_attr[f"{attr}:{'caught' if hit else 'missed'}"] += 1
    return {
        "dialogues": len(dialogues),
        "corrupted": len(picks),
        "caught": caught,
        "caught_share": round(caught / len(picks), 3),
        "by_attribute": dict(sorted(by_attr.items())),
    }


def _relabelled(d: Dialogue, index: int, attr: str, value: str) -> Dialogue:
    turns = list(d.script.turns)
    turns[index] = replace(turns[index], labels={**turns[index].labels, attr: value})
    spec = replace(d.spec, target_value=value)
    return replace(
        d, spec=spec, script=replace(d.script, turns=turns), verification=None, rejection=None
    )


def mix_wer(config: JobConfig, dialogues: list[Dialogue], asr) -> dict:
    """Whisper WER of the user's turns cut from the mix, with pink noise at fixed SNRs, and in
    a room (RT60 0.3-0.6 s) without noise."""
    from dialogsmith.qa.wer import word_error_rate
    from dialogsmith.stages.scene_sources import sample_room

    conditions: dict[str, list[float]] = {}
    room_cfg = config.scene.room.model_copy(update={"rt60_s": (0.3, 0.6)})
    for d in tqdm(dialogues, desc="mix WER", unit="dlg"):
        speech_only = [t for t in d.timeline.tracks if t.kind in ("speech", "backchannel")]
        clean = replace(d.timeline, tracks=speech_only, master_gain_db=0.0, room=None)
        variants = {"clean_mix": clean}
        for snr in MIX_SNRS_DB:
            noise = Track(
                "noise",
                "background",
                "pink",
                0.0,
                clean.duration_s,
                snr_db=snr,
                seed=1,
                source="noise:pink",
            )
            variants[f"pink_{snr:g}db"] = replace(clean, tracks=[*speech_only, noise])
        room = sample_room(room_cfg, d.spec.seed)
        reverb = [
            replace(t, room_position="user") if t.channel == "user" else t for t in speech_only
        ]
        variants[f"room_rt60_{room.rt60_s:.2f}"] = replace(clean, tracks=reverb, room=room)
        turns = {a.turn_index: a.samples for a in d.audio}
        clips = {c.clip_id: c.samples for c in d.clips or []}
        for name, timeline in variants.items():
            key = "room" if name.startswith("room") else name
            conditions.setdefault(key, []).extend(
                _user_wers(timeline, d, turns, clips, asr, word_error_rate)
            )
    return {
        k: {"turns": len(v), "mean_wer": round(float(np.mean(v)), 4)} for k, v in conditions.items()
    }


def _user_wers(timeline: Timeline, d: Dialogue, turns, clips, asr, wer) -> list[float]:
    mix = render_timeline(timeline, turns, clips)["mix"]
    rate = timeline.sample_rate
    out = []
    for track in timeline.speech():
        if track.channel != "user":
            continue
        piece = mix[round(track.offset_s * rate) : round(track.end_s * rate)]
        turn = d.script.turns[track.turn_index]
        text = (
            turn.text
            if turn.cut_at_word is None
            else " ".join(turn.text.split()[: turn.cut_at_word])
        )
        out.append(wer(text, asr.transcribe(Audio(piece, rate)).text))
    return out
