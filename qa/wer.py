"""Word and character error rates on normalised text (jiwer), for the verify stage.

Normalisation makes the script and the ASR transcript comparable: lower case, curly quotes
straightened, common contractions expanded, numbers written out as words ("2" == "two",
"1,250" == "one thousand two hundred fifty", "3rd" == "third", "9.99" == "nine point nine nine",
"50%" == "fifty percent"), amounts of money read out ("$5" == "five dollars",
"$4.50" == "four dollars fifty cents", also £ and €), a few spellings unified ("cannot" ==
"can not", "alright" == "all right", "OK" == "okay"), hyphens split, punctuation removed,
whitespace collapsed.
"""

from __future__ import annotations

import re

import jiwer

_ONES = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_SPELLINGS = {
    "ok": "okay",
    "mr": "mister",
    "mrs": "missus",
    "dr": "doctor",
    "cannot": "can not",
    "alright": "all right",
}
_CURRENCY = {  # symbol: (unit, units, sub-unit, sub-units)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}
_MONEY = re.compile(r"([$£€])\s?(\d+(?:,\d{3})*)(?:\.(\d\d))?(?![\d.]\d)")

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*)(?:\.(\d+))?(st|nd|rd|th)?(%)?(?![\d])")

_TRANSFORM = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.ExpandCommonEnglishContractions(),
        jiwer.SubstituteRegexes({r"[-‐–—/]": " "}),
        jiwer.RemovePunctuation(),
        jiwer.SubstituteWords(_SPELLINGS),
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
    ]
)


def number_to_words(n: int) -> str:
    """Cardinal English words for a non-negative integer ("twenty one", "one hundred five")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for value, word in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            tail = "" if rest == 0 else " " + number_to_words(rest)
            return f"{number_to_words(head)} {word}{tail}"
    raise AssertionError(n)  # unreachable: every n >= 100 meets a scale


def _ordinal(words: str) -> str:
    *head, last = words.split()
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _expand_number(m: re.Match[str]) -> str:
    whole, frac, suffix, percent = m.groups()
    words = number_to_words(int(whole.replace(",", "")))
    if suffix:
        words = _ordinal(words)
    if frac:
        words += " point " + " ".join(_ONES[int(d)] for d in frac)
    if percent:
        words += " percent"
    return f" {words} "


def _expand_money(m: re.Match[str]) -> str:
    symbol, whole, cents = m.groups()
    unit, units, sub, subs = _CURRENCY[symbol]
    amount = int(whole.replace(",", ""))
    words = f"{number_to_words(amount)} {unit if amount == 1 else units}"
    if cents and int(cents):
        words += f" {number_to_words(int(cents))} {sub if int(cents) == 1 else subs}"
    return f" {words} "


def normalize_text(text: str) -> str:
    """Comparable form of a script line or transcript (see the module docstring)."""
    text = text.replace("’", "'").replace("‘", "'").replace("&", " and ")
    text = _MONEY.sub(_expand_money, text)
    text = _NUMBER.sub(_expand_number, text)
    return _TRANSFORM(text)


def _errors(reference: str, hypothesis: str, unit: str) -> float:
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if unit == "char":
        ref, hyp = ref.replace(" ", ""), hyp.replace(" ", "")
        n_ref, n_hyp = len(ref), len(hyp)
    else:
        n_ref, n_hyp = len(ref.split()), len(hyp.split())
    if n_ref == 0:  # nothing to say: every hypothesis unit is an insertion
        return float(n_hyp)
    if n_hyp == 0:
        return 1.0
    if unit == "char":
        return float(jiwer.cer(ref, hyp))
    return float(jiwer.wer(ref, hyp))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(S + D + I) / N words after `normalize_text`; an empty reference gives the insertions."""
    return _errors(reference, hypothesis, "word")


def char_error_rate(reference: str, hypothesis: str) -> float:
    """Like `word_error_rate` over characters, spaces ignored."""
    return _errors(reference, hypothesis, "char")
