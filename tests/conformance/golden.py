"""Golden files: `golden/<provider>/<case>.json` holds {"request", "upstream_request", "response"}, volatile values
(ids, timestamps, signatures, durations) replaced by "<id>", minted credentials (Google OAuth access tokens) by
"<secret>"; indent 2, sorted keys. `check` compares and fails on a
difference; with `UPDATE_GOLDEN=1` it rewrites the file instead, and fails if the two columns of one session wrote
different content for the same file (they must agree).
"""

from __future__ import annotations

import difflib
import json
import os
import pathlib
import re
from typing import Any

GOLDEN = pathlib.Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
VOLATILE = "<id>"
SECRET = "<secret>"
# Ids the fakes and the gateway make up per request: replaced wherever they appear (messages included).
_VOLATILE_TEXT = re.compile(
    r"chatcmpl-fake\d+|chatcmpl-[0-9a-f]{32}|msg_fake\d+|req_fake\d+|[0-9a-f]{8}-fake-4c0e-8d1a-c0h3re0{6}"
)
_VOLATILE_KEYS = frozenset({"created", "duration_ms"})  # timestamps and timings, at any depth
# Upstream request headers that belong to the HTTP client or the connection, not to the translation.
_TRANSPORT_HEADERS = frozenset({"host", "content-length", "user-agent", "accept-encoding", "connection"})
_AWS_DATE = re.compile(r"(?<=/)\d{8}(?=/)")
_AWS_SIGNATURE = re.compile(r"(?<=Signature=)[0-9a-f]+")
# Access tokens the gateway minted from a service account (Google's `ya29.` prefix; each process gets its own).
_ACCESS_TOKEN = re.compile(r"(?<=Bearer )ya29\.\S+")
_written: dict[pathlib.Path, str] = {}


def scrub(value: Any) -> Any:
    """`value` with volatile keys and ids replaced, recursively."""
    if isinstance(value, dict):
        return {k: VOLATILE if k in _VOLATILE_KEYS else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return _VOLATILE_TEXT.sub(VOLATILE, value)
    return value


def answer(body: Any) -> Any:
    """A chat answer, chunk or embeddings list, scrubbed; its top-level `id` is the response's own, volatile."""
    if isinstance(body, list):
        return [answer(item) for item in body]
    body = scrub(body)
    if isinstance(body, dict) and "id" in body:
        body["id"] = VOLATILE
    return body


def _header(name: str, value: str) -> str:
    if name == "x-amz-date":
        return VOLATILE
    if name == "authorization" and value.startswith("AWS4-HMAC-SHA256"):
        return _AWS_SIGNATURE.sub(VOLATILE, _AWS_DATE.sub(VOLATILE, value))
    if name == "authorization":
        return _ACCESS_TOKEN.sub(SECRET, value)
    return value


def upstream(record: Any) -> dict[str, Any] | None:
    """One request a fake received: method, path, query, headers (translation ones) and JSON body, scrubbed."""
    if record is None:
        return None
    headers = {k: _header(k, v) for k, v in sorted(record.headers.items()) if k not in _TRANSPORT_HEADERS}
    body = record.json if record.json is not None else record.body.decode("utf-8", "replace")
    return {"method": record.method, "path": getattr(record, "raw_path", None) or record.path,
            "query": getattr(record, "query", {}), "headers": headers, "body": scrub(body)}


def record(request: dict[str, Any], received: list[Any], response: Any) -> dict[str, Any]:
    """The golden record of one case: the OpenAI request sent, the first request the fake received (a retry resends
    it), and the OpenAI-shaped answer, chunks or error envelope."""
    return {"request": request, "upstream_request": upstream(received[0] if received else None),
            "response": answer(response)}


def render(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check(provider: str, case: str, record: dict[str, Any]) -> None:
    """Compare `record` with golden/<provider>/<case>.json (or rewrite it under UPDATE_GOLDEN=1)."""
    path = GOLDEN / provider / f"{case}.json"
    text = render(record)
    if UPDATE:
        earlier = _written.setdefault(path, text)
        assert earlier == text, f"{path.name}: the gRPC and REST columns disagree\n" + _diff(earlier, text)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"no golden file {path.relative_to(GOLDEN.parent)}: run with UPDATE_GOLDEN=1 and review it"
    expected = path.read_text()
    assert json.loads(text) == json.loads(expected), (
        f"differs from {path.relative_to(GOLDEN.parent)} (UPDATE_GOLDEN=1 rewrites it)\n" + _diff(expected, text))


def _diff(a: str, b: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "expected", "observed"))
