"""default.regexMatch / default.regexReplace: the reference's cases, JavaScript regex semantics, and redaction of
every text of a request or response."""

import orjson
import pytest
import regex

from gateway_grpc.completions import Completion, CompletionChoice, CompletionRequest
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import AFTER, BEFORE, COMPLETE, EMBED, Services, Subject
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.regex import REGEX_MATCH, REGEX_REPLACE, translate
from gateway_grpc.types import EmbeddingsRequest, ImagePart, Message, TextPart
from tests.gateway_grpc.guardrails.subjects import chat_subject, response_subject

FOX = "The quick brown fox jumps over the lazy dog."

MATCH_CASES = [  # parameters, text, verdict, matchDetails
    ({"rule": "quick.*fox"}, FOX, True, {"matchedText": "quick brown fox", "index": 4, "groups": {}, "captures": []}),
    ({"rule": "zebra"}, FOX, False, None),
    ({"rule": "(quick) (brown) (fox)"}, FOX, True,
     {"matchedText": "quick brown fox", "index": 4, "groups": {}, "captures": ["quick", "brown", "fox"]}),
    ({"rule": "(?<adjective1>quick) (?<adjective2>brown) (?<animal>fox)"}, FOX, True,
     {"matchedText": "quick brown fox", "index": 4, "captures": ["quick", "brown", "fox"],
      "groups": {"adjective1": "quick", "adjective2": "brown", "animal": "fox"}}),
    ({"rule": "(x)?dog"}, FOX, True, {"matchedText": "dog", "index": 40, "groups": {}, "captures": [None]}),
    ({"rule": "zebra", "not": True}, FOX, True, None),
    ({"rule": "fox", "not": True}, FOX, False, {"matchedText": "fox", "index": 16, "groups": {}, "captures": []}),
    ({"rule": "Grüße"}, "Viele Grüße!", True, {"matchedText": "Grüße", "index": 6, "groups": {}, "captures": []}),
]


@pytest.mark.parametrize(("params", "text", "verdict", "details"), MATCH_CASES,
                         ids=[f"match-{i}" for i in range(len(MATCH_CASES))])
async def test_regex_match_verdict_and_details(params, text, verdict, details):
    result, _ = await evaluate_check(REGEX_MATCH, params, response_subject(text))
    orjson.dumps(result.data)  # JSON-able, as hook_results need
    assert result.error is None
    assert result.verdict is verdict
    assert result.data["matchDetails"] == details
    assert result.data["regexPattern"] == params["rule"]


async def test_regex_match_explains_and_excerpts():
    result, _ = await evaluate_check(REGEX_MATCH, {"rule": "dog"}, chat_subject(FOX))
    assert result.data["explanation"] == "The regex pattern 'dog' successfully matched the text."
    assert result.data["textExcerpt"] == FOX
    result, _ = await evaluate_check(REGEX_MATCH, {"rule": "b"}, chat_subject("a" * 200))
    assert result.data["explanation"] == "The regex pattern 'b' did not match the text."
    assert result.data["textExcerpt"] == "a" * 100 + "..."


async def test_regex_match_empty_text_is_an_errored_check():
    result, outcome = await evaluate_check(REGEX_MATCH, {"rule": "test", "failOnError": True}, response_subject(""))
    assert outcome is None
    assert result.error == ("ValueError", "Missing text to match")
    assert result.verdict is False


async def test_regex_match_catastrophic_pattern_times_out_as_an_error():
    result, outcome = await evaluate_check(REGEX_MATCH, {"rule": "(a|aa)+$"}, response_subject("a" * 60 + "!"))
    assert outcome is None
    assert result.error[0] == "TimeoutError"
    assert result.execution_time_ms < 1000


JS_SEMANTICS = [  # pattern, flags, text, matches (as JavaScript's RegExp.test)
    (r"^\d+$", "", "123", True),
    (r"^\d+$", "", "123\n", False),  # `$` is the very end without the m flag
    (r"^b$", "m", "a\nbc", False),
    (r"^b$", "m", "a\nb\rc", True),  # \r ends a line in JavaScript
    (r"\d", "", "٣", False),  # Arabic-Indic digit: \d is ASCII in JavaScript
    (r"\w", "", "é", False),
    (r"\bcat\b", "", "écat", True),  # é is not a word character, so there is a boundary
    (r"\Bcat", "", "écat", False),
    (r"^\s$", "", "\ufeff", True),
    (r"^\s$", "", "\x1c", False),
    (r"a.b", "", "a\rb", False),
    (r"a.b", "s", "a\rb", True),
    (r"a[^]b", "", "a\nb", True),
    (r"a[]b", "", "ab", False),
    (r"(?<q>['\"]).*\k<q>", "", "say 'hi'", True),
    (r"\A", "", "A", True),  # identity escape: the letter A
    (r"\/path\/", "", "/path/", True),
    (r"\cJ", "", "\n", True),
    (r"[\d-]+x", "", "12-3x", True),
    (r"[\w]", "", "é", False),
    (r"[[]", "", "[", True),
    (r"\x41\u0042", "", "AB", True),
    (r"\u{1F600}", "u", "😀", True),
    (r"\p{L}", "u", "é", True),
    (r"ÉTÉ", "i", "été", True),
    (r"\w", "i", "\u212a", False),  # Kelvin sign: not a word character, even case-insensitively
]


@pytest.mark.parametrize(("pattern", "flags", "text", "matches"), JS_SEMANTICS,
                         ids=[f"js-{i}" for i in range(len(JS_SEMANTICS))])
def test_regex_translation_keeps_javascript_meaning(pattern, flags, text, matches):
    compiled = regex.compile(translate(pattern, flags), regex.IGNORECASE if "i" in flags else 0)
    assert (compiled.search(text) is not None) is matches


# --- regexReplace -----------------------------------------------------------------------------------------------------

def _chat(*messages: Message) -> Subject:
    return chat_subject("", messages=messages)


async def test_regex_replace_redacts_every_message_and_part():
    subject = _chat(Message("system", "key sk-1 and sk-2"), Message("assistant", None),
                    Message("user", (TextPart("use sk-3"), ImagePart(url="https://x/sk-4.png"), TextPart("ok"))))
    result, outcome = await evaluate_check(REGEX_REPLACE, {"rule": r"sk-\d"}, subject)
    assert result.verdict is True and result.transformed is True
    assert outcome.response is None
    assert outcome.request.messages == (
        Message("system", "key [REDACTED] and [REDACTED]"), Message("assistant", None),
        Message("user", (TextPart("use [REDACTED]"), ImagePart(url="https://x/sk-4.png"), TextPart("ok"))))
    assert result.data == {"regexPattern": r"sk-\d", "replacements": 3,
                           "explanation": r"Pattern 'sk-\d' matched and was replaced with '[REDACTED]'"}


async def test_regex_replace_redacts_every_choice_after_the_call():
    subject = response_subject("call 555-1234", choices=("call 555-1234", "or 555-9876", "no number"))
    result, outcome = await evaluate_check(REGEX_REPLACE, {"rule": r"\d{3}-\d{4}", "redactText": "<phone>"}, subject)
    assert outcome.request is None
    assert [c.message.content for c in outcome.response.choices] == ["call <phone>", "or <phone>", "no number"]
    assert result.data["replacements"] == 2


async def test_regex_replace_without_a_match_changes_nothing():
    result, outcome = await evaluate_check(REGEX_REPLACE, {"rule": "secret", "failOnDetection": True},
                                           _chat(Message("user", "nothing here")))
    assert (outcome.request, outcome.response) == (None, None)
    assert result.verdict is True and result.transformed is False
    assert result.data["explanation"] == "The regex pattern 'secret' did not match any text."


@pytest.mark.parametrize(("params", "verdict"), [
    ({"rule": "secret"}, True), ({"rule": "secret", "failOnDetection": True}, False),
    ({"rule": "secret", "failOnDetection": False}, True),
], ids=["default", "fail-on-detection", "no-fail"])
async def test_regex_replace_fails_only_on_detection_when_asked(params, verdict):
    result, outcome = await evaluate_check(REGEX_REPLACE, params, _chat(Message("user", "my secret")))
    assert result.verdict is verdict
    assert outcome.request.messages[0].content == "my [REDACTED]"


REPLACEMENTS = [  # rule, redactText, text, result (JavaScript's String.prototype.replace patterns)
    (r"(\w+)@(\w+)\.com", "$1 at $2", "mail bob@corp.com", "mail bob at corp"),
    (r"(?<user>\w+)@\w+\.com", "<$<user>>", "bob@corp.com", "<bob>"),
    ("cat", "[$&]", "a cat", "a [cat]"),
    ("cat", "$$5", "cat", "$5"),
    ("b", "$`|$'", "abc", "aa|cc"),
    ("(a)", "$2$1", "a", "$2a"),  # no group 2: literal
    ("cat", r"\1 \n", "cat", r"\1 \n"),  # backslashes are literal
    ("cat", "", "cat", "[REDACTED]"),  # Portkey: `redactText || '[REDACTED]'`
    ("/CAT/i", "x", "Cat cAt", "x x"),  # `/pattern/flags`; every match is replaced, with or without g
    ("/a.b/gs", "x", "a\nb", "x"),
    ("/^b/m", "x", "a\nb", "a\nx"),
    ("/path/to", "x", "/path/to", "x"),  # not a literal: `to` are not flags
]


@pytest.mark.parametrize(("rule", "redact", "text", "expected"), REPLACEMENTS,
                         ids=[f"replace-{i}" for i in range(len(REPLACEMENTS))])
async def test_regex_replace_replacement_patterns(rule, redact, text, expected):
    _, outcome = await evaluate_check(REGEX_REPLACE, {"rule": rule, "redactText": redact},
                                      _chat(Message("user", text)))
    assert outcome.request.messages[0].content == expected


async def test_regex_replace_completions_and_embeddings():
    completion = CompletionRequest(model="m", prompt=("id 42", "id 7"))
    subject = Subject(BEFORE, COMPLETE, completion, text="id 42\nid 7")
    _, outcome = await evaluate_check(REGEX_REPLACE, {"rule": r"\d+"}, subject)
    assert outcome.request.prompt == ("id [REDACTED]", "id [REDACTED]")
    answer = Completion(id="c", created=0, model="m", choices=(CompletionChoice(0, "id 9"),))
    _, outcome = await evaluate_check(REGEX_REPLACE, {"rule": r"\d+"}, Subject(AFTER, COMPLETE, completion, answer))
    assert outcome.response.choices[0].text == "id [REDACTED]"
    embed = EmbeddingsRequest(model="e", inputs=("a 1", "b"))
    _, outcome = await evaluate_check(REGEX_REPLACE, {"rule": r"\d"}, Subject(BEFORE, EMBED, embed, text="a 1\nb"))
    assert outcome.request.inputs == ("a [REDACTED]", "b")


async def test_regex_replace_catastrophic_pattern_times_out_as_an_error():
    subject = _chat(Message("user", "a" * 60 + "!"))
    result, outcome = await evaluate_check(REGEX_REPLACE, {"rule": "(a|aa)+$"}, subject)
    assert outcome is None
    assert result.error[0] == "TimeoutError"


BAD = [  # check, parameters, the parameter named in the error
    (REGEX_MATCH, {}, "rule"),
    (REGEX_MATCH, {"rule": ""}, "rule"),
    (REGEX_MATCH, {"rule": "("}, "rule"),
    (REGEX_MATCH, {"rule": "a{2,1}"}, "rule"),
    (REGEX_MATCH, {"rule": ["a"]}, "rule"),
    (REGEX_MATCH, {"rule": "a", "flags": "i"}, "flags"),
    (REGEX_REPLACE, {}, "rule"),
    (REGEX_REPLACE, {"rule": "[z-a]"}, "rule"),
    (REGEX_REPLACE, {"rule": "/a/y"}, "rule"),
    (REGEX_REPLACE, {"rule": "/a/gg"}, "rule"),
    (REGEX_REPLACE, {"rule": "a", "redactText": 5}, "redactText"),
    (REGEX_REPLACE, {"rule": "a", "failOnDetection": "yes"}, "failOnDetection"),
    (REGEX_REPLACE, {"rule": "a", "not": True}, "not"),
]


@pytest.mark.parametrize(("check", "params", "name"), BAD, ids=[f"{row[0].id}-{i}" for i, row in enumerate(BAD)])
def test_regex_bad_parameters_name_the_parameter(check, params, name):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(check, params, "p", Services())
    assert caught.value.violations[0].field == f"p.{name}"


def test_regex_replace_accepts_not_false():
    compile_check(REGEX_REPLACE, {"rule": "a", "not": False}, "p", Services())
