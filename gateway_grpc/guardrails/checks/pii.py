"""`default.pii`: local PII detection and redaction, with no external service (detectors in pii_entities.py).

Parameters: `entities` (names from pii_entities.ENTITIES; default all) and `redact` (default false); the hook's
`deny` turns a failed verdict into a 446. Detect-only judges `subject.text` (Portkey's extraction, like every
verdict check): the verdict is false when a selected entity is found. With `redact`, every text of the request
(all messages, so earlier turns too) or of the response (every choice) has each entity replaced by `[ENTITY]`, and
the check passes with the replaced object, as Portkey's redacting PII plugins do (promptfoo: `verdict = true,
transformed = true` once masked). `data` holds entity names and counts, never the matched values: it reaches logs
and response bodies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from gateway_grpc.guardrails.base import AFTER, BEFORE, CheckFn, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.checks.pii_entities import ENTITIES, find
from gateway_grpc.guardrails.texts import map_request_texts, map_response_texts


def _compile(params: Params, services: Services) -> CheckFn:
    entities = _entities(params)
    redact = params.boolean("redact")

    def check(subject: Subject) -> Outcome:
        if redact:
            return _redacted(subject, entities)
        counts = Counter(span.entity for span in find(subject.text) if span.entity in entities)
        return Outcome(not counts, _data(counts, redacted=False))

    return check


def _entities(params: Params) -> frozenset[str]:
    names = params.strings("entities", ENTITIES)
    if not names:
        raise params.error("entities", f"expected at least one of {', '.join(ENTITIES)}")
    for index, name in enumerate(names):
        if name not in ENTITIES:
            raise params.error(f"entities[{index}]", f"unknown entity {name!r}; expected one of {', '.join(ENTITIES)}")
    return frozenset(names)


class _Redaction:
    """One call's edit: each distinct text scanned once, every occurrence counted."""

    def __init__(self, entities: Collection[str]) -> None:
        self.entities = entities
        self.counts: Counter[str] = Counter()
        self._done: dict[str, tuple[str, Counter[str]]] = {}

    def scan(self, text: str) -> tuple[str, Counter[str]]:
        if text not in self._done:
            spans = [span for span in find(text) if span.entity in self.entities]
            pieces, last = [], 0
            for span in spans:
                pieces += (text[last:span.start], f"[{span.entity}]")
                last = span.end
            redacted = "".join(pieces) + text[last:] if spans else text
            self._done[text] = (redacted, Counter(span.entity for span in spans))
        return self._done[text]

    def __call__(self, text: str) -> str:
        redacted, counts = self.scan(text)
        self.counts.update(counts)
        return redacted


def _redacted(subject: Subject, entities: Collection[str]) -> Outcome:
    edit = _Redaction(entities)
    if subject.event == AFTER:
        response = map_response_texts(subject.response, edit)
        replaced = {"response": response} if response is not subject.response else {}
    else:
        request = map_request_texts(subject.request, edit)
        replaced = {"request": request} if request is not subject.request else {}
    if replaced:
        return Outcome(True, _data(edit.counts, redacted=True), **replaced)
    # Nothing replaceable (e.g. no request/response object): still judge the text, never pass PII silently.
    unredacted = edit.counts or edit.scan(subject.text)[1]
    return Outcome(not unredacted, _data(unredacted, redacted=False))


def _data(counts: Counter[str], *, redacted: bool) -> dict[str, object]:
    found = dict(sorted(counts.items()))
    listed = ", ".join(f"{name} ({count})" for name, count in found.items())
    if not found:
        explanation = "No PII found."
    elif redacted:
        explanation = f"Redacted PII: {listed}."
    else:
        explanation = f"Found PII: {listed}."
    return {"detected": found, "redacted": redacted, "explanation": explanation}


PII = CheckType("default.pii", _compile, frozenset({BEFORE, AFTER}), negatable=False,
                transforms=lambda parameters: parameters.get("redact") is True)  # detect-only runs anywhere
