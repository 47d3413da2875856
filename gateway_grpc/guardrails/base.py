"""The guardrail plugin interface: what a check is given (Subject), what it answers (Outcome), how it is declared
(CheckType), how its parameters are read (Params) and what it may call (Services).

A check is one file defining a `CheckType`; it is registered by one line in guardrails/registry.py (or, for a team's
own check outside this package, by listing its module under `guardrails.plugins` in the gateway config):

    def _compile(params: Params, services: Services) -> CheckFn:
        limit = params.integer("maxWords", 99999)          # read and validated once, when the config is compiled
        def check(subject: Subject) -> Outcome:            # runs per call; may be `async def` for I/O
            return Outcome(len(subject.text.split()) <= limit, {"words": len(subject.text.split())})
        return check

    MAX_WORDS = CheckType("myteam.maxWords", _compile)

Checks see neutral types only (types.py, completions.py), never HTTP or protobuf. An exception a check raises is
an *errored* check (Portkey: a pass unless `failOnError`); `CheckSkipped` marks it skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.types import EMPTY

BEFORE, AFTER = "beforeRequestHook", "afterRequestHook"  # Portkey's eventType values
CHAT, COMPLETE, EMBED = "chatComplete", "complete", "embed"  # Portkey's request types that run hooks


@dataclass(frozen=True, slots=True)
class Subject:
    """One call as a check sees it. `text` is Portkey's text extraction (contract §8.1): for a request, the text
    parts of the last message, else the prompt, else the input; for a response, the first choice's text."""

    event: str  # BEFORE or AFTER
    request_type: str  # CHAT, COMPLETE or EMBED
    request: Any  # ChatRequest | CompletionRequest | EmbeddingsRequest
    response: Any = None  # ChatResponse | Completion on AFTER; None on BEFORE
    text: str = ""
    model: str = ""  # the request's model (after override_params)
    provider: str = ""  # the target's provider slug
    metadata: Mapping[str, Any] = EMPTY  # x-portkey-metadata
    headers: Mapping[str, str] = field(default=EMPTY, repr=False)  # the caller's request headers, lower-case names
    streaming: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """A check's answer. `data` is JSON-able and explains the verdict (counts, matches, ...). A transformer returns
    the replaced `request` (BEFORE) or `response` (AFTER); None means unchanged."""

    verdict: bool
    data: Any = None
    request: Any = None
    response: Any = None


CheckFn = Callable[[Subject], "Outcome | Awaitable[Outcome]"]


class CheckSkipped(Exception):
    """Raised by a check that cannot run here (e.g. no classifier target configured): a pass, reported as skipped
    with this message as its warning."""


class Outbound(Protocol):
    """HTTP for checks that call out (webhook, log, validUrls, jwt), behind the custom-host SSRF guard."""

    def check_url(self, url: str, field: str) -> str:
        """`url` unchanged when the SSRF guard accepts it, else CustomHostBlocked naming `field` (checks call it
        when their config is compiled, so a refused URL is a config error)."""
        ...

    async def request(self, method: str, url: str, *, body: bytes | None = None,
                      headers: Mapping[str, str] | None = None, timeout_s: float = 3.0) -> OutboundResponse:
        """One request; raises CustomHostBlocked for a refused URL, TimeoutError / OSError when it fails."""
        ...

    async def resolves(self, host: str, timeout_s: float = 3.0) -> bool:
        """True when `host` has a DNS answer (A or AAAA)."""
        ...


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class ChatCaller(Protocol):
    async def __call__(self, target: str, request: Any, timeout_s: float) -> Any:
        """A ChatResponse from the named classifier target (`guardrails.classifiers` in the gateway config);
        raises CheckSkipped when no target of that name is configured."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """What checks may use, built once at start-up."""

    outbound: Outbound | None = None
    chat: ChatCaller | None = None
    wall_clock: Callable[[], float] | None = None  # seconds since the epoch (jwt); None: time.time


class Params:
    """A check's `parameters`, read strictly when the config is compiled. Every reader names the parameter; a wrong
    type or value is InvalidConfig at `<path>.<name>`. `unread()` lists keys no reader asked for (typos)."""

    def __init__(self, raw: Mapping[str, Any], path: str) -> None:
        self.raw = raw
        self.path = path
        self._read: set[str] = set()

    def error(self, name: str, problem: str) -> InvalidConfig:
        return InvalidConfig.field(f"{self.path}.{name}", problem)

    def get(self, name: str, default: Any = None) -> Any:
        self._read.add(name)
        return self.raw.get(name, default)

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def _typed(self, name: str, default: Any, kinds: tuple[type, ...], what: str, required: bool) -> Any:
        value = self.get(name)
        if value is None:
            if required:
                raise self.error(name, f"required ({what})")
            return default
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise self.error(name, f"expected {what}, got {type(value).__name__} {value!r}"[:300])
        return value

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        return self._typed(name, default, (str,), "a string", required)

    def boolean(self, name: str, default: bool = False) -> bool:
        return self._typed(name, default, (bool,), "true or false", False)

    def integer(self, name: str, default: int | None = None, *, required: bool = False) -> int:
        """An integer; a float with an integral value (JSON `3.0`) is accepted."""
        value = self._typed(name, default, (int, float), "an integer", required)
        if isinstance(value, float):
            if not value.is_integer():
                raise self.error(name, f"expected an integer, got {value!r}")
            return int(value)
        return value

    def number(self, name: str, default: float | None = None, *, required: bool = False) -> float:
        value = self._typed(name, default, (int, float), "a number", required)
        return value if value is None else float(value)

    def strings(self, name: str, default: tuple[str, ...] | None = None, *, required: bool = False,
                comma_string: bool = False) -> tuple[str, ...]:
        """A list of strings (or, with `comma_string`, one comma-separated string)."""
        value = self.get(name)
        if value is None:
            if required:
                raise self.error(name, "required (a list of strings)")
            return default if default is not None else ()
        if comma_string and isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(name, f"expected a list of strings, got {value!r}"[:300])
        return tuple(value)

    def mapping(self, name: str, default: Mapping[str, Any] | None = None, *,
                required: bool = False) -> Mapping[str, Any]:
        return self._typed(name, default if default is not None else EMPTY, (dict,), "a JSON object", required)

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = self.string(name, default)
        if value not in options:
            raise self.error(name, f"expected one of {', '.join(options)}, got {value!r}")
        return value

    def unread(self) -> list[str]:
        return [name for name in self.raw if name not in self._read]


@dataclass(frozen=True, slots=True)
class CheckType:
    """A check as the registry lists it. `compile` reads the parameters once (raising InvalidConfig via Params) and
    returns the function run per call. `events`: the hooks it may sit in. `negatable`: it honours `not` (the runner
    inverts its verdict). `transforms`: it may return a replaced request or response (mutators run in series, never
    in async hooks or `window` streams); a function of the raw parameters when only some configs transform (PII
    with `redact`)."""

    id: str
    compile: Callable[[Params, Services], CheckFn]
    events: frozenset[str] = frozenset({BEFORE, AFTER})
    negatable: bool = True
    transforms: bool | Callable[[Mapping[str, Any]], bool] = False
