"""`default.jsonSchema` and `default.jsonKeys` (Portkey plugins/default/json*.ts): the JSON objects a response
carries (fenced blocks, then `{...}` spans, as the reference extracts them), validated against a JSON Schema (draft
2020-12, compiled once, formats asserted, no remote `$ref` fetched) or checked for keys. Pure; no I/O.

Beyond the reference: the whole text is also tried as one JSON document (last, so the reference's picks come first).
Its lazy `{...}` spans never capture a nested object, so a bare nested-JSON answer (`response_format: json_object`)
would otherwise never be found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

import jsonschema
import orjson
from referencing import Registry

from gateway_grpc.guardrails.base import AFTER, CheckFn, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.checks.text_shape import excerpt, operator_verdict, read_listed, required_text

MAX_ERRORS = 20  # validation errors reported per answer
_FENCED = re.compile(r"```+(?:json)?\s*([\s\S]*?)```+")
_Validator = jsonschema.Draft202012Validator


def _spans(text: str) -> Iterator[str]:
    """The reference's `/{[\\s\\S]*?}/g` matches, found with str.find (linear, where the regex is quadratic on a
    text of `{` without `}`)."""
    start = text.find("{")
    while start >= 0:
        end = text.find("}", start + 1)
        if end < 0:
            return
        yield text[start:end + 1]
        start = text.find("{", end + 1)


def candidates(text: str, *, spans_always: bool) -> list[str]:
    """Fenced blocks, then `{...}` spans (jsonKeys: always; jsonSchema: only when no fenced block), then the whole
    text when it looks like one JSON document."""
    found = [match.group(1).strip() for match in _FENCED.finditer(text)]
    if spans_always or not found:
        found.extend(_spans(text))
    whole = text.strip()
    if whole[:1] in ("{", "[") and whole not in found:
        found.append(whole)
    return found


def parsed(text: str, *, spans_always: bool) -> Iterator[Any]:
    """The candidates that parse as JSON (strict RFC 8259, as JSON.parse)."""
    for candidate in candidates(text, spans_always=spans_always):
        try:
            yield orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue


# --- jsonSchema -----------------------------------------------------------------------------------------------------

def _error_item(error: jsonschema.ValidationError) -> dict[str, str]:
    return {"path": "/" + "/".join(str(part) for part in error.absolute_path), "message": error.message}


def _compile_schema(params: Params, services: Services) -> CheckFn:
    schema = params.mapping("schema", required=True)
    try:
        _Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise params.error("schema", f"not a valid JSON Schema (draft 2020-12): {exc.message}") from None
    # An empty registry: a `$ref` to a URL is unresolvable (an errored check), never fetched.
    validator = _Validator(schema, registry=Registry(), format_checker=_Validator.FORMAT_CHECKER)

    def check(subject: Subject) -> Outcome:
        first: dict[str, Any] | None = None
        for document in parsed(subject.text, spans_always=False):
            errors = [_error_item(e) for e in islice(validator.iter_errors(document), MAX_ERRORS)]
            if not errors:
                return Outcome(True, {"matchedJson": document,
                                      "explanation": "Successfully validated JSON against the provided schema.",
                                      "validationErrors": []})
            first = first or {"matchedJson": document, "validationErrors": errors,
                              "explanation": "Failed to validate JSON against the provided schema."}
        return Outcome(False, first or {"explanation": "No valid JSON found in the response."})

    return check


# --- jsonKeys -------------------------------------------------------------------------------------------------------

def _keys_explanation(operator: str, present: list[str], missing: list[str], verdict: bool) -> str:
    found = f"Found keys: [{', '.join(present)}]" if present else "No matching keys found"
    absent = f"Missing keys: [{', '.join(missing)}]" if missing else "No missing keys"
    return {
        ("any", True): f"Successfully found at least one required key. {found}.",
        ("any", False): f"Failed to find any required keys. {absent}.",
        ("all", True): f"Successfully found all required keys. {found}.",
        ("all", False): f"Failed to find all required keys. {absent}.",
        ("none", True): f"Successfully verified no required keys are present. {absent}.",
        ("none", False): f"Found some keys that should not be present. {found}.",
    }[operator, verdict]


def _best_match(documents: list[Any], keys: tuple[str, ...], operator: str) -> tuple[Any, list, list, bool]:
    """Portkey's choice: the first document meeting the operator, else the one with the most keys present."""
    best: tuple[Any, list, list, bool] = (None, [], list(keys), False)
    for document in documents:
        has = document if isinstance(document, dict) else {}
        present = [key for key in keys if key in has]
        missing = [key for key in keys if key not in has]
        verdict = operator_verdict(operator, len(present), len(missing))
        if verdict or len(present) > len(best[1]):
            best = (document, present, missing, verdict)
        if verdict:
            break
    return best


def _compile_keys(params: Params, services: Services) -> CheckFn:
    keys, operator = read_listed(params, "keys", "any")

    def check(subject: Subject) -> Outcome:
        text = required_text(subject)
        documents = list(parsed(text, spans_always=True))
        if not documents:
            return Outcome(False, {"explanation": "No valid JSON found in the text.", "requiredKeys": list(keys),
                                   "operator": operator, "textExcerpt": excerpt(text)})
        document, present, missing, verdict = _best_match(documents, keys, operator)
        return Outcome(verdict, {"matchedJson": document, "explanation": _keys_explanation(operator, present, missing,
                                                                                           verdict),
                                 "presentKeys": present, "missingKeys": missing, "operator": operator,
                                 "textExcerpt": excerpt(text)})

    return check


JSON_SCHEMA = CheckType("default.jsonSchema", _compile_schema, frozenset({AFTER}))
JSON_KEYS = CheckType("default.jsonKeys", _compile_keys, frozenset({AFTER}), negatable=False)
