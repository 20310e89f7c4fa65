"""Profanity, personal data and language checks on single turns."""

from __future__ import annotations

import pytest

from dialogsmith.qa.text_checks import check_text, language_mismatch, personal_data, profanity

HARMLESS = [
    "I'll meet you at 5:30 tomorrow, or 14:05 at the latest.",
    "It costs $15, or $1,250.00 for the deluxe one.",
    "Back in 1999 we moved to Ohio, and in 2024 we moved back.",
    "Room 204 is on the 3rd floor.",
    "The score was 3-2 after 90 minutes, then we won 21-17.",
    "It's 72 degrees with 50% humidity.",
    "Flight 1234 leaves on 2023-12-25, or 12/25/2023 if you prefer.",
    "Add 350 grams of flour, 2 eggs and about 3.14 cups of milk.",
    "Version 3.5.1 fixed it, said Dr. Smith.",
    "The population is 1,400,000,000 and growing.",
    "Order number 4521 shipped in the 1990-2000 range of boxes.",
    "我们3点半见，一共15元，是2023年的事。",
]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("What the fuck was that?", "f***"),
        ("Shit, I forgot the keys.", "S***"),
        ('He just said "fuck" and left.', "f***"),
        ("That's bullshit, you asshole.", "b*******, a******"),
        ("我觉得fuck这个", "f***"),
        ("F*ck that, you @sshole", "F***, @******"),  # look-alike characters
        ("sh1t happens", "s***"),
        ("a f-u-c-k up", "f******"),
        ("no blow-job jokes", "b*******"),  # two words
    ],
)
def test_profanity_is_caught_and_masked(text, masked):
    assert profanity(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Could you pass the salt, please?",
        "Oh my god, that's amazing!",
        "I'll put a pot of coffee on before my oral exam.",
        "Use extra virgin olive oil and a strip of lemon peel.",
        "My gay friend had a stroke of luck at the organ recital.",
        "Don't worry, it's fine.",
    ],
)
def test_clean_text_passes_profanity(text):
    assert profanity(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Write to jane.doe+trips@example.co.uk for details.", "email address"),
        ("邮箱是abc@example.com，谢谢。", "email address"),
        ("The form is at https://forms.example.org/apply?id=3.", "URL"),
        ("Go to www.example.net and sign up.", "URL"),
        ("Just visit example.com tonight.", "URL"),
        ("Call me on +44 20 7946 0958 after lunch.", "phone number"),
        ("My number is (415) 555-0100.", "phone number"),
        ("Ring 415-555-0100 or 1-800-555-0199.", "phone number"),
        ("我的手机号是13812345678。", "phone number"),
        ("Text 138 1234 5678 when you land.", "phone number"),
        ("Card 4111 1111 1111 1111, expiry next May.", "card number"),
        ("Use 5500-0000-0000-0004 for the deposit.", "card number"),
        ("My social is 123-45-6789.", "SSN"),
        ("The printer is at 192.168.1.20.", "IPv4 address"),
    ],
)
def test_personal_data_kinds_are_caught(text, kind):
    assert personal_data(text) == kind


def test_personal_data_lists_every_kind_found():
    text = "Mail bob@example.com or call (415) 555-0100."
    assert personal_data(text) == "email address, phone number"


def test_digit_run_failing_luhn_is_not_a_card():
    assert personal_data("Ticket 4111 1111 1111 1112 is valid.") is None


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_numbers_are_not_personal_data(text):
    assert personal_data(text) is None


def test_language_mismatch_for_english():
    assert (
        language_mismatch("你好，今天天气怎么样？", "en") == "expected en, 100% non-Latin letters"
    )
    assert language_mismatch("Привет, как дела?", "en") == "expected en, 100% non-Latin letters"
    assert language_mismatch("Say 你好 to grandma for me.", "en") is None  # 2 of 19 letters
    assert language_mismatch("Café au lait, s'il vous plaît.", "en") is None


def test_language_mismatch_for_chinese():
    assert language_mismatch("Hello there, how are you today?", "zh") == "expected zh, 0% CJK"
    assert language_mismatch("I want a new MacBook, 我想买", "zh") == "expected zh, 38% CJK"
    assert language_mismatch("我想买一台MacBook Pro。", "zh") is None  # a brand name counts once
    assert language_mismatch("12:30!!", "zh") is None


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="'fr'"):
        language_mismatch("Bonjour", "fr")


def test_chinese_sentence_passes_zh_and_fails_en():
    sentence = "你好，我想预订今晚七点的两人桌。"
    assert check_text(sentence, "zh") is None
    assert check_text(sentence, "en") == ("wrong_language", "expected en, 100% non-Latin letters")


def test_check_text_reports_the_first_failing_check():
    assert check_text("Damn, mail me at bob@example.com", "en") == ("profanity", "D***")
    assert check_text("Mail me at bob@example.com", "en") == ("personal_data", "email address")
    assert check_text("Mail me at bob@example.com", "zh")[0] == "personal_data"
    assert check_text("Sounds good, see you at 5:30.", "en") is None
