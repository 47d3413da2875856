"""The providers under test: one row each, with the fake that plays its upstream, the routing config that points the
gateway at that fake (custom host, credentials, provider options, `retry: {attempts: 1}`), the model names and
directives that script each case on that fake, and the set of cases the provider `supports`.

A case a provider does not support is not skipped: the gateway must refuse it with a 400 naming the provider and the
feature (the case's `feature`, or the whole API's, `Row.refusals`, when the provider lacks every case of a kind). The
unsupported pairs come from the providers' refusal tables:
- anthropic: embeddings (gateway_grpc/providers/anthropic.py `encode_embeddings`).
- perplexity-ai: tools and tool_choice (openai_hosts.py, its Dialect `rejects`), so every tool case.
- jina, voyage: chat completions (openai_hosts.py EMBEDDING_HOSTS, `Dialect(chat=False)`: openai_dialect.py), so every
  chat and stream case. Their error cases are sent as embeddings requests (`errors_via`), the only API they have.
- stability-ai: chat completions and embeddings (stability.py: images only), so every case, error cases included:
  the matrix has no image case, so Stability's errors cannot be provoked here; they are covered with its images in
  tests/gateway_grpc/providers/test_stability.py and tests/e2e/test_media.py. Its row has no error scripts.
Every other provider supports every case (the other hosts' `rejects` hold only keys no case sends: logprobs,
logit_bias, penalties, service_tier, message names). Every PROVIDERS entry has a row (test_conformance checks it).

Error cases are scripted with each fake's own directives (they differ: `+error-429` on the OpenAI family, Gemini and
Cohere, `+error-429+retry-after-2` where the fake takes a retry-after (the OpenAI fake's 429 carries retry-after and
retry-after-ms by itself), `+error-throttling` on Bedrock, whose 429 has no retry-after, as AWS's). AWS has no 401:
Bedrock's error_401 sends a wrong secret key, and the fake answers as AWS does, 403 InvalidSignatureException.
Vertex AI's Gemini publisher answers with the Gemini fake's replies, so its directives (every status of the matrix)
and error types are Google's.
Jina's and Voyage's fake (tests/fakes/embeddings_upstream.py, routes of the OpenAI fake) takes `+error-<status>` on
the model, and refuses the key `sk-bad` with a 401 (error_401 sends it).
The expected error `type` is the upstream's own (docs/architecture.md §Errors), read from each fake's reply tables,
or, when the upstream names none (Cohere; Jina's and Voyage's FastAPI `{"detail": ...}`), the status's (BY_STATUS).

Vertex AI authenticates with a service-account key (the fake's, `FakeVertex.service_account()`), which the gateway
exchanges for an access token once per process and caches (providers/tokens.py): `MatrixVertex` keeps the tokens it
issued across the per-case `clear()`, and keeps the token grants out of the API calls the cases count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.requests import Request

from tests.conformance.cases import BY_ID, CASES, Case
from tests.fakes import anthropic_upstream, bedrock_upstream, gemini_replies, openai_replies, vertex_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.bedrock_upstream import FakeBedrock
from tests.fakes.cohere_upstream import FakeCohere
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.loopback import RecordedRequest
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.stability_upstream import FakeStability
from tests.fakes.vertex_upstream import FakeVertex


class MatrixVertex(FakeVertex):
    """FakeVertex as the matrix shares it for a session. The gateway caches its access token for the session, so
    `clear()` between cases forgets the recorded API calls but not the tokens issued (FakeVertex's own `clear()`
    revokes them) nor the count of `exchanges`; the token grants go to `grants`, not to `requests`, which holds the
    API calls a case counts and records (a grant carries the signed assertion: no golden file may hold it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grants: list[RecordedRequest] = []

    def clear(self) -> None:
        issued, exchanges = list(self.issued), self.exchanges
        super().clear()
        self.issued.extend(issued)
        self.exchanges = exchanges

    async def _log(self, request: Request) -> RecordedRequest:
        record = await super()._log(request)
        if request.url.path == "/token" and self.record:
            self.requests.remove(record)
            self.grants.append(record)
        return record


# How each fake starts (all strict: every request checked by the provider's SDK-type oracle). One of each per session.
FAKES: dict[str, Callable[[], Any]] = {
    "openai": lambda: FakeOpenAI(strict=True),
    "anthropic": lambda: FakeAnthropic(strict=True),
    "google": lambda: FakeGemini(strict=True),
    "cohere": lambda: FakeCohere(strict=True),
    "bedrock": lambda: FakeBedrock(strict=True),
    "vertex": lambda: MatrixVertex(strict=True),
    "stability": FakeStability,  # strict by nature: it checks every form field (no request reaches it here)
}
ERROR_STATUSES = (400, 401, 403, 404, 429, 500, 503)
# The OpenAI error `type` of a status when the upstream names none (the edge's rule; docs/architecture.md §Errors).
BY_STATUS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
             404: "not_found_error", 429: "rate_limit_error", 500: "server_error", 503: "server_error",
             529: "server_error"}
API_KEY = "sk-test"
AWS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret", "aws_region": "us-east-1"}
ALL_CASES = frozenset(case.id for case in CASES)
ERROR_CASES = frozenset(case.id for case in CASES if case.is_error)
TOOL_CASES = frozenset({"tool_call", "parallel_tool_calls", "tool_results", "stream_tool_calls"})
PARALLEL = {"parallel_tool_calls": "+parallel-tools", "stream_tool_calls": "+parallel-tools"}


@dataclass(frozen=True, slots=True)
class ErrorScript:
    """How one error case is provoked on a fake, and what the client must see: the HTTP status and the upstream's
    own error type ("" when its error body names none)."""

    status: int
    upstream_type: str
    directive: str = ""  # appended to the model name
    config: Mapping[str, Any] = field(default_factory=dict)  # config keys that provoke it (bad credentials)

    @property
    def type(self) -> str:
        """The OpenAI error `type` a REST client reads."""
        return self.upstream_type or BY_STATUS[self.status]


@dataclass(frozen=True, slots=True)
class Row:
    """One provider under test. `target(fake)` gives the config keys that point the gateway at the fake."""

    slug: str
    fake: str  # key of FAKES
    model: str
    embedding_model: str
    target: Callable[[Any], dict[str, Any]]
    errors: Mapping[str, ErrorScript]
    directives: Mapping[str, str] = field(default_factory=lambda: PARALLEL)
    supports: frozenset[str] = ALL_CASES
    extra_cases: tuple[str, ...] = ()
    api_key: str | None = API_KEY
    json_output: bool = True  # False: the fake answers plain text whatever output format is asked
    answer_extras: tuple[str, ...] = ()  # the provider's own top-level answer keys the gateway passes on
    # kind -> the feature a refusal names when the provider has no API of that kind ("chat completions")
    refusals: Mapping[str, str] = field(default_factory=dict)
    errors_via: str = ""  # the case whose request the error cases send instead of their chat one ("embeddings")

    def case(self, case: Case) -> Case:
        """`case` as this row sends it: an error case keeps its id and status, with `errors_via`'s request."""
        if not (case.is_error and self.errors_via):
            return case
        via = BY_ID[self.errors_via]
        return replace(case, kind=via.kind, body=via.body, feature=via.feature, user_text=via.user_text)

    def feature(self, case: Case) -> str:
        """What a refusal of `case` must name: the whole API when the provider has none of its kind."""
        return self.refusals.get(case.kind, case.feature)

    def model_for(self, case: Case) -> str:
        base = self.embedding_model if case.kind == "embeddings" else self.model
        script = self.errors.get(case.id)
        return base + self.directives.get(case.id, "") + (script.directive if script else "")

    def config(self, fake: Any, case: Case) -> dict[str, Any]:
        """The `x-portkey-config` of this case: one target, retried once (how retryability is observed)."""
        config = {"provider": self.slug, **self.target(fake), "retry": {"attempts": 1}}
        if self.api_key:
            config["api_key"] = self.api_key
        script = self.errors.get(case.id)
        return {**config, **(script.config if script else {})}


def _errors(types: Callable[[int], str], directives: Mapping[int, str] | None = None,
            statuses: tuple[int, ...] = ERROR_STATUSES) -> dict[str, ErrorScript]:
    directives = directives or {}
    return {f"error_{s}": ErrorScript(s, types(s), directives.get(s, f"+error-{s}")) for s in statuses}


OPENAI_ERRORS = _errors(lambda s: openai_replies.status_error(s)["error"]["type"])  # 429 carries retry-after itself
ANTHROPIC_ERRORS = _errors(lambda s: anthropic_upstream.error_body(s)["error"]["type"],
                           {429: "+error-429+retry-after-2"}, (*ERROR_STATUSES, 529))
GOOGLE_ERRORS = _errors(lambda s: gemini_replies.status_error(s)["error"]["status"], {429: "+error-429+retry-after-2"})
COHERE_ERRORS = _errors(lambda s: "", {429: "+error-429+retry-after-2"})  # Cohere's errors are {"id", "message"}
_BEDROCK_BY_STATUS = {400: "validation", 403: "access-denied", 404: "not-found", 429: "throttling", 500: "internal",
                      503: "unavailable"}
# FastAPI's `{"detail": ...}` names no type; Jina and Voyage refuse a wrong key with a 401 of their own.
EMBEDDING_HOST_ERRORS = {**_errors(lambda s: ""), "error_401": ErrorScript(401, "", config={"api_key": "sk-bad"})}
BEDROCK_ERRORS = {
    **{f"error_{s}": ErrorScript(s, bedrock_upstream.ERRORS[name][0], f"+error-{name}")
       for s, name in _BEDROCK_BY_STATUS.items()},
    "error_401": ErrorScript(403, "InvalidSignatureException", config={"aws_secret_access_key": "not-the-secret"}),
}


EMBEDDINGS_ONLY = {"chat": "chat completions", "stream": "chat completions"}  # openai_dialect.py `chat=False`


def _custom_host(url: Callable[[Any], str]) -> Callable[[Any], dict[str, Any]]:
    return lambda fake: {"custom_host": url(fake)}


def _vertex(fake: Any) -> dict[str, Any]:
    """Gemini through Vertex's Google publisher: the custom host is the fake's origin (vertex.py `_url` appends
    `/v1/projects/...`), the credential its service-account key, whose token_uri is the fake's token endpoint."""
    return {"custom_host": fake.origin, "vertex_project_id": vertex_upstream.PROJECT, "vertex_region": "us-central1",
            "vertex_service_account_json": fake.service_account()}


def _embedding_host(slug: str, model: str) -> Row:
    """An embeddings-only host on the OpenAI fake's `/{slug}/v1` routes: chat refused, errors via embeddings."""
    return Row(slug, "openai", model, model, _custom_host(lambda f: f"{f.origin}/{slug}/v1"), EMBEDDING_HOST_ERRORS,
               supports=ERROR_CASES | {"embeddings"}, refusals=EMBEDDINGS_ONLY, errors_via="embeddings")


ROWS: tuple[Row, ...] = (
    Row("openai", "openai", "gpt-4o-mini", "text-embedding-3-small", _custom_host(lambda f: f.base_url),
        OPENAI_ERRORS),
    Row("azure-openai", "openai", "gpt-4o-mini", "text-embedding-3-small",
        lambda f: {"custom_host": f.origin, "deployment_id": "dep1", "api_version": "2024-10-21"}, OPENAI_ERRORS,
        answer_extras=("prompt_filter_results",)),  # Azure's content filter results (azure.py docstring)
    Row("mistral-ai", "openai", "mistral-small-latest", "mistral-embed", _custom_host(lambda f: f.mistral_url),
        OPENAI_ERRORS),
    Row("anthropic", "anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5", _custom_host(lambda f: f.base_url),
        ANTHROPIC_ERRORS, supports=(ALL_CASES - {"embeddings"}) | {"error_529"}, extra_cases=("error_529",)),
    Row("google", "google", "gemini-2.5-flash", "gemini-embedding-001", _custom_host(lambda f: f.base_url),
        GOOGLE_ERRORS),
    Row("cohere", "cohere", "command-a-03-2025", "embed-v4.0", _custom_host(lambda f: f.base_url), COHERE_ERRORS),
    Row("bedrock", "bedrock", "anthropic.claude-3-haiku-20240307-v1:0", "cohere.embed-english-v3",
        lambda f: {"custom_host": f.base_url, **AWS}, BEDROCK_ERRORS,
        directives={"tool_call": "+tools", **PARALLEL}, api_key=None, json_output=False),
    Row("vertex-ai", "vertex", "gemini-2.5-flash", "text-embedding-005", _vertex, GOOGLE_ERRORS, api_key=None),
    _embedding_host("jina", "jina-embeddings-v3"),
    _embedding_host("voyage", "voyage-3.5"),
    # Images only: every case is refused, its error cases too (they are chat requests; see the module docstring).
    Row("stability-ai", "stability", "stable-image-core", "stable-image-core", _custom_host(lambda f: f.origin), {},
        supports=frozenset(), refusals={**EMBEDDINGS_ONLY, "embeddings": "embeddings"}),
)
# The long tail of OpenAI-compatible hosts (openai_hosts.py): (chat model, embeddings model). A host without an
# embeddings API of its own gets the fake's default name: the gateway's tables refuse embeddings for none of them.
HOST_MODELS = {
    "groq": ("llama-3.3-70b-versatile", "text-embedding-3-small"),
    "deepseek": ("deepseek-chat", "text-embedding-3-small"),
    "together-ai": ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "BAAI/bge-large-en-v1.5"),
    "fireworks-ai": ("accounts/fireworks/models/llama-v3p1-8b-instruct", "nomic-ai/nomic-embed-text-v1.5"),
    "openrouter": ("openai/gpt-4o-mini", "openai/text-embedding-3-small"),
    "perplexity-ai": ("sonar", "text-embedding-3-small"),
    "x-ai": ("grok-3-mini", "text-embedding-3-small"),
    "cerebras": ("llama3.1-8b", "text-embedding-3-small"),
    "sambanova": ("Meta-Llama-3.3-70B-Instruct", "E5-Mistral-7B-Instruct"),
    "deepinfra": ("meta-llama/Meta-Llama-3.1-8B-Instruct", "BAAI/bge-base-en-v1.5"),
    "nebius": ("meta-llama/Meta-Llama-3.1-8B-Instruct", "BAAI/bge-en-icl"),
    "hyperbolic": ("meta-llama/Llama-3.3-70B-Instruct", "text-embedding-3-small"),
    "lambda": ("llama3.1-8b-instruct", "text-embedding-3-small"),
    "novita-ai": ("meta-llama/llama-3.1-8b-instruct", "baai/bge-m3"),
    "siliconflow": ("Qwen/Qwen2.5-7B-Instruct", "BAAI/bge-m3"),
    "moonshot": ("moonshot-v1-8k", "text-embedding-3-small"),
    "zhipu": ("glm-4-flash", "embedding-3"),
    "dashscope": ("qwen-plus", "text-embedding-v3"),
    "huggingface": ("meta-llama/Llama-3.1-8B-Instruct", "intfloat/multilingual-e5-large"),
    "ollama": ("llama3.2", "nomic-embed-text"),
    "vllm": ("Qwen/Qwen2.5-1.5B-Instruct", "intfloat/e5-mistral-7b-instruct"),
    "lm-studio": ("qwen2.5-7b-instruct", "text-embedding-nomic-embed-text-v1.5"),
}
# Hosts whose Dialect refuses something a case sends (openai_hosts.py `rejects`): only Perplexity's tools.
HOST_SUPPORTS = {"perplexity-ai": ALL_CASES - TOOL_CASES}
ROWS += tuple(
    Row(slug, "openai", model, embedding_model, _custom_host(lambda f: f.base_url), OPENAI_ERRORS,
        supports=HOST_SUPPORTS.get(slug, ALL_CASES))
    for slug, (model, embedding_model) in HOST_MODELS.items()
)
BY_SLUG = {row.slug: row for row in ROWS}
