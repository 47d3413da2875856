"""default.pii: detect-only verdicts, the `entities` filter, redaction of every text of a request or response with
typed placeholders, data that never carries the raw values, and strict parameters."""

import orjson
import pytest

from gateway_grpc.completions import Completion, CompletionChoice, CompletionRequest
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import AFTER, BEFORE, CHAT, COMPLETE, EMBED, Services, Subject
from gateway_grpc.guardrails.checking import compile_check, evaluate_check
from gateway_grpc.guardrails.checks.pii import PII
from gateway_grpc.guardrails.checks.pii_entities import ENTITIES
from gateway_grpc.types import ChatRequest, EmbeddingsRequest, ImagePart, Message, TextPart
from tests.gateway_grpc.guardrails.subjects import chat_subject, response_subject

EMAIL, PHONE, CARD = "jane.doe@example.com", "+44 20 7946 0958", "4111 1111 1111 1111"
IBAN, SSN, IP, KEY = "GB82 WEST 1234 5698 7654 32", "078-05-1120", "192.0.2.15", "AKIAIOSFODNN7EXAMPLE"
RAW = (EMAIL, PHONE, CARD, IBAN, SSN, IP, KEY)
ALL_KINDS = (f"Mail {EMAIL}, call {PHONE}, card {CARD}, IBAN {IBAN}, SSN {SSN}, host {IP}, key {KEY}.")

DETECT_CASES = [  # parameters, text, verdict, detected
    ({}, "Summarise the meeting notes in three bullets.", True, {}),
    ({}, f"Reply to {EMAIL} and {EMAIL}", False, {"EMAIL_ADDRESS": 2}),
    ({}, ALL_KINDS, False, {kind: 1 for kind in ENTITIES}),
    ({"entities": ["EMAIL_ADDRESS"]}, f"call {PHONE}", True, {}),
    ({"entities": ["PHONE_NUMBER"]}, f"call {PHONE} or mail {EMAIL}", False, {"PHONE_NUMBER": 1}),
    ({"entities": ["SECRET", "US_SSN"]}, ALL_KINDS, False, {"SECRET": 1, "US_SSN": 1}),
    ({"redact": False}, f"server {IP}", False, {"IP_ADDRESS": 1}),
]


@pytest.mark.parametrize(("params", "text", "verdict", "detected"), DETECT_CASES,
                         ids=[f"detect-{i}" for i in range(len(DETECT_CASES))])
@pytest.mark.parametrize("event", [BEFORE, AFTER])
async def test_pii_detect_verdict_and_counts(params, text, verdict, detected, event):
    subject = chat_subject(text) if event == BEFORE else response_subject(text)
    result, outcome = await evaluate_check(PII, params, subject)
    assert result.error is None
    assert result.verdict is verdict
    assert result.data["detected"] == detected and result.data["redacted"] is False
    assert outcome.request is None and outcome.response is None and not result.transformed


async def test_pii_detect_only_judges_the_subject_text():
    # Portkey's extraction: the last message; an earlier turn is only cleaned by `redact`
    messages = (Message("user", f"my mail is {EMAIL}"), Message("assistant", "noted"), Message("user", "thanks"))
    result, _ = await evaluate_check(PII, {}, chat_subject("thanks", messages=messages))
    assert result.verdict is True


async def test_pii_redacts_every_message_with_typed_placeholders():
    messages = (
        Message("system", "You are a support agent. Escalate to the on-call lead."),
        Message("user", f"I am {EMAIL}, phone {PHONE}"),
        Message("assistant", "Thanks, what is the card?"),
        Message("user", (TextPart(f"Card {CARD}, SSN {SSN}"), ImagePart(url="https://example.com/a.png"))),
    )
    subject = chat_subject("unused", messages=messages)
    result, outcome = await evaluate_check(PII, {"redact": True}, subject)
    assert result.verdict is True and result.transformed
    assert result.data == {"detected": {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1, "US_SSN": 1},
                           "redacted": True,
                           "explanation": "Redacted PII: CREDIT_CARD (1), EMAIL_ADDRESS (1), PHONE_NUMBER (1), "
                                          "US_SSN (1)."}
    new = outcome.request.messages
    assert new[1].content == "I am [EMAIL_ADDRESS], phone [PHONE_NUMBER]"
    assert new[3].content[0].text == "Card [CREDIT_CARD], SSN [US_SSN]"
    assert new[3].content[1] is messages[3].content[1]  # the image part is untouched
    assert new[0] is messages[0] and new[2] is messages[2]  # clean turns are the same objects
    assert outcome.response is None


async def test_pii_redaction_respects_the_entities_filter():
    text = f"mail {EMAIL} or call {PHONE}"
    result, outcome = await evaluate_check(PII, {"redact": True, "entities": ["EMAIL_ADDRESS"]}, chat_subject(text))
    assert outcome.request.messages[0].content == f"mail [EMAIL_ADDRESS] or call {PHONE}"
    assert result.data["detected"] == {"EMAIL_ADDRESS": 1} and result.verdict is True


async def test_pii_redacts_every_choice_of_a_response():
    subject = response_subject(f"key {KEY}", choices=(f"key {KEY}", "nothing here", f"host {IP} and {IP}"))
    result, outcome = await evaluate_check(PII, {"redact": True}, subject)
    assert [c.message.content for c in outcome.response.choices] == ["key [SECRET]", "nothing here",
                                                                     "host [IP_ADDRESS] and [IP_ADDRESS]"]
    assert outcome.response.choices[1] == subject.response.choices[1]
    assert outcome.request is None
    assert result.data["detected"] == {"IP_ADDRESS": 2, "SECRET": 1} and result.verdict is True


async def test_pii_redaction_with_nothing_found_changes_nothing():
    subject = chat_subject("Write a haiku about autumn.")
    result, outcome = await evaluate_check(PII, {"redact": True}, subject)
    assert result.verdict is True and not result.transformed
    assert outcome.request is None and outcome.response is None
    assert result.data == {"detected": {}, "redacted": False, "explanation": "No PII found."}


async def test_pii_redacts_completion_prompts_and_texts():
    request = CompletionRequest(model="m", prompt=(f"ssn {SSN}", "clean"))
    subject = Subject(BEFORE, COMPLETE, request, text=f"ssn {SSN}\nclean")
    _, outcome = await evaluate_check(PII, {"redact": True}, subject)
    assert outcome.request.prompt == ("ssn [US_SSN]", "clean")
    response = Completion(id="c", created=0, model="m", choices=(CompletionChoice(0, f"iban {IBAN}"),))
    subject = Subject(AFTER, COMPLETE, request, response, text=f"iban {IBAN}")
    _, outcome = await evaluate_check(PII, {"redact": True}, subject)
    assert outcome.response.choices[0].text == "iban [IBAN_CODE]"


async def test_pii_redacts_embedding_inputs():
    request = EmbeddingsRequest(model="e", inputs=(f"card {CARD}", "plain"))
    subject = Subject(BEFORE, EMBED, request, text=f"card {CARD}\nplain")
    _, outcome = await evaluate_check(PII, {"redact": True}, subject)
    assert outcome.request.inputs == ("card [CREDIT_CARD]", "plain")


async def test_pii_redact_without_a_replaceable_object_fails_on_pii():
    # nothing to write the redaction into: the text is still judged, so PII never passes silently
    subject = Subject(AFTER, CHAT, ChatRequest(model="m", messages=()), None, text=f"mail {EMAIL}")
    result, outcome = await evaluate_check(PII, {"redact": True}, subject)
    assert result.verdict is False and result.data["detected"] == {"EMAIL_ADDRESS": 1}
    assert result.data["redacted"] is False and outcome.response is None


@pytest.mark.parametrize("redact", [False, True])
async def test_pii_data_never_holds_the_raw_values(redact):
    result, _ = await evaluate_check(PII, {"redact": redact}, chat_subject(ALL_KINDS))
    dumped = orjson.dumps(result.data).decode()
    assert result.data["detected"] == {kind: 1 for kind in ENTITIES}
    for value in (*RAW, "7946", "1111", "EXAMPLE"):
        assert value not in dumped


BAD_PARAMS = [  # parameters, field, words in the message
    ({"entities": ["EMAIL_ADDRESS", "NAME"]}, "p.entities[1]", ("'NAME'", *ENTITIES)),
    ({"entities": ["email"]}, "p.entities[0]", ("'email'", "EMAIL_ADDRESS")),
    ({"entities": "EMAIL_ADDRESS"}, "p.entities", ("list of strings",)),
    ({"entities": []}, "p.entities", ("at least one",)),
    ({"redact": "yes"}, "p.redact", ("true or false",)),
    ({"not": True}, "p.not", ("cannot be negated",)),  # not negatable: a redaction has no inverse
    ({"entity": ["EMAIL_ADDRESS"]}, "p.entity", ("unknown parameter",)),
]


@pytest.mark.parametrize(("params", "field", "words"), BAD_PARAMS, ids=[f"bad-{i}" for i in range(len(BAD_PARAMS))])
def test_pii_bad_parameters_name_their_path(params, field, words):
    with pytest.raises(InvalidConfig) as caught:
        compile_check(PII, params, "p", Services())
    violation = caught.value.violations[0]
    assert violation.field == field
    assert all(word in violation.description for word in words), violation.description


def test_pii_declares_its_events_and_transforms():
    assert PII.id == "default.pii"
    assert PII.events == frozenset({BEFORE, AFTER})
    assert PII.negatable is False
    assert PII.transforms({"redact": True}) is True and PII.transforms({}) is False  # only redaction transforms
