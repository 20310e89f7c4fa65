"""Scene: place the turns on a timeline (gaps, overlaps, interruptions, backchannels), add the
background (noise, audio events, music, overheard speech), a room and channel fidelity, render
one channel per speaker plus the background and the mix, and normalise the mix's loudness."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dialogsmith.audio import peak_dbfs
from dialogsmith.mixing import apply_master, render_unscaled
from dialogsmith.records import Dialogue, Room, Timeline, Track, TurnAudio
from dialogsmith.seeding import derive_seed, stage_rng
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.stages.scene_timing import draw_offset, pick_boundary, uniform, word_boundaries

BACKGROUND_NOISE_EVENT = "door_knock"
"""The sound a `non_query=background_noise` event plays between turns."""


@dataclass
class Cursor:
    """Where the next turn starts, and where each channel is free again."""

    at: float
    free: dict[str, float]


class SceneStage(Stage):
    name = "scene"
    requires = ("script", "audio")
    default_resources = Resources(cpus=0.5)

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        for dialogue in dialogues:
            timeline = self.build_timeline(dialogue)
            turns = {a.turn_index: a.samples for a in dialogue.audio}
            clips = {c.clip_id: c.samples for c in dialogue.clips or []}
            unscaled = render_unscaled(timeline, turns, clips)
            timeline = replace(timeline, **self._master(unscaled, timeline.sample_rate))
            dialogue.timeline = timeline
            dialogue.channels = apply_master(unscaled, timeline.master_gain_db)

    def _master(self, channels: dict[str, np.ndarray], rate: int) -> dict[str, float | None]:
        """Master gain to the target loudness, lowered if any channel would peak too high."""
        cfg = self.config.scene
        mix = channels["user"] + channels["assistant"] + channels["background"]
        loudness = _loudness(mix, rate) if cfg.loudness_lufs is not None else None
        gain = 0.0 if loudness is None else cfg.loudness_lufs - loudness
        peak = max(peak_dbfs(x) for x in [mix, *channels.values()])
        gain = min(gain, cfg.peak_dbfs - peak)
        final = None if loudness is None else round(loudness + gain, 2)
        return {"master_gain_db": round(gain, 3), "loudness_lufs": final}

    def build_timeline(self, dialogue: Dialogue) -> Timeline:
        builder = _TimelineBuilder(self.config, dialogue, stage_rng(dialogue.spec.seed, self.name))
        return builder.build()


class _TimelineBuilder:
    def __init__(self, config, dialogue: Dialogue, rng: np.random.Generator) -> None:
        self.cfg = config.scene
        self.tt = config.scene.turn_taking
        self.dialogue = dialogue
        self.spec = dialogue.spec
        self.rng = rng
        self.tracks: list[Track] = []
        self.events = {(e.kind, e.turn): e for e in self.spec.events}
        self.clips = {c.clip_id: c for c in dialogue.clips or []}
        self.room = self._room()

    def build(self) -> Timeline:
        cursor = Cursor(at=self.cfg.lead_in_s, free={"user": 0.0, "assistant": 0.0})
        script, audio = self.dialogue.script, self.dialogue.audio
        cut_words: dict[int, int] = {}
        for index, (turn, rendered) in enumerate(zip(script.turns, audio, strict=True)):
            start = max(cursor.at, cursor.free[turn.role])
            following = audio[index + 1] if index + 1 < len(audio) else None
            cut = self._interruption(index, rendered, following)
            duration = cut[1] if cut else rendered.duration_s
            if cut:
                cut_words[index] = cut[0]
            self._speech(index, turn.role, start, duration, rendered, cut is not None)
            self._backchannel(index, start, rendered)
            cursor.free[turn.role] = start + duration
            cursor.at = self._next_start(index, start, duration, rendered, following, cut)
        speech_end = max(t.end_s for t in self.tracks)
        end = round(speech_end + self.cfg.tail_s, 4)
        self._background(end)
        self._record_cuts(cut_words)
        return Timeline(
            sample_rate=self.cfg.sample_rate, duration_s=end, tracks=self.tracks, room=self.room
        )

    def _speech(
        self, index: int, role: str, start: float, duration: float, rendered: TurnAudio, cut: bool
    ) -> None:
        effect = self._effect(index)
        self.tracks.append(
            Track(
                kind="speech",
                channel=role,
                label=role,
                offset_s=round(start, 4),
                duration_s=round(duration, 4),
                turn_index=index,
                source=f"turn:{index}",
                fade_out_s=self.tt.cut_fade_s if cut else 0.0,
                effect=effect,
                seed=derive_seed(self.spec.seed, "scene", "channel", index) if effect else None,
                room_position=role if self.room is not None and role == "user" else None,
            )
        )
        if self.cfg.crosstalk_db is not None:
            other = "assistant" if role == "user" else "user"
            self.tracks.append(
                Track(
                    kind="crosstalk",
                    channel=other,
                    label=f"{role} echo",
                    offset_s=round(start, 4),
                    duration_s=round(duration, 4),
                    gain_db=self.cfg.crosstalk_db,
                    turn_index=index,
                    source=f"turn:{index}",
                )
            )
        marks = [("nonverbal", rendered.nonverbal, rendered.nonverbal_span_s)]
        marks.append(("stress", self.dialogue.script.stressed_word, rendered.stress_span_s))
        for kind, label, span in marks:
            if span is not None and span[1] <= duration:
                self.tracks.append(
                    Track(
                        kind=kind,
                        channel=role,
                        label=label,
                        offset_s=round(start + span[0], 4),
                        duration_s=round(span[1] - span[0], 4),
                        turn_index=index,
                    )
                )

    def _interruption(
        self, index: int, rendered: TurnAudio, following: TurnAudio | None
    ) -> tuple[int, float] | None:
        """(first unheard word, cut time) when the next speaker cuts this turn short."""
        if following is None or ("interruption", index) not in self.events:
            return None
        turn = self.dialogue.script.turns[index]
        boundaries = word_boundaries(
            rendered.samples, rendered.sample_rate, turn.text, rendered.speech_start_s
        )
        span = rendered.words_span_s
        return pick_boundary(boundaries, span, self.tt.interruption_cut, self.rng)

    def _next_start(
        self,
        index: int,
        start: float,
        duration: float,
        rendered: TurnAudio,
        following: TurnAudio | None,
        cut: tuple[int, float] | None,
    ) -> float:
        end = start + duration
        offset = draw_offset(self.rng, self.tt, duration, following.duration_s if following else 0)
        if cut is not None:
            return end - min(uniform(self.rng, self.tt.interruption_overlap_s), 0.5 * duration)
        if following is not None and ("overlap", index) in self.events:
            shorter = min(duration, following.duration_s)
            return end - min(uniform(self.rng, self.tt.overlap_event_s), 0.5 * shorter)
        pause = self._non_query(index, end + max(offset, 0.2))
        return end + offset + pause

    def _non_query(self, index: int, at: float) -> float:
        """Places overheard speech or a noise after turn `index`; returns the time it adds."""
        event = self.events.get(("non_query", index))
        if event is None:
            return 0.0
        low, high = self.cfg.background.nonquery_snr_db
        snr = round(float(self.rng.uniform(low, high)), 1)
        if event.value == "background_talk":
            clip = self.clips.get("overheard")
            if clip is None:  # no line to play: verify rejects the dialogue (event_missing)
                return 0.0
            track = Track(
                kind="nonquery",
                channel="background",
                label="background_talk",
                offset_s=round(at, 4),
                duration_s=round(clip.duration_s, 4),
                snr_db=snr,
                source="clip:overheard",
                caption=f"someone nearby says to someone else: {clip.text}",
            )
        else:
            track = Track(
                kind="nonquery",
                channel="background",
                label=event.value,
                offset_s=round(at, 4),
                duration_s=1.5,
                snr_db=snr,
                seed=derive_seed(self.spec.seed, "scene", "non_query"),
                source=f"event:{BACKGROUND_NOISE_EVENT}",
                caption="a noise in the room, not addressed to the assistant",
            )
        self.tracks.append(track)
        return track.duration_s + 0.3

    def _backchannel(self, index: int, start: float, rendered: TurnAudio) -> None:
        clip = self.clips.get(f"backchannel-{index}")
        if clip is None:
            return
        turn = self.dialogue.script.turns[index]
        boundaries = word_boundaries(
            rendered.samples, rendered.sample_rate, turn.text, rendered.speech_start_s
        )
        span = rendered.words_span_s
        at = pick_boundary(boundaries, span, (0.3, 0.7), self.rng)
        when = at[1] if at else 0.5 * rendered.duration_s
        self.tracks.append(
            Track(
                kind="backchannel",
                channel=clip.role,
                label=clip.text,
                offset_s=round(start + when, 4),
                duration_s=round(clip.duration_s, 4),
                gain_db=self.tt.backchannel_gain_db,
                turn_index=index,
                source=f"clip:{clip.clip_id}",
                room_position=clip.role if self.room is not None and clip.role == "user" else None,
            )
        )

    def _effect(self, index: int) -> str | None:
        turn = self.dialogue.script.turns[index]
        if turn.labels.get("fidelity") != "low":
            return None
        from dialogsmith.stages.scene_sources import low_fidelity_effect

        return low_fidelity_effect(derive_seed(self.spec.seed, "scene", "fidelity", index))

    def _background(self, end: float) -> None:
        scene, bg = self.spec.scene, self.cfg.background
        if scene.noise_kind is not None:
            source = f"noise:{scene.noise_kind}"
            if scene.noise_kind == "babble":
                source = f"babble:{bg.babble_talkers}"
            self._bed("noise", scene.noise_kind, source, 0.0, end, scene.noise_snr_db, "noise")
        if scene.music is not None:
            snr = round(uniform(self.rng, bg.music_snr_db), 1)
            self._bed("music", scene.music, f"music:{scene.music}", 0.0, end, snr, "music")
        if scene.audio_event is not None:
            turn = next(t for t in self.tracks if t.turn_index == self.spec.attribute_turn)
            start = max(0.0, turn.offset_s - 0.3)
            snr = round(uniform(self.rng, bg.event_snr_db), 1)
            source = f"event:{scene.audio_event}"
            self._bed(
                "event", scene.audio_event, source, start, turn.duration_s + 0.6, snr, "event"
            )

    def _bed(
        self, kind: str, label: str, source: str, offset: float, duration: float, snr, name: str
    ) -> None:
        from dialogsmith.stages.scene_sources import caption_for

        seed = derive_seed(self.spec.seed, "scene", name)
        self.tracks.append(
            Track(
                kind=kind,
                channel="background",
                label=label,
                offset_s=round(offset, 4),
                duration_s=round(duration, 4),
                snr_db=snr,
                seed=seed,
                source=source,
                caption=caption_for(source, duration, self.cfg.sample_rate, seed),
            )
        )

    def _room(self) -> Room | None:
        room = self.cfg.room
        rng = np.random.default_rng(derive_seed(self.spec.seed, "scene", "room"))
        if rng.random() >= room.probability:
            return None
        from dialogsmith.stages.scene_sources import sample_room

        return sample_room(room, int(rng.integers(2**31)))

    def _record_cuts(self, cut_words: dict[int, int]) -> None:
        if not cut_words:
            return
        script = self.dialogue.script
        turns = [
            replace(t, cut_at_word=cut_words[t.index]) if t.index in cut_words else t
            for t in script.turns
        ]
        self.dialogue.script = replace(script, turns=turns)


def _loudness(mix: np.ndarray, rate: int) -> float | None:
    import pyloudnorm

    if len(mix) < int(0.4 * rate) or not np.any(mix):
        return None
    loudness = pyloudnorm.Meter(rate).integrated_loudness(mix.astype(np.float64))
    return float(loudness) if np.isfinite(loudness) else None
