"""`default.sentenceCount`, `default.wordCount` and `default.characterCount` (Portkey plugins/default/*Count.ts):
the text's count is in [min, max], counted exactly as the reference's JavaScript does. Pure; wordCount is on the hot
path of every request, so counting builds no regex match objects on ordinary text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway_grpc.guardrails.base import CheckFn, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.checks.text_shape import excerpt, required_text

# JavaScript's \s (WhiteSpace + LineTerminator). Python's str.split() differs only on these characters:
_SPLIT_ONLY = ("\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\ufeff")  # Python whitespace but not JS; \ufeff: JS only
_JS_WORD = re.compile("[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")


def count_words(text: str) -> int:
    """`text.trim().split(/\\s+/).length` for a text that is not blank."""
    for char in _SPLIT_ONLY:  # `in` scans at C speed; a regex search over 2 kB costs more than the split itself
        if char in text:
            return sum(1 for _ in _JS_WORD.finditer(text))
    return len(text.split())


def count_characters(text: str) -> int:
    """JavaScript's `text.length`: UTF-16 code units (a character beyond the BMP counts 2)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def count_sentences(text: str) -> int:
    """`text.split(/[.!?]/).length - 1`: every `.`, `!` and `?`."""
    return text.count(".") + text.count("!") + text.count("?")


def read_range(params: Params, low: str, high: str, high_default: int) -> tuple[int, int]:
    """The manifest's bounds (min 0 by default): non-negative integers with min <= max."""
    lo, hi = params.integer(low, 0), params.integer(high, high_default)
    for name, value in ((low, lo), (high, hi)):
        if value < 0:
            raise params.error(name, f"must not be negative, got {value}")
    if lo > hi:
        raise params.error(low, f"{lo} is greater than {high} ({hi})")
    return lo, hi


def _range_check(params: Params, names: tuple[str, str, str, str], high_default: int,
                 count: Callable[[Subject], tuple[int, str]]) -> CheckFn:
    """`names`: the two parameters, then the data keys of the count and its unit (e.g. "words")."""
    low, high, key, unit = names
    lo, hi = read_range(params, low, high, high_default)

    def check(subject: Subject) -> Outcome:
        n, text = count(subject)
        inside = lo <= n <= hi
        explanation = (f"The text contains {n} {unit}, which is {'within' if inside else 'outside'} "
                       f"the specified range of {lo}-{hi} {unit}.")
        return Outcome(inside, {key: n, low: lo, high: hi, "explanation": explanation, "textExcerpt": excerpt(text)})

    return check


def _words(subject: Subject) -> tuple[int, str]:
    text = subject.text
    words = count_words(text)
    if words == 0:  # Portkey: a text blank after trim() is an error
        raise ValueError("Missing text to analyze")
    return words, text


def _characters(subject: Subject) -> tuple[int, str]:
    text = required_text(subject)
    return count_characters(text), text


def _compile_words(params: Params, services: Services) -> CheckFn:
    return _range_check(params, ("minWords", "maxWords", "wordCount", "words"), 99999, _words)


def _compile_characters(params: Params, services: Services) -> CheckFn:
    return _range_check(params, ("minCharacters", "maxCharacters", "characterCount", "characters"), 9999999,
                        _characters)


def _compile_sentences(params: Params, services: Services) -> CheckFn:
    lo, hi = read_range(params, "minSentences", "maxSentences", 99999)

    def check(subject: Subject) -> Outcome:  # Portkey: an empty text has 0 sentences (no error)
        n = count_sentences(subject.text)
        inside = lo <= n <= hi
        explanation = (f"The sentence count ({n}) is {'within' if inside else 'outside'} the specified range of "
                       f"{lo} to {hi}.")
        return Outcome(inside, {"sentenceCount": n, "minCount": lo, "maxCount": hi, "explanation": explanation,
                                "textExcerpt": excerpt(subject.text)})

    return check


SENTENCE_COUNT = CheckType("default.sentenceCount", _compile_sentences)
WORD_COUNT = CheckType("default.wordCount", _compile_words)
CHARACTER_COUNT = CheckType("default.characterCount", _compile_characters)
