"""Arrow schemas of the Parquet manifests and the rows each record gives.

Contract version 3 (see README): one row per kept dialogue, per turn of a kept dialogue, and
per rejected dialogue; `shard` and `key` locate the audio in `shards/shard-{shard}.tar`.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from dialogsmith.records import Dialogue
from dialogsmith.serialize import dumps

MANIFEST_VERSION = 3
AUDIO_CHANNELS = ("mix", "user", "assistant", "background")
"""FLAC members of every sample in a shard tar: `<key>.<channel>.flac`."""

DIALOGUES = pa.schema(
    [
        ("dialogue_id", pa.string()),
        ("shard", pa.int32()),
        ("key", pa.string()),
        ("seed", pa.int64()),
        ("language", pa.string()),
        ("domain", pa.string()),
        ("topic", pa.string()),
        ("target_attribute", pa.string()),
        ("target_value", pa.string()),
        ("num_turns", pa.int32()),
        ("attribute_turn", pa.int32()),
        ("user_id", pa.string()),
        ("user_gender", pa.string()),
        ("user_age", pa.string()),
        ("user_accent", pa.string()),
        ("events", pa.list_(pa.string())),
        ("user_voice", pa.string()),
        ("assistant_voice", pa.string()),
        ("noise_kind", pa.string()),
        ("noise_snr_db", pa.float64()),
        ("audio_event", pa.string()),
        ("music", pa.string()),
        ("room_rt60_s", pa.float64()),
        ("loudness_lufs", pa.float64()),
        ("overlaps", pa.int32()),
        ("interruptions", pa.int32()),
        ("backchannels", pa.int32()),
        ("non_query", pa.int32()),
        ("duration_s", pa.float64()),
        ("mean_wer", pa.float64()),
        ("max_wer", pa.float64()),
        ("verdict", pa.string()),
        ("flags", pa.list_(pa.string())),
        ("script_attempts", pa.int32()),
        ("record_json", pa.string()),
    ]
)

TURNS = pa.schema(
    [
        ("dialogue_id", pa.string()),
        ("shard", pa.int32()),
        ("key", pa.string()),
        ("turn_index", pa.int32()),
        ("role", pa.string()),
        ("text", pa.string()),
        ("emotion", pa.string()),
        ("speed", pa.string()),
        ("volume", pa.string()),
        ("fidelity", pa.string()),
        ("stress", pa.string()),
        ("non_verbal", pa.string()),
        ("reacts_to", pa.string()),
        ("offset_s", pa.float64()),
        ("duration_s", pa.float64()),
        ("speech_start_s", pa.float64()),
        ("speech_end_s", pa.float64()),
        ("gap_before_s", pa.float64()),
        ("cut_at_word", pa.int32()),
        ("channel_effect", pa.string()),
        ("speed_factor", pa.float64()),
        ("gain_db", pa.float64()),
        ("pitch_shift_semitones", pa.float64()),
        ("f0_range_factor", pa.float64()),
        ("hypothesis", pa.string()),
        ("wer", pa.float64()),
        ("cer", pa.float64()),
        ("asr_confidence", pa.float64()),
        ("mix_hypothesis", pa.string()),
        ("mix_wer", pa.float64()),
        ("checks_passed", pa.list_(pa.string())),
        ("checks_failed", pa.list_(pa.string())),
    ]
)

REJECTS = pa.schema(
    [
        ("dialogue_id", pa.string()),
        ("shard", pa.int32()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("target_attribute", pa.string()),
        ("target_value", pa.string()),
        ("record_json", pa.string()),
    ]
)


def dialogue_row(d: Dialogue, shard: int) -> dict:
    spec, checks = d.spec, d.verification.turns
    return {
        "dialogue_id": d.dialogue_id,
        "shard": shard,
        "key": d.dialogue_id,
        "seed": spec.seed,
        "language": spec.language,
        "domain": spec.domain,
        "topic": spec.topic,
        "target_attribute": spec.target_attribute,
        "target_value": spec.target_value,
        "num_turns": spec.num_turns,
        "attribute_turn": spec.attribute_turn,
        "user_id": spec.speaker("user").speaker_id,
        "user_gender": spec.user_labels["gender"],
        "user_age": spec.user_labels.get("age"),
        "user_accent": spec.user_labels.get("accent"),
        "events": [f"{e.kind}:{e.value}@{e.turn}" for e in spec.events],
        "user_voice": _voice(d, "user"),
        "assistant_voice": _voice(d, "assistant"),
        "noise_kind": spec.scene.noise_kind,
        "noise_snr_db": spec.scene.noise_snr_db,
        "audio_event": spec.scene.audio_event,
        "music": spec.scene.music,
        "room_rt60_s": d.timeline.room.rt60_s if d.timeline.room else None,
        "loudness_lufs": d.timeline.loudness_lufs,
        "overlaps": sum(g < 0 for g in d.timeline.transitions()),
        "interruptions": sum(t.cut_at_word is not None for t in d.script.turns),
        "backchannels": sum(t.kind == "backchannel" for t in d.timeline.tracks),
        "non_query": sum(t.kind == "nonquery" for t in d.timeline.tracks),
        "duration_s": d.timeline.duration_s,
        "mean_wer": d.verification.mean_wer,
        "max_wer": max(c.wer for c in checks),
        "verdict": d.verification.verdict,
        "flags": [f.check for f in d.verification.findings],
        "script_attempts": d.script.attempts,
        "record_json": dumps(d),
    }


def turn_rows(d: Dialogue, shard: int) -> list[dict]:
    speech = {t.turn_index: t for t in d.timeline.speech()}
    before = [None, *d.timeline.transitions()]
    rows = []
    for turn, style, check in zip(d.script.turns, d.cast.styles, d.verification.turns, strict=True):
        rows.append(
            {
                "dialogue_id": d.dialogue_id,
                "shard": shard,
                "key": d.dialogue_id,
                "turn_index": turn.index,
                "role": turn.role,
                "text": turn.text,
                "emotion": turn.labels.get("emotion"),
                "speed": turn.labels.get("speed"),
                "volume": turn.labels.get("volume"),
                "fidelity": turn.labels.get("fidelity"),
                "stress": turn.labels.get("stress"),
                "non_verbal": turn.labels.get("non_verbal"),
                "reacts_to": turn.reacts_to,
                "offset_s": speech[turn.index].offset_s,
                "duration_s": speech[turn.index].duration_s,
                **_words_on_timeline(speech[turn.index], d.audio[turn.index]),
                "gap_before_s": before[turn.index],
                "cut_at_word": turn.cut_at_word,
                "channel_effect": speech[turn.index].effect,
                "speed_factor": style.speed,
                "gain_db": style.gain_db,
                "pitch_shift_semitones": style.pitch_shift_semitones,
                "f0_range_factor": style.f0_range_factor,
                "hypothesis": check.hypothesis,
                "wer": check.wer,
                "cer": check.cer,
                "asr_confidence": check.confidence,
                "mix_hypothesis": check.mix_hypothesis,
                "mix_wer": check.mix_wer,
                "checks_passed": [a.attribute for a in check.attributes if a.passed],
                "checks_failed": [a.attribute for a in check.attributes if not a.passed],
            }
        )
    return rows


def _words_on_timeline(track, audio) -> dict[str, float]:
    """Where the turn's words start and end on the timeline (a cut turn ends at the cut)."""
    start, end = audio.words_span_s
    return {
        "speech_start_s": round(track.offset_s + start, 4),
        "speech_end_s": round(track.offset_s + min(end, track.duration_s), 4),
    }


def reject_row(d: Dialogue, shard: int) -> dict:
    return {
        "dialogue_id": d.dialogue_id,
        "shard": shard,
        "stage": d.rejection.stage,
        "reason": d.rejection.reason,
        "detail": d.rejection.detail,
        "target_attribute": d.spec.target_attribute,
        "target_value": d.spec.target_value,
        "record_json": dumps(d),
    }


def to_parquet(rows: list[dict], schema: pa.Schema) -> bytes:
    table = pa.Table.from_pylist(rows, schema=schema)
    table = table.replace_schema_metadata({"dialogsmith_manifest_version": str(MANIFEST_VERSION)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _voice(d: Dialogue, role: str) -> str:
    voice = d.cast.voices[role]
    return f"{voice.backend}:{voice.name}"
