"""Model-name directives of the fake OpenAI upstream: `gpt-4o-mini+chunks-5+delay-20` parsed into `Directives`.

Pure parsing, no I/O; what a directive does lives in openai_upstream (timing, faults) and openai_replies (bodies).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

_FLAGS = ("bad-json", "bad-sse", "parallel-tools", "choice-extra", "reset")
_NUMBERED = re.compile(
    r"(error|html|delay|chunks|gap|stream-break|stream-error|flaky|x-ms-retry-after-ms|retry-after-ms|retry-after)"
    r"-(\d+)"
)


@dataclass(frozen=True, slots=True)
class Directives:
    """What a model name like `gpt-4o-mini+chunks-5+delay-20` asks of the fake."""

    base: str
    error: int | None = None
    html: int | None = None
    delay: int = 0
    chunks: int | None = None
    gap: int = 0
    stream_break: int | None = None
    stream_error: int | None = None
    flaky: int | None = None  # the first n requests with this exact model string answer 503
    retry_after: int | None = None  # seconds; the retry-after* headers go on error-n / flaky-n replies only
    retry_after_ms: int | None = None
    x_ms_retry_after_ms: int | None = None  # Azure's spelling
    reset: bool = False  # accept the request, then abort the connection (RST) without a byte
    bad_json: bool = False
    bad_sse: bool = False  # streams only: one chunk, then an unparseable `data:` event, then [DONE]
    parallel_tools: bool = False
    choice_extra: bool = False  # Azure's content_filter_results on every choice, and a delta key OpenAI lacks

    def retry_headers(self) -> dict[str, str]:
        """The retry-after headers asked for, to add to an error reply."""
        pairs = (
            ("retry-after", self.retry_after),
            ("retry-after-ms", self.retry_after_ms),
            ("x-ms-retry-after-ms", self.x_ms_retry_after_ms),
        )
        return {name: str(value) for name, value in pairs if value is not None}


def directive_values(model: str, flags: tuple[str, ...], numbered: re.Pattern[str]) -> tuple[str, dict[str, Any]]:
    """`base+flag+name-N...` -> (base, {flag: True, name: N}) with `-` as `_`; shared by the fakes that script
    themselves this way. Raises ValueError naming the first directive it does not know."""
    base, *parts = model.split("+")
    values: dict[str, Any] = {}
    for part in parts:
        if part in flags:
            values[part.replace("-", "_")] = True
        elif match := numbered.fullmatch(part):
            values[match[1].replace("-", "_")] = int(match[2])
        else:
            raise ValueError(f"unknown directive {part!r} in model {model!r}")
    return base, values


@functools.lru_cache(maxsize=4096)
def parse_directives(model: str) -> Directives:
    """Raises ValueError naming the first directive it does not know."""
    base, values = directive_values(model, _FLAGS, _NUMBERED)
    return Directives(base=base, **values)
