"""distinct-n and MinHash LSH near-duplicate detection."""

from __future__ import annotations

import itertools

import pytest

from dialogsmith.qa.diversity import NearDuplicateIndex, distinct_n, diversity_report, tokens

SCRIPT = (
    "Customer: Hi, I'd like to book a table for two tonight at seven, preferably by the window. "
    "Host: Let me check. We have a window table at seven thirty, would that work for you? "
    "Customer: Seven thirty is fine. Could you also note that my wife is allergic to shellfish? "
    "Host: Of course, I've added a note for the kitchen. May I have a name for the booking?"
)
OTHER_SCRIPT = (
    "Caller: Hello, could you tell me how late the pharmacy on Main Street stays open on "
    "Sundays? Clerk: We close at six on Sundays, but the one near the station is open until "
    "midnight. Caller: Great, and do you still offer flu shots without an appointment?"
)
ZH_SCRIPT = (
    "顾客：你好，我想预订今晚七点的两人桌，最好靠窗。服务员：好的，我查一下。七点半有一张靠窗的"
    "桌子，可以吗？顾客：七点半可以。另外我太太对海鲜过敏，麻烦备注一下。服务员：没问题，已经帮您备注了。"
)


def test_tokens():
    assert tokens("I'm 2 cool — Don’t STOP!", "en") == ["i'm", "2", "cool", "don't", "stop"]
    assert tokens("我在2024年买了iPhone 15", "zh") == [
        "我",
        "在",
        "2024",
        "年",
        "买",
        "了",
        "iphone",
        "15",
    ]


def test_distinct_n_on_hand_computed_corpora():
    corpus = ["The cat sat.", "the cat ran"]
    assert distinct_n(corpus, 1) == pytest.approx(4 / 6)  # the, cat, sat, ran of 6
    assert distinct_n(corpus, 2) == pytest.approx(3 / 4)  # "the cat" twice
    assert distinct_n(corpus, 3) == 1.0
    assert distinct_n(corpus, 4) == 0.0  # no text has 4 tokens; n-grams never span texts
    assert distinct_n(["a a a a"], 1) == pytest.approx(1 / 4)
    assert distinct_n(["a a a a"], 2) == pytest.approx(1 / 3)
    assert distinct_n([], 1) == 0.0


def test_distinct_n_chinese_counts_characters():
    corpus = ["我爱北京", "我爱上海"]
    assert distinct_n(corpus, 1, "zh") == pytest.approx(6 / 8)
    assert distinct_n(corpus, 2, "zh") == pytest.approx(5 / 6)  # 我爱 twice


def test_distinct_n_rejects_n_below_one():
    with pytest.raises(ValueError, match="n >= 1"):
        distinct_n(["a b"], 0)


def test_paraphrase_with_two_words_changed_is_caught():
    paraphrase = SCRIPT.replace("book a", "reserve a").replace("shellfish", "peanuts")
    index = NearDuplicateIndex()
    assert index.add("script-001", SCRIPT) is None
    assert index.add("script-002", paraphrase) == "script-001"
    assert "script-002" not in index
    assert len(index) == 1


def test_short_paraphrase_needs_a_lower_threshold():
    # Two changed words in a 23-word text leave 15 of 27 word 3-grams shared (J = 0.56):
    # below the default 0.7, caught at 0.45.
    text = (
        "Hi, I'd like to book a table for two people tonight at seven, "
        "preferably by the window if you still have one free."
    )
    paraphrase = text.replace("book", "reserve").replace("seven", "eight")
    default = NearDuplicateIndex()
    assert default.add("a", text) is None
    assert default.add("b", paraphrase) is None
    lenient = NearDuplicateIndex(threshold=0.45)
    assert lenient.add("a", text) is None
    assert lenient.add("b", paraphrase) == "a"


def test_different_scripts_are_kept():
    index = NearDuplicateIndex()
    assert index.add("script-001", SCRIPT) is None
    assert index.add("script-002", OTHER_SCRIPT) is None
    assert index.add("script-003", ZH_SCRIPT, "zh") is None
    assert len(index) == 3


@pytest.mark.parametrize("order", list(itertools.permutations(["k1", "k2", "k3"])))
def test_mutual_near_duplicates_keep_the_first_whatever_the_order(order):
    texts = {
        "k1": SCRIPT,
        "k2": SCRIPT.replace("book a", "reserve a"),
        "k3": SCRIPT.replace("shellfish", "peanuts"),
    }
    index = NearDuplicateIndex()
    first, *rest = order
    assert index.add(first, texts[first]) is None
    assert [index.add(key, texts[key]) for key in rest] == [first, first]


def test_several_earlier_matches_return_the_smallest_key():
    # head and tail each overlap the full script (J ~ 0.79) but not each other (J ~ 0.58)
    words = tokens(SCRIPT, "en")
    head, tail = " ".join(words[:-14]), " ".join(words[14:])
    for order in ([("k2", head), ("k1", tail)], [("k1", tail), ("k2", head)]):
        index = NearDuplicateIndex()
        assert [index.add(key, text) for key, text in order] == [None, None]
        assert index.add("k3", SCRIPT) == "k1"


def test_chinese_near_duplicate_caught_with_character_shingles():
    paraphrase = ZH_SCRIPT.replace("预订", "预定").replace("海鲜", "花生")
    index = NearDuplicateIndex()
    assert index.add("zh-001", ZH_SCRIPT, "zh") is None
    assert index.add("zh-002", paraphrase, "zh") == "zh-001"


def test_short_texts_compare_by_exact_tokens():
    index = NearDuplicateIndex()
    assert index.add("a", "Okay.") is None
    assert index.add("b", "okay!") == "a"
    assert index.add("c", "Okay, sure") is None
    assert index.add("d", "Sure, okay") is None


def test_same_answers_from_a_fresh_index():
    texts = {"a": SCRIPT, "b": OTHER_SCRIPT, "c": SCRIPT.replace("window.", "bar.")}
    runs = []
    for _ in range(2):
        index = NearDuplicateIndex(seed=7)
        runs.append([index.add(key, text) for key, text in texts.items()])
    assert runs[0] == runs[1] == [None, None, "a"]


def test_adding_a_stored_key_again_is_refused():
    index = NearDuplicateIndex()
    index.add("a", SCRIPT)
    with pytest.raises(ValueError, match="'a' is already"):
        index.add("a", OTHER_SCRIPT)


def test_diversity_report():
    report = diversity_report({"b": "the cat ran", "a": "The cat sat."}, duplicates=1)
    assert report.distinct_1 == pytest.approx(4 / 6)
    assert report.distinct_2 == pytest.approx(3 / 4)
    assert (report.duplicates, report.total, report.duplicate_rate) == (1, 2, 0.5)
    assert diversity_report({}, duplicates=0).duplicate_rate == 0.0
