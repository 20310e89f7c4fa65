"""Cheap, deterministic checks on one turn of a script.

Each check returns None when the text is fine, else a short detail for the drop reason.
Details never repeat personal data: they name its kind ("email address"), and profanity is
masked ("f***").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from better_profanity import Profanity

# better-profanity's default list (English) also holds words that are harmless in everyday
# dialogue ("a pot of tea", "an oral exam", "a stroke of luck", "my gay friend"); they are
# left out so that ordinary scripts are not dropped. Compounds ("goddamn") still count.
_ALLOWED_WORDS = (
    *("god", "pot", "weed", "drunk", "virgin", "strip", "oral", "orally", "facial", "screw"),
    *("screwed", "kill", "murder", "sniper", "naked", "stupid", "jerk", "dummy", "fat"),
    *("ugly", "organ", "stroke", "pawn", "thrust", "maxi", "revue", "sandbar", "seaman"),
    *("seamen", "paddy", "pasty", "pastie", "tramp", "flange", "loin", "loins", "tinkle"),
    *("whiz", "toots", "homey", "nimrod", "foobar", "len", "arian", "rum", "vodka", "omg"),
    *("sex", "sexual", "gay", "gays", "lesbians", "queer", "transsexual", "ovary", "ovum"),
    *("ovums", "uterus", "womb", "menses", "menstruate", "menstruation", "tampon", "urinal"),
    *("urine", "vomit", "herpes", "hiv", "pms", "rectal", "rectum", "pee", "potty", "junky"),
)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CENSORED = "****"  # what better-profanity puts in place of each match
# better-profanity counts quotes as letters, so "'damn'" would hide the word: blank them
_QUOTES = re.compile(r"\"|(?<!\w)'|'(?!\w)")

_PII: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email address", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.I | re.A)),
    (
        "URL",
        re.compile(
            r"\b(?:https?://|www\.)[^\s]+"
            r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|co|cn|uk|de|info|biz)"
            r"\b(?:/[^\s]*)?",
            re.I | re.A,
        ),
    ),
    ("card number", re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])", re.A)),
    ("SSN", re.compile(r"(?<![\d-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])", re.A)),
    (
        "IPv4 address",
        re.compile(
            r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
            r"(?!\.?\d)",
            re.A,
        ),
    ),
    ("phone number", re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?!\d)", re.A)),
    (
        "phone number",
        re.compile(
            r"(?<![\d-])(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\d-])"
            r"|(?<![\d-])\d{3}-\d{4}(?![\d-])",
            re.A,
        ),
    ),
    ("phone number", re.compile(r"(?<!\d)1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)", re.A)),
)


@dataclass(frozen=True)
class _WordList:
    """better-profanity's censor, plus a fast test for texts it cannot match.

    The censor compares every word (and every run of up to `lookahead` + 1 words) with each
    listed word, about 1 ms per word of text. Its look-alike characters ("@" for "a") form a
    few classes; a text can match only if one of those runs, with each character replaced by
    its class, is the class form of a listed word. Most turns fail that set lookup.
    """

    censor: Profanity
    classes: dict[int, str]
    listed: frozenset[str]
    word: re.Pattern[str]
    lookahead: int

    def may_match(self, text: str) -> bool:
        forms = {run.lower().translate(self.classes) for run in self._runs(text)}
        return not forms.isdisjoint(self.listed)

    def _runs(self, text: str) -> Iterator[str]:
        """Each run of 1 to `lookahead` + 1 words, with and without its separators."""
        spans = [m.span() for m in self.word.finditer(text)]
        for i, (start, _) in enumerate(spans):
            for run in (spans[i:j] for j in range(i + 1, i + self.lookahead + 2)):
                yield "".join(text[a:b] for a, b in run)
                yield text[start : run[-1][1]]


def _char_classes(char_map: dict[str, tuple[str, ...]]) -> dict[int, str]:
    groups: list[set[str]] = []
    for char, options in char_map.items():
        group = {char, *options}
        for other in [g for g in groups if g & group]:
            group |= other
            groups.remove(other)
        groups.append(group)
    return {ord(char): min(group) for group in groups for char in group}


@functools.cache
def _word_list() -> _WordList:
    from better_profanity import Profanity  # loads its word list: only when first needed
    from better_profanity.constants import ALLOWED_CHARACTERS

    censor = Profanity()
    censor.load_censor_words(whitelist_words=list(_ALLOWED_WORDS))
    classes = _char_classes(censor.CHARS_MAPPING)
    word_chars = "".join(re.escape(char) for char in sorted(ALLOWED_CHARACTERS))
    return _WordList(
        censor=censor,
        classes=classes,
        listed=frozenset(str(word).translate(classes) for word in censor.CENSOR_WORDSET),
        word=re.compile(f"[{word_chars}]+"),
        lookahead=censor.MAX_NUMBER_COMBINATIONS,
    )


def _mask(phrase: str) -> str:
    return " ".join(word[0] + "*" * (len(word) - 1) for word in phrase.split())


def _censored_spans(text: str, censored: str) -> list[str]:
    """The parts of `text` that better-profanity replaced with "****" in `censored`."""
    pattern = "(.+?)".join(re.escape(part) for part in censored.split(_CENSORED))
    match = re.fullmatch(pattern, text, re.S)
    return list(match.groups()) if match else [_CENSORED]


def profanity(text: str) -> str | None:
    """Masked profane words ("f***, s***"), or None.

    The word list is English; in other languages it still finds English words, since
    better-profanity splits words at any character outside its alphabet (CJK included).
    """
    text = _QUOTES.sub(" ", text.replace("’", "'"))
    words = _word_list()
    if not words.may_match(text):
        return None
    censored = words.censor.censor(text)
    if censored == text:
        return None
    masked = dict.fromkeys(_mask(span) for span in _censored_spans(text, censored))
    return ", ".join(masked)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _is_pii(kind: str, found: str) -> bool:
    if kind == "card number":
        digits = re.sub(r"\D", "", found)
        return 13 <= len(digits) <= 19 and _luhn_ok(digits)
    if kind == "phone number" and found.startswith("+"):
        return 8 <= sum(c.isdigit() for c in found) <= 15
    return True


def personal_data(text: str) -> str | None:
    """Kinds of personal data found ("email address, phone number"), or None."""
    kinds: dict[str, None] = {}
    for kind, pattern in _PII:
        spans = [m.span() for m in pattern.finditer(text) if _is_pii(kind, m.group())]
        if spans:
            kinds[kind] = None
        for start, end in spans:  # blank them: later patterns must not see an email's domain
            text = text[:start] + " " * (end - start) + text[end:]
    return ", ".join(kinds) or None


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def language_mismatch(text: str, language: str) -> str | None:
    """ "expected zh, 12% CJK" when the script does not match the language, else None.

    English: more than 20 % of the letters are not Latin. Chinese: fewer than 50 % CJK among
    CJK characters and Latin words (a brand name such as "MacBook" counts once, not per
    letter). Digits and punctuation are ignored; text without letters passes.
    """
    if language == "en":
        letters = [c for c in text if c.isalpha()]
        other = sum(not _is_latin(c) for c in letters)
        share = other / len(letters) if letters else 0.0
        return f"expected en, {share:.0%} non-Latin letters" if share > 0.2 else None
    if language == "zh":
        cjk = len(_CJK.findall(text))
        units = cjk + len(_LATIN_WORD.findall(text))
        share = cjk / units if units else 1.0
        return f"expected zh, {share:.0%} CJK" if share < 0.5 else None
    raise ValueError(f"no language check for {language!r}; supported: 'en', 'zh'")


def check_text(text: str, language: str) -> tuple[str, str] | None:
    """First failing check as (reason code, detail): profanity, personal_data, wrong_language."""
    checks: tuple[tuple[str, Callable[[str], str | None]], ...] = (
        ("profanity", profanity),
        ("personal_data", personal_data),
        ("wrong_language", functools.partial(language_mismatch, language=language)),
    )
    for code, check in checks:
        detail = check(text)
        if detail is not None:
            return code, detail
    return None
