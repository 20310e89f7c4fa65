"""Shape checks for the hand-written prompt data: prompts/topics.yaml and prompts/examples.yaml."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMPTS = REPO / "prompts"
TAXONOMY = REPO / "pipeline" / "taxonomy.yaml"

LANGUAGES = ("en", "zh")
MIN_DOMAINS = 16
MIN_EN_PER_DOMAIN, MIN_ZH_PER_DOMAIN = 16, 8
MIN_EN_TOTAL, MIN_ZH_TOTAL = 320, 160
EN_TOPIC_WORDS = (3, 10)
ZH_TOPIC_CHARS = (4, 16)
MAX_EN_TURN_WORDS, MAX_ZH_TURN_CHARS = 30, 45
MIN_EXAMPLES_PER_LANGUAGE = 3

GROUP_ATTRIBUTES = {
    "speaker": {"gender", "age", "accent", "language"},
    "paralinguistic": {"emotion", "volume", "speed", "fidelity", "stress", "non_verbal"},
    "environment": {"audio_event", "music"},
    "interaction": {"interruption", "backchannel", "overlap"},
    "robustness": {"non_query"},
}
CLOSED_VALUES = {
    "gender": {"male", "female"},
    "age": {"youth", "middle_aged", "elderly"},
    "accent": {"in", "ca", "za", "gb", "sg", "us", "au"},
    "language": {"en", "zh"},
    "emotion": {"neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted"},
    "volume": {"low", "normal", "loud"},
    "speed": {"slow", "normal", "fast"},
    "fidelity": {"low", "normal"},
    "stress": {"stressed", "none"},
    "non_verbal": {"laughter", "sigh", "cough", "none"},
    "interruption": {"user_interrupts"},
    "backchannel": {"assistant_backchannel", "user_backchannel"},
    "overlap": {"short_overlap"},
    "non_query": {"background_talk", "background_noise"},
}
EXTRA_FIELD = {"environment": "background", "robustness": "background_speech"}

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_ANY = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
FORBIDDEN_MARKS = re.compile(r"[()\[\]{}<>*#_~|/\\]")
SPEAKER_LABEL = re.compile(r"^\s*(user|assistant|speaker|用户|助手)\s*[:：]", re.IGNORECASE)


@cache
def load(name: str) -> dict:
    with (PROMPTS / name).open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def topics() -> dict[str, dict[str, list[str]]]:
    return load("topics.yaml")["domains"]


def all_topics(lang: str) -> list[str]:
    return [t for domain in topics().values() for t in domain[lang]]


def examples() -> list[tuple[str, str, int, dict]]:
    return [
        (group, lang, i, ex)
        for group, by_lang in load("examples.yaml")["groups"].items()
        for lang, items in by_lang.items()
        for i, ex in enumerate(items)
    ]


def example_id(case: tuple[str, str, int, dict]) -> str:
    group, lang, i, ex = case
    return f"{group}-{lang}-{i}-{ex.get('attribute')}"


def mostly_han(text: str, share: float = 0.8) -> bool:
    letters = [c for c in text if c.isalnum()]
    return bool(letters) and sum(bool(HAN.match(c)) for c in letters) / len(letters) >= share


def has_emoji(text: str) -> bool:
    return any(unicodedata.category(c) == "So" or 0x1F000 <= ord(c) <= 0x1FAFF for c in text)


# ---- topics.yaml ----


def test_topics_header():
    data = load("topics.yaml")
    assert data["version"] == 1
    assert len(data["domains"]) >= MIN_DOMAINS


@pytest.mark.parametrize("domain", sorted(topics()))
def test_topics_per_domain(domain):
    entry = topics()[domain]
    assert set(entry) == set(LANGUAGES)
    assert len(entry["en"]) >= MIN_EN_PER_DOMAIN
    assert len(entry["zh"]) >= MIN_ZH_PER_DOMAIN
    for lang in LANGUAGES:
        assert all(isinstance(t, str) and t and t.strip() == t for t in entry[lang])


def test_topic_totals():
    assert len(all_topics("en")) >= MIN_EN_TOTAL
    assert len(all_topics("zh")) >= MIN_ZH_TOTAL


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_duplicate_topics(lang):
    counts = Counter(t.casefold() for t in all_topics(lang))
    assert [t for t, n in counts.items() if n > 1] == []


def test_english_topic_shape():
    low, high = EN_TOPIC_WORDS
    bad = [t for t in all_topics("en") if not low <= len(t.split()) <= high]
    assert bad == []
    assert [t for t in all_topics("en") if CJK_ANY.search(t) or not t.isascii()] == []
    assert [t for t in all_topics("en") if re.search(r"[.!?;:\"]", t)] == []


def test_chinese_topic_shape():
    low, high = ZH_TOPIC_CHARS
    assert [t for t in all_topics("zh") if not low <= len(t) <= high] == []
    assert [t for t in all_topics("zh") if not mostly_han(t, share=1.0)] == []
    assert [t for t in all_topics("zh") if re.search(r"[\s，。！？、；：]", t)] == []


# ---- examples.yaml ----


def test_examples_header_and_groups():
    data = load("examples.yaml")
    assert data["version"] == 1
    assert set(data["groups"]) == set(GROUP_ATTRIBUTES)
    for group, by_lang in data["groups"].items():
        for lang in LANGUAGES:
            assert len(by_lang.get(lang) or []) >= MIN_EXAMPLES_PER_LANGUAGE, (group, lang)


@pytest.mark.parametrize("case", examples(), ids=example_id)
def test_example_attribute(case):
    group, _lang, _i, ex = case
    attribute, value = ex["attribute"], ex["value"]
    assert attribute in GROUP_ATTRIBUTES[group]
    assert isinstance(value, str) and value
    if attribute in CLOSED_VALUES:
        assert value in CLOSED_VALUES[attribute]
    assert isinstance(ex["user_sounds"], str) and ex["user_sounds"].strip()
    if group in EXTRA_FIELD:
        extra = ex[EXTRA_FIELD[group]]
        assert isinstance(extra, str) and extra.strip()


@pytest.mark.parametrize("case", examples(), ids=example_id)
def test_example_turns(case):
    _group, _lang, _i, ex = case
    turns = ex["turns"]
    assert len(turns) in (4, 6)
    assert [t["role"] for t in turns] == ["user", "assistant"] * (len(turns) // 2)
    reply = ex["reply_turn"]
    assert isinstance(reply, int) and not isinstance(reply, bool)
    assert 0 <= reply < len(turns)
    assert turns[reply]["role"] == "assistant"


@pytest.mark.parametrize("case", examples(), ids=example_id)
def test_example_text(case):
    _group, lang, _i, ex = case
    for turn in ex["turns"]:
        text = turn["text"]
        assert isinstance(text, str) and text.strip(), turn
        assert not FORBIDDEN_MARKS.search(text), text
        assert not SPEAKER_LABEL.match(text), text
        assert not has_emoji(text), text
        if lang == "en":
            assert len(text.split()) <= MAX_EN_TURN_WORDS, text
            assert not CJK_ANY.search(text), text
        else:
            assert len(HAN.findall(text)) <= MAX_ZH_TURN_CHARS, text
            assert mostly_han(text), text


@pytest.mark.parametrize("case", examples(), ids=example_id)
def test_example_language_of_extras(case):
    _group, lang, _i, ex = case
    spoken = [ex[k] for k in ("background_speech", "stressed_word") if k in ex]
    for text in spoken:
        assert mostly_han(text) if lang == "zh" else not CJK_ANY.search(text), text
    # The delivery is described in the example's language; the background caption (for the
    # scene's sound search) is English in both.
    sounds = ex["user_sounds"]
    assert mostly_han(sounds) if lang == "zh" else not CJK_ANY.search(sounds), sounds
    if "background" in ex:
        assert not CJK_ANY.search(ex["background"]), ex["background"]


@pytest.mark.parametrize("case", examples(), ids=example_id)
def test_stress_examples_pick_up_the_stressed_word(case):
    _group, _lang, _i, ex = case
    if ex["attribute"] != "stress" or ex["value"] == "none":
        return
    word = ex["stressed_word"].casefold()
    turns, reply = ex["turns"], ex["reply_turn"]
    assert word in turns[reply - 1]["text"].casefold(), "stressed word must be in the user turn"
    assert word in turns[reply]["text"].casefold(), "the reply must pick the stressed word up"


@pytest.mark.parametrize("case", examples(), ids=example_id)
def test_non_query_is_not_answered(case):
    _group, _lang, _i, ex = case
    if ex["attribute"] != "non_query":
        return
    overheard = ex["background_speech"].casefold().strip(" .?!。？！")
    assert all(overheard not in t["text"].casefold() for t in ex["turns"])


def test_examples_do_not_reuse_topics_verbatim():
    for case in examples():
        _group, lang, _i, ex = case
        text = " ".join(t["text"] for t in ex["turns"]).casefold()
        reused = [t for t in all_topics(lang) if t.casefold() in text]
        assert reused == [], (example_id(case), reused)


def test_examples_vary_within_group():
    # Examples within one group and language should not all show the same attribute value.
    for group, by_lang in load("examples.yaml")["groups"].items():
        for lang, items in by_lang.items():
            if group == "robustness":
                continue
            pairs = {(ex["attribute"], ex["value"]) for ex in items}
            assert len(pairs) >= min(len(items), 2), (group, lang)


def test_examples_use_taxonomy_values():
    if not TAXONOMY.exists():
        pytest.skip("pipeline/taxonomy.yaml not present")
    attributes = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))["attributes"]
    for case in examples():
        group, _lang, _i, ex = case
        spec = attributes.get(ex["attribute"])
        assert spec is not None, example_id(case)
        assert spec["group"] == group, example_id(case)
        assert ex["value"] in spec["values"], example_id(case)
