import numpy as np

from dialogsmith.stage import ShardBatch
from dialogsmith.stages.style_prompts import style_prompt
from dialogsmith.stages.voice import VoiceStage
from dialogsmith.tts_backends.style_text import parse_bins
from support import small_config

LABELS = {"emotion": "neutral", "speed": "normal", "volume": "normal"}


def test_prompt_names_the_bins_the_labels_fix():
    fast_loud = parse_bins(style_prompt(LABELS | {"speed": "fast", "volume": "loud"}, "male", 1))
    assert fast_loud["rate"] == "very quickly" and fast_loud["loudness"] == "very loudly"
    sad = parse_bins(style_prompt(LABELS | {"emotion": "sad"}, "female", 2))
    assert sad["pitch"] == "low-pitch" and sad["monotony"] == "very monotone"
    assert style_prompt(LABELS, "female", 3) == style_prompt(LABELS, "female", 3)


def test_mdn_styles_follow_the_labels_and_vary_per_turn():
    from dataclasses import replace

    from test_render_verify import dialogue

    stage = VoiceStage(small_config(**{"voice.style_sampler": "mdn"}), "x")
    stage.setup()
    speeds = {"fast": [], "slow": []}
    for seed in range(12):
        for speed in speeds:
            d = dialogue({"speed": speed})
            d.spec = replace(d.spec, seed=seed)
            stage.process(ShardBatch(0, 0, 1, [d]))
            speeds[speed].append(d.cast.styles[0].speed)
    assert np.mean(speeds["fast"]) > np.mean(speeds["slow"]) * 1.2
    assert np.std(speeds["fast"]) > 0.01, "one description gives varied renderings"
