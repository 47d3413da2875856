"""default.sentenceCount / wordCount / characterCount: Portkey's counting and range rules (plugins/default tests)."""

import orjson
import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import Services
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.counts import (
    CHARACTER_COUNT,
    SENTENCE_COUNT,
    WORD_COUNT,
    count_characters,
    count_sentences,
    count_words,
)
from tests.gateway_grpc.guardrails.subjects import chat_subject, response_subject

SEVEN = "This is a sentence with 7 words."

VERDICTS = [  # check, parameters, text, verdict, (data key, count)
    (WORD_COUNT, {"minWords": 5, "maxWords": 8}, SEVEN, True, ("wordCount", 7)),
    (WORD_COUNT, {"minWords": 10, "maxWords": 15}, SEVEN, False, ("wordCount", 7)),
    (WORD_COUNT, {"minWords": 7, "maxWords": 7}, SEVEN, True, ("wordCount", 7)),
    (WORD_COUNT, {"minWords": 5, "maxWords": 8, "not": True}, SEVEN, False, ("wordCount", 7)),
    (WORD_COUNT, {}, "word " * 50, True, ("wordCount", 50)),
    (WORD_COUNT, {"maxWords": 2}, "  héllo\t\nwörld  ", True, ("wordCount", 2)),
    (WORD_COUNT, {"maxWords": 2}, "one\u00a0two\u3000three", False, ("wordCount", 3)),
    (WORD_COUNT, {"maxWords": 1}, "a\x1cb", True, ("wordCount", 1)),  # \x1c is not whitespace in JavaScript
    (WORD_COUNT, {"minWords": 2}, "a\ufeffb", True, ("wordCount", 2)),  # \ufeff is whitespace in JavaScript
    (CHARACTER_COUNT, {"minCharacters": 10, "maxCharacters": 20}, "This is a test.", True, ("characterCount", 15)),
    (CHARACTER_COUNT, {"minCharacters": 10, "maxCharacters": 20},
     "This is a very long test that exceeds the limit.", False, ("characterCount", 48)),
    (CHARACTER_COUNT, {"minCharacters": 1, "maxCharacters": 10}, "   \n\t   ", True, ("characterCount", 8)),
    (CHARACTER_COUNT, {"maxCharacters": 1}, "😀", False, ("characterCount", 2)),  # UTF-16 code units, as JS
    (CHARACTER_COUNT, {}, "a" * 150, True, ("characterCount", 150)),
    (CHARACTER_COUNT, {"maxCharacters": 5, "not": True}, "abcdef", True, ("characterCount", 6)),
    (SENTENCE_COUNT, {"minSentences": 1, "maxSentences": 3}, "This is a sentence. This is another sentence.", True,
     ("sentenceCount", 2)),
    (SENTENCE_COUNT, {"minSentences": 3, "maxSentences": 4}, "This is a sentence. This is another sentence.", False,
     ("sentenceCount", 2)),
    (SENTENCE_COUNT, {"minSentences": 1, "maxSentences": 3}, "", False, ("sentenceCount", 0)),
    (SENTENCE_COUNT, {}, "", True, ("sentenceCount", 0)),
    (SENTENCE_COUNT, {"maxSentences": 2}, "Wait... what?!", False, ("sentenceCount", 5)),
    (SENTENCE_COUNT, {"maxSentences": 0, "not": True}, "Hi!", True, ("sentenceCount", 1)),
]


@pytest.mark.parametrize(("check", "params", "text", "verdict", "fact"), VERDICTS,
                         ids=[f"{row[0].id}-{i}" for i, row in enumerate(VERDICTS)])
async def test_counts_verdict_and_count(check, params, text, verdict, fact):
    result, outcome = await evaluate_check(check, params, response_subject(text))
    orjson.dumps(result.data)  # JSON-able, as hook_results need
    assert result.error is None
    assert result.verdict is verdict
    key, count = fact
    assert result.data[key] == count


async def test_counts_data_names_bounds_and_explains():
    result, _ = await evaluate_check(WORD_COUNT, {"minWords": 5, "maxWords": 8}, chat_subject(SEVEN))
    assert result.data == {
        "wordCount": 7, "minWords": 5, "maxWords": 8,
        "explanation": "The text contains 7 words, which is within the specified range of 5-8 words.",
        "textExcerpt": SEVEN,
    }


async def test_counts_missing_bounds_use_manifest_defaults():
    result, _ = await evaluate_check(CHARACTER_COUNT, {}, chat_subject("abc"))
    assert (result.data["minCharacters"], result.data["maxCharacters"]) == (0, 9999999)
    result, _ = await evaluate_check(SENTENCE_COUNT, {}, chat_subject("abc."))
    assert (result.data["minCount"], result.data["maxCount"]) == (0, 99999)


async def test_counts_excerpt_is_cut_at_100_characters():
    result, _ = await evaluate_check(WORD_COUNT, {}, response_subject("word " * 50))
    assert result.data["textExcerpt"] == ("word " * 20) + "..."


@pytest.mark.parametrize(("check", "text"), [(WORD_COUNT, ""), (WORD_COUNT, "   \n\t   "), (WORD_COUNT, "\ufeff "),
                                             (CHARACTER_COUNT, "")], ids=["words-empty", "words-blank",
                                                                          "words-js-blank", "characters-empty"])
async def test_counts_missing_text_is_an_errored_check(check, text):
    result, outcome = await evaluate_check(check, {"failOnError": True}, response_subject(text))
    assert outcome is None
    assert result.error == ("ValueError", "Missing text to analyze")
    assert result.verdict is False


BAD = [  # check, parameters, the parameter named in the error
    (WORD_COUNT, {"minWords": 9, "maxWords": 3}, "minWords"),
    (WORD_COUNT, {"minWords": 1.5}, "minWords"),
    (WORD_COUNT, {"maxWords": "10"}, "maxWords"),
    (WORD_COUNT, {"maxWords": True}, "maxWords"),
    (WORD_COUNT, {"minWords": -1}, "minWords"),
    (WORD_COUNT, {"maxWord": 3}, "maxWord"),
    (CHARACTER_COUNT, {"minCharacters": 10, "maxCharacters": 9}, "minCharacters"),
    (CHARACTER_COUNT, {"maxCharacters": 2.5}, "maxCharacters"),
    (SENTENCE_COUNT, {"minSentences": 4, "maxSentences": 3}, "minSentences"),
    (SENTENCE_COUNT, {"maxSentences": -2}, "maxSentences"),
    (SENTENCE_COUNT, {"not": "yes"}, "not"),
]


@pytest.mark.parametrize(("check", "params", "name"), BAD, ids=[f"{row[0].id}-{row[2]}" for row in BAD])
def test_counts_bad_parameters_name_the_parameter(check, params, name):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(check, params, "p", Services())
    assert caught.value.violations[0].field == f"p.{name}"


def test_counts_integral_float_bounds_are_integers():
    compiled = compile_check(WORD_COUNT, {"minWords": 2.0, "maxWords": 4.0}, "p", Services())
    assert compiled.run(chat_subject("one two three")).data["maxWords"] == 4


@pytest.mark.parametrize(("text", "words", "characters", "sentences"), [
    ("", 0, 0, 0),
    ("a b  c", 3, 6, 0),
    (" \u2028x\u2029 ", 1, 5, 0),
    ("é😀.", 1, 4, 1),
    ("a\x85b", 1, 3, 0),  # NEL: whitespace for str.split, not for JavaScript
], ids=["empty", "runs", "line-separators", "astral", "nel"])
def test_counts_match_javascript(text, words, characters, sentences):
    assert (count_words(text), count_characters(text), count_sentences(text)) == (words, characters, sentences)
