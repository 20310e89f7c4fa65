"""Error rates on normalised text."""

from __future__ import annotations

import pytest

from dialogsmith.qa.wer import char_error_rate, normalize_text, number_to_words, word_error_rate


@pytest.mark.parametrize(
    ("reference", "hypothesis"),
    [
        ("Hello, World!", "hello world"),
        ("I have 2 cats", "I have two cats"),
        ("It's the 3rd time - OK?", "it is the third time okay"),
        ("Tickets cost 1,250 dollars", "tickets cost one thousand two hundred fifty dollars"),
        ("It costs $5.", "it costs five dollars"),
        ("That's $4.50 each", "that is four dollars fifty cents each"),
        ("Only £1, or €20!", "only one pound or twenty euros"),
        ("I cannot come, alright?", "I can't come, all right."),
        ("OK, DON'T SHOUT", "okay do not shout"),
        ("We'll meet at 10:30", "we will meet at ten thirty"),
    ],
)
def test_normalisation_makes_equivalent_texts_equal(reference, hypothesis):
    assert word_error_rate(reference, hypothesis) == 0.0


def test_normalize_text():
    assert normalize_text("  We’re   at 50%, right? ") == "we are at fifty percent right"
    assert number_to_words(0) == "zero"
    assert number_to_words(42) == "forty two"
    assert number_to_words(100) == "one hundred"
    assert number_to_words(2024) == "two thousand twenty four"


@pytest.mark.parametrize(
    ("reference", "hypothesis"),
    [
        ("It costs $5", "it costs five"),  # the unit is part of the amount
        ("$15", "fifty dollars"),
        ("I can go", "I can't go"),
        ("the 3rd time", "the three time"),
    ],
)
def test_normalisation_keeps_different_texts_apart(reference, hypothesis):
    assert word_error_rate(reference, hypothesis) > 0.0


def test_substitutions_deletions_insertions_count():
    assert word_error_rate("the cat sat down", "the dog sat down") == pytest.approx(0.25)
    assert word_error_rate("the cat sat down", "the cat down") == pytest.approx(0.25)
    assert word_error_rate("the cat sat", "the big cat sat here") == pytest.approx(2 / 3)
    assert word_error_rate("a b", "") == 1.0


def test_empty_reference():
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("...", "") == 0.0
    assert word_error_rate("", "uh huh") == 2.0


def test_char_error_rate_ignores_spaces():
    assert char_error_rate("Hello world", "hello  world!") == 0.0
    assert char_error_rate("abcd", "abed") == pytest.approx(0.25)
