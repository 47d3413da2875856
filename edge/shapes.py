"""JSON shape readers: `read_x(value, path)` returns the value or raises RequestShapeError naming the path.

Pure; shared by the OpenAI request translators, with the table-driven `fill`. Shape only: what a value means
is the server's business.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import orjson

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
# google.protobuf.Struct spends two message levels per JSON level and protobuf parsers stop at 100 levels, so deeper
# JSON could not reach the server.
MAX_JSON_DEPTH = 40


class RequestShapeError(ValueError):
    """A request value of the wrong JSON type; `path` names it, e.g. `messages[0].role`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --- scalar readers: (value, path) -> value, or RequestShapeError -------------------------------------------------


def describe(value: Any) -> str:
    """A short rendering of a JSON value for error messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def expected(path: str, what: str, value: Any) -> RequestShapeError:
    return RequestShapeError(path, f"expected {what}, got {describe(value)}")


def read_string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise expected(path, "a string", value)
    return value


def read_number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise expected(path, "a number", value)
    return float(value)


def read_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise expected(path, "a boolean", value)
    return value


def read_int(value: Any, path: str, bounds: tuple[int, int] = INT32) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise expected(path, "an integer", value)
    if not bounds[0] <= value <= bounds[1]:
        raise RequestShapeError(path, f"integer {value} is out of range")
    return value


def read_int64(value: Any, path: str) -> int:
    return read_int(value, path, INT64)


def read_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise expected(path, "an object", value)
    return value


def read_array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise expected(path, "an array", value)
    return value


def read_choice(value: Any, path: str, table: dict[str, Any]) -> Any:
    if not isinstance(value, str) or value not in table:
        raise RequestShapeError(path, f"expected one of {', '.join(table)}; got {describe(value)}")
    return table[value]


def read_base64(value: Any, path: str) -> bytes:
    try:
        return base64.b64decode(read_string(value, path), validate=True)
    except binascii.Error:
        raise RequestShapeError(path, "expected base64 data") from None


def setter(field: str, reader: Callable[[Any, str], Any]) -> Callable[[Any, Any, str], None]:
    """A `fill` entry that assigns `reader(value, path)` to the message field `field`."""

    def assign(target: Any, value: Any, path: str) -> None:
        setattr(target, field, reader(value, path))

    return assign


def fill(target: Any, obj: dict[str, Any], fields: dict[str, Callable[..., None]], prefix: str) -> dict[str, Any]:
    """Sets every non-null key found in `fields`; returns the keys it does not model."""
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        assign = fields.get(key)
        if assign is None:
            extra[key] = value
        elif value is not None:
            assign(target, value, f"{prefix}{key}")
    return extra


def _too_deep(value: Any, budget: int) -> list[str | int] | None:
    """The keys leading to the first container nested past `budget` levels, or None."""
    if budget < 0:
        return []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, dict | list):
            found = _too_deep(item, budget - 1)
            if found is not None:
                return [key, *found]
    return None


def build_request(request: Any, body: dict[str, Any], fields: dict[str, Callable[..., None]]) -> Any:
    """Fills a request message from a top-level JSON body; keys `fields` does not model go to its `extra`."""
    check_depth(body)
    extra = fill(request, body, fields, "")
    if extra:
        request.extra.update(extra)
    return request


def check_depth(body: dict[str, Any]) -> None:
    """Raises RequestShapeError at the first value nested deeper than MAX_JSON_DEPTH levels (the body is level 1)."""
    keys = _too_deep(body, MAX_JSON_DEPTH - 1)
    if keys is not None:
        path = "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in keys).lstrip(".")
        raise RequestShapeError(path, f"nested deeper than {MAX_JSON_DEPTH} levels, which the gateway cannot carry")
