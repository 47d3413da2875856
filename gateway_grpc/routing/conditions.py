"""Conditional-routing queries (Portkey contract §5): validated and compiled once, then matched per request.

Fixes §13 row 28: every key of a query must hold (no early return on $regex/$and/$or), operators and regexes are
checked at compile time, and paths may go to any depth. Owns only the query language; which target a match selects
belongs to the router.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Final

import regex

from gateway_grpc.errors import InvalidConfig

ROOTS: Final = ("metadata", "params", "url")
MAX_DEPTH: Final = 32  # nested $and/$or levels; bounds recursion at compile and match time
MAX_PATTERN_CHARS: Final = 1024
REGEX_TIMEOUT_S: Final = 0.005  # per match; a pattern that backtracks longer counts as no match

# JavaScript parseFloat: skip JS white space, then the longest StrDecimalLiteral prefix.
_FLOAT_PREFIX: Final = re.compile(
    r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*"
    r"([+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?))"
)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

Lookup = Callable[[str], Any]
Clause = Callable[[Lookup], bool]
Test = Callable[[Any], bool]


def lookup_path(roots: Mapping[str, Any], dotted: str) -> Any:
    """The value at `dotted` ("metadata.user.tier", "params.messages.0.role"), or MISSING. Any depth."""
    head, *rest = dotted.split(".")
    value = roots.get(head, MISSING)
    for segment in rest:
        value = _step(value, segment)
    return value


def _step(value: Any, segment: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(segment, MISSING)
    # ASCII digits only, and short enough that int() can never raise
    if isinstance(value, (list, tuple)) and segment.isascii() and segment.isdigit() and len(segment) < 19:
        index = int(segment)
        return value[index] if index < len(value) else MISSING
    return MISSING


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled conditional-routing query (immutable): every clause must hold."""

    clauses: tuple[Clause, ...]

    def matches(self, lookup: Lookup) -> bool:
        """Whether the request seen through `lookup(dotted_path) -> value or MISSING` satisfies the query."""
        return all(clause(lookup) for clause in self.clauses)


def compile_query(query: Any, path: str) -> Query:
    """Validate and compile once; InvalidConfig names the bad spot, e.g. `<path>.metadata.tier.$gt`."""
    return _compile(query, path, 0)


def _compile(query: Any, path: str, depth: int) -> Query:
    if not isinstance(query, Mapping):
        raise InvalidConfig.field(path, f"a query must be an object, got {type(query).__name__}")
    if depth > MAX_DEPTH:
        raise InvalidConfig.field(path, f"$and/$or nest deeper than {MAX_DEPTH} levels")
    return Query(tuple(_compile_key(key, value, f"{path}.{key}", depth) for key, value in query.items()))


def _compile_key(key: Any, value: Any, where: str, depth: int) -> Clause:
    if key in _COMBINATORS:
        if not isinstance(value, (list, tuple)) or not value:
            raise InvalidConfig.field(where, f"{key} must be a non-empty list of query objects")
        queries = tuple(_compile(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        return partial(_COMBINATORS[key], queries)
    _check_path(key, where)
    return partial(_test_all, key, _compile_tests(value, where))


def _check_path(key: Any, where: str) -> None:
    segments = key.split(".") if isinstance(key, str) else [None]
    if segments[0] not in ROOTS:
        raise InvalidConfig.field(where, f"unknown query key {key!r}; use $and, $or or a path under {', '.join(ROOTS)}")
    if "" in segments:
        raise InvalidConfig.field(where, f"path {key!r} has an empty segment")


def _compile_tests(value: Any, where: str) -> tuple[Test, ...]:
    if not isinstance(value, Mapping):
        return (partial(_same, value),)
    if not value:
        raise InvalidConfig.field(where, "an operator object needs at least one operator")
    return tuple(_compile_operator(op, operand, f"{where}.{op}") for op, operand in value.items())


def _compile_operator(op: Any, operand: Any, where: str) -> Test:
    build = _OPERATORS.get(op)
    if build is None:
        raise InvalidConfig.field(where, f"unknown operator {op!r}; valid operators: {', '.join(_OPERATORS)}")
    return build(operand, where)


def _test_all(path: str, tests: tuple[Test, ...], lookup: Lookup) -> bool:
    """A path clause: look the value up once, then every operator must hold (the hot path never raises)."""
    value = lookup(path)
    return all(test(value) for test in tests)


def _all_of(queries: tuple[Query, ...], lookup: Lookup) -> bool:
    return all(query.matches(lookup) for query in queries)


def _any_of(queries: tuple[Query, ...], lookup: Lookup) -> bool:
    return any(query.matches(lookup) for query in queries)


_COMBINATORS: Final = {"$and": _all_of, "$or": _any_of}


def _build_equal(expected: bool, operand: Any, where: str) -> Test:
    return lambda value: _same(operand, value) is expected


def _build_order(compare: Callable[[Any, Any], bool], operand: Any, where: str) -> Test:
    bound = _parse_float(operand)
    if bound != bound:  # NaN never compares true
        return lambda value: False
    return lambda value: compare(_parse_float(value), bound)


def _build_member(expected: bool, operand: Any, where: str) -> Test:
    if not isinstance(operand, (list, tuple)):
        raise InvalidConfig.field(where, f"must be a list, got {type(operand).__name__}")
    items = tuple(operand)
    return lambda value: any(_same(item, value) for item in items) is expected


def _build_regex(operand: Any, where: str) -> Test:
    """Patterns come from callers' configs, so matching is bounded: the `regex` engine's timeout turns a
    catastrophic-backtracking pattern into "no match" instead of a stalled worker."""
    if not isinstance(operand, str):
        raise InvalidConfig.field(where, f"must be a string pattern, got {type(operand).__name__}")
    if len(operand) > MAX_PATTERN_CHARS:
        raise InvalidConfig.field(where, f"pattern longer than {MAX_PATTERN_CHARS} characters")
    try:
        search = regex.compile(operand, regex.VERSION0).search
    except (regex.error, OverflowError, RecursionError) as exc:
        raise InvalidConfig.field(where, f"invalid regular expression: {exc}") from None

    def test(value: Any) -> bool:
        text = _js_string(value)
        if text is None:
            return False
        try:
            return search(text, timeout=REGEX_TIMEOUT_S) is not None
        except TimeoutError:
            return False

    return test


_OPERATORS: Final[dict[str, Callable[[Any, str], Test]]] = {
    "$eq": partial(_build_equal, True),
    "$ne": partial(_build_equal, False),
    "$gt": partial(_build_order, operator.gt),
    "$gte": partial(_build_order, operator.ge),
    "$lt": partial(_build_order, operator.lt),
    "$lte": partial(_build_order, operator.le),
    "$in": partial(_build_member, True),
    "$nin": partial(_build_member, False),
    "$regex": _build_regex,
}


def _kind(value: Any) -> type | None:
    """The JSON type a value compares as; None for MISSING and non-JSON values (equal to nothing)."""
    if isinstance(value, bool):
        return bool
    if isinstance(value, (int, float)):
        return float
    if isinstance(value, str):
        return str
    if value is None:
        return type(None)
    if isinstance(value, Mapping):
        return dict
    if isinstance(value, (list, tuple)):
        return list
    return None


def _same(a: Any, b: Any) -> bool:
    """JavaScript `===` made structural: bool is not a number, "5" is not 5, 1 is 1.0; lists and objects deeply."""
    kind = _kind(a)
    if kind is None or kind is not _kind(b):
        return False
    if kind is list:
        return len(a) == len(b) and all(map(_same, a, b))
    if kind is dict:
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    return bool(a == b)


def _parse_float(value: Any) -> float:
    """JavaScript parseFloat: numbers as they are, strings by their longest numeric prefix, the rest NaN."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        found = _FLOAT_PREFIX.match(value)
        return float(found.group(1)) if found else math.nan
    return math.nan


def _js_string(value: Any) -> str | None:
    """JavaScript String() for scalars (true, 1, 1.5, 1e+21); None for null, MISSING, lists and objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value)
    return None


def _js_number(x: float) -> str:
    """Number::toString: shortest round-trip digits, positional for 1e-6 <= |x| < 1e21, else `1.5e-7` form."""
    if x != x:
        return "NaN"
    if x in (math.inf, -math.inf):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if 1e-6 <= abs(x) < 1e21:
        text = format(Decimal(repr(x)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = repr(x).split("e")
    return f"{mantissa}e{int(exponent):+d}"
