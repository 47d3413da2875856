"""Checks on the shape of the text: `default.contains`, `default.endsWith`, `default.notNull`, `default.alluppercase`
and `default.alllowercase` (Portkey plugins/default/*.ts), plus the small readers the other built-in checks share
(`excerpt`, `read_listed`, `required_text`, `operator_verdict`). Pure: no I/O.
"""

from __future__ import annotations

import re

from gateway_grpc.guardrails.base import AFTER, CheckFn, CheckType, Outcome, Params, Services, Subject

OPERATORS = ("any", "all", "none")
_LOWER, _UPPER = re.compile("[a-z]"), re.compile("[A-Z]")  # Portkey compares ASCII letters only


def excerpt(text: str) -> str:
    """Portkey's `textExcerpt`: the first 100 characters, `...` when cut."""
    return text if len(text) <= 100 else text[:100] + "..."


def read_listed(params: Params, name: str, default_operator: str, *,
                allow_empty: bool = False) -> tuple[tuple[str, ...], str]:
    """A list of strings checked `any` / `all` / `none` (`operator`), for a check that cannot be negated."""
    items = params.strings(name, required=True)
    if not items and not allow_empty:
        raise params.error(name, "must list at least one item")
    operator = params.choice("operator", OPERATORS, default_operator)
    return items, operator


def required_text(subject: Subject) -> str:
    """The subject's text; Portkey errors on an empty one ("Missing text to analyze")."""
    if not subject.text:
        raise ValueError("Missing text to analyze")
    return subject.text


# --- contains ---------------------------------------------------------------------------------------------------

_CONTAINS_EXPLAINED = {  # (operator, verdict) -> Portkey's sentence
    ("any", True): "At least one word was found.", ("any", False): "No words were found.",
    ("all", True): "All words were found.", ("all", False): "Some words were missing.",
    ("none", True): "No words were found.", ("none", False): "Some words were found.",
}


def operator_verdict(operator: str, found: int, missing: int) -> bool:
    if operator == "any":
        return found > 0
    if operator == "all":
        return missing == 0
    return found == 0


def _compile_contains(params: Params, services: Services) -> CheckFn:
    words, operator = read_listed(params, "words", "any", allow_empty=True)  # Portkey accepts an empty list

    def check(subject: Subject) -> Outcome:
        text = subject.text
        found = [word for word in words if word in text]
        missing = [word for word in words if word not in text]
        verdict = operator_verdict(operator, len(found), len(missing))
        explanation = (f"Check {'passed' if verdict else 'failed'} for '{operator}' words. "
                       f"{_CONTAINS_EXPLAINED[operator, verdict]}")
        return Outcome(verdict, {"explanation": explanation, "foundWords": found, "missingWords": missing,
                                 "operator": operator})

    return check


# --- endsWith -------------------------------------------------------------------------------------------------------

def _compile_ends_with(params: Params, services: Services) -> CheckFn:
    suffix = params.string("suffix", required=True)
    if not suffix:
        raise params.error("suffix", "must not be empty")
    with_period = suffix + "."

    def check(subject: Subject) -> Outcome:
        text = required_text(subject)
        period = text.endswith(with_period)
        verdict = period or text.endswith(suffix)
        if verdict:
            explanation = f'The text ends with "{suffix}"{" (including trailing period)" if period else ""}.'
        else:
            explanation = f'The text does not end with "{suffix}".'
        return Outcome(verdict, {"suffix": suffix, "explanation": explanation, "textExcerpt": excerpt(text)})

    return check


# --- notNull --------------------------------------------------------------------------------------------------------

def _compile_not_null(params: Params, services: Services) -> CheckFn:
    def check(subject: Subject) -> Outcome:
        verdict = bool(subject.text.strip())
        explanation = "The content is not empty." if verdict else "The content is empty or only whitespace."
        return Outcome(verdict, {"explanation": explanation, "length": len(subject.text)})

    return check


# --- alluppercase / alllowercase ------------------------------------------------------------------------------------

def _case_check(wrong: re.Pattern[str], case: str, other: str) -> CheckFn:
    """Portkey keeps the ASCII letters and compares them with their `case` form: text without letters passes."""

    def check(subject: Subject) -> Outcome:
        text = required_text(subject)
        verdict = wrong.search(text) is None
        explanation = (f"All alphabetic characters in the text are {case}." if verdict
                       else f"The text contains {other} characters.")
        return Outcome(verdict, {"explanation": explanation, "textExcerpt": excerpt(text)})

    return check


def _compile_upper(params: Params, services: Services) -> CheckFn:
    return _case_check(_LOWER, "uppercase", "lowercase")


def _compile_lower(params: Params, services: Services) -> CheckFn:
    return _case_check(_UPPER, "lowercase", "uppercase")


CONTAINS = CheckType("default.contains", _compile_contains, frozenset({AFTER}), negatable=False)
ENDS_WITH = CheckType("default.endsWith", _compile_ends_with)
NOT_NULL = CheckType("default.notNull", _compile_not_null, frozenset({AFTER}))
ALL_UPPERCASE = CheckType("default.alluppercase", _compile_upper)
ALL_LOWERCASE = CheckType("default.alllowercase", _compile_lower)
