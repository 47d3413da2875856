"""Configuration, strict at load time: the gateway's YAML file and Portkey routing configs (`x-portkey-config`).

Pydantic models with unknown keys forbidden; every error names its path. Nothing here runs per request:
`validate_request_config` runs once per distinct request config (routing/router.py keeps the compiled trees).
"""

from __future__ import annotations

import pathlib
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway_grpc.errors import FieldViolation, InvalidConfig
from gateway_grpc.host_guard import DEFAULT_ALLOWED

_STRICT = ConfigDict(extra="forbid", frozen=True)


StatusCode = Annotated[int, Field(ge=100, le=599)]


class RetryConfig(BaseModel):
    model_config = _STRICT
    attempts: int = Field(ge=0, description="retries after the first try; values over 5 are clamped to 5")
    on_status_codes: list[StatusCode] | None = None
    use_retry_after_header: bool = False


MAX_CACHE_AGE_S = 365 * 24 * 3600


class CacheConfig(BaseModel):
    """Portkey's `cache`: `max_age` is in SECONDS (the reference's code reads milliseconds, its docs seconds: contract
    §13 #7); absent means a day; 0 means look up but never store."""

    model_config = _STRICT
    mode: Literal["simple", "semantic"]
    max_age: int | None = Field(default=None, ge=0, le=MAX_CACHE_AGE_S, description="seconds")


class ConditionConfig(BaseModel):
    model_config = _STRICT
    query: dict[str, Any]
    then: str


class StickyConfig(BaseModel):
    model_config = _STRICT
    enabled: bool = True
    hash_fields: list[str] = Field(min_length=1, description="dotted paths: metadata.*, params.*")


class CircuitBreakerConfig(BaseModel):
    """Portkey's `cb_config` names; a policy with neither threshold never opens."""

    model_config = _STRICT
    failure_threshold: int | None = Field(default=None, ge=1)
    failure_threshold_percentage: float | None = Field(default=None, gt=0, le=100)
    minimum_requests: int = Field(default=10, ge=1)
    cooldown_interval: int = Field(default=30_000, ge=1, description="milliseconds")
    failure_status_codes: list[StatusCode] | None = None


class StrategyConfig(BaseModel):
    model_config = _STRICT
    mode: Literal["single", "fallback", "loadbalance", "conditional"]
    on_status_codes: list[StatusCode] | None = None
    conditions: list[ConditionConfig] | None = None
    default: str | None = None
    sticky: StickyConfig | None = None
    cb_config: CircuitBreakerConfig | None = None


class TargetConfig(BaseModel):
    """Portkey's config object; a target is itself a config, so trees nest to any depth (contract §4)."""

    model_config = _STRICT
    strategy: StrategyConfig | None = None
    targets: list[TargetConfig] | None = None
    name: str | None = None
    weight: float | None = Field(default=None, ge=0)
    provider: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    custom_host: str | None = None
    override_params: dict[str, Any] | None = None
    retry: RetryConfig | None = None
    request_timeout: int | None = Field(default=None, gt=0, description="milliseconds")
    cache: CacheConfig | None = None
    forward_headers: list[str] | None = None
    strict_open_ai_compliance: bool | None = None
    before_request_hooks: list[dict[str, Any]] | None = None
    after_request_hooks: list[dict[str, Any]] | None = None
    input_guardrails: list[dict[str, Any] | str] | None = None
    output_guardrails: list[dict[str, Any] | str] | None = None
    # Provider credential and endpoint fields (contract §4, last row).
    api_version: str | None = None
    resource_name: str | None = None
    deployment_id: str | None = None
    openai_organization: str | None = None
    openai_project: str | None = None
    azure_model_name: str | None = None
    azure_auth_mode: str | None = None
    aws_access_key_id: str | None = Field(default=None, repr=False)
    aws_secret_access_key: str | None = Field(default=None, repr=False)
    aws_session_token: str | None = Field(default=None, repr=False)
    aws_region: str | None = None
    aws_role_arn: str | None = None
    aws_auth_type: str | None = None
    aws_external_id: str | None = None
    vertex_project_id: str | None = None
    vertex_region: str | None = None
    vertex_service_account_json: dict[str, Any] | str | None = Field(default=None, repr=False)
    azure_ad_token: str | None = Field(default=None, repr=False)
    azure_entra_client_id: str | None = None
    azure_entra_client_secret: str | None = Field(default=None, repr=False)
    azure_entra_tenant_id: str | None = None
    azure_entra_scope: str | None = None
    azure_managed_client_id: str | None = None
    azure_workload_client_id: str | None = None
    anthropic_version: str | None = None
    anthropic_beta: str | None = None


PROVIDER_OPTION_FIELDS = (
    "api_version", "resource_name", "deployment_id", "openai_organization", "openai_project", "azure_model_name",
    "azure_auth_mode", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_region",
    "aws_role_arn", "aws_auth_type", "aws_external_id", "vertex_project_id", "vertex_region", "azure_ad_token",
    "anthropic_version", "anthropic_beta", "vertex_service_account_json",  # a config's JSON object: dumped (plan.py)
    "azure_entra_client_id", "azure_entra_client_secret", "azure_entra_tenant_id", "azure_entra_scope",
    "azure_managed_client_id", "azure_workload_client_id",
)
# Portkey's provider headers (contract §2.1) -> the provider option each one sets.
PROVIDER_OPTION_HEADERS = {
    "x-portkey-openai-organization": "openai_organization",
    "x-portkey-openai-project": "openai_project",
    "x-portkey-azure-resource-name": "resource_name",
    "x-portkey-azure-deployment-id": "deployment_id",
    "x-portkey-azure-api-version": "api_version",
    "x-portkey-azure-model-name": "azure_model_name",
    "x-portkey-azure-auth-mode": "azure_auth_mode",
    "x-portkey-azure-ad-token": "azure_ad_token",
    "x-portkey-azure-entra-client-id": "azure_entra_client_id",
    "x-portkey-azure-entra-client-secret": "azure_entra_client_secret",
    "x-portkey-azure-entra-tenant-id": "azure_entra_tenant_id",
    "x-portkey-azure-entra-scope": "azure_entra_scope",
    "x-portkey-azure-managed-client-id": "azure_managed_client_id",
    "x-portkey-azure-workload-client-id": "azure_workload_client_id",
    "x-portkey-aws-access-key-id": "aws_access_key_id",
    "x-portkey-aws-secret-access-key": "aws_secret_access_key",
    "x-portkey-aws-session-token": "aws_session_token",
    "x-portkey-aws-region": "aws_region",
    "x-portkey-aws-role-arn": "aws_role_arn",
    "x-portkey-aws-auth-type": "aws_auth_type",
    "x-portkey-aws-external-id": "aws_external_id",
    "x-portkey-vertex-project-id": "vertex_project_id",
    "x-portkey-vertex-region": "vertex_region",
    "x-portkey-vertex-service-account-json": "vertex_service_account_json",
    # accepted with or without the prefix (contract §2: unprefixed for Claude Code)
    "anthropic-version": "anthropic_version",
    "x-portkey-anthropic-version": "anthropic_version",
    "anthropic-beta": "anthropic_beta",
    "x-portkey-anthropic-beta": "anthropic_beta",
}


class ServerSettings(BaseModel):
    model_config = _STRICT
    max_request_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    grace_period_s: float = Field(default=10.0, ge=0)
    max_concurrent_rpcs: int | None = Field(default=None, gt=0)


class UpstreamSettings(BaseModel):
    model_config = _STRICT
    max_connections: int = Field(default=512, gt=0)
    max_keepalive_connections: int = Field(default=128, ge=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)


class SecuritySettings(BaseModel):
    model_config = _STRICT
    # Names (exact, or a suffix starting with "."), IP addresses and CIDRs a custom host may point at.
    custom_host_allowlist: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED))


class RoutingSettings(BaseModel):
    """Server-wide routing defaults: retry backoff (exponential, full jitter), compiled-config cache, breakers."""

    model_config = _STRICT
    retry_backoff_base_ms: float = Field(default=1000, gt=0)
    retry_backoff_cap_ms: float = Field(default=16_000, gt=0)
    retry_after_budget_ms: float = Field(default=60_000, gt=0, description="total retry-after waits per target")
    compiled_config_cache_size: int = Field(default=256, ge=1)
    circuit_breaker: CircuitBreakerConfig | None = Field(default=None, description="applies where no cb_config")
    circuit_breaker_max_targets: int = Field(default=4096, ge=1)


class SemanticEmbedderSettings(BaseModel):
    """A provider target that embeds the semantic cache's questions instead of the embedded MiniLM model."""

    model_config = _STRICT
    provider: str
    model: str
    dimensions: int = Field(ge=1, le=65_536, description="the vectors' size; checked on every answer")
    send_dimensions: bool = Field(default=False, description="also ask the provider for `dimensions`")
    api_key: str | None = Field(default=None, repr=False)
    custom_host: str | None = None
    provider_options: dict[str, str] = Field(default_factory=dict, repr=False)


class SemanticCacheSettings(BaseModel):
    """The semantic cache: its embedder (the embedded MiniLM model unless `embedder` names a provider) and vector
    index, built at start-up when enabled."""

    model_config = _STRICT
    enabled: bool = True
    embedder: SemanticEmbedderSettings | None = None
    similarity_threshold: float = Field(default=0.95, gt=0, le=1, description="cosine similarity for a hit")
    max_entries: int = Field(default=100_000, ge=1, description="vectors kept (oldest evicted first)")


class CacheSettings(BaseModel):
    """The response cache (cache/): where entries live, how large it may grow, and the policy for calls whose config
    has no `cache` (`default`; None: such calls are not cached)."""

    model_config = _STRICT
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", repr=False)
    redis_timeout_ms: float = Field(default=250, gt=0, description="per Redis command; past it, a miss")
    max_entries: int = Field(default=100_000, ge=1, description="memory backend")
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=4096, description="memory backend: keys + values")
    max_entry_bytes: int = Field(default=4 * 1024 * 1024, ge=1, description="larger answers are not stored")
    default: CacheConfig | None = None
    semantic: SemanticCacheSettings = Field(default_factory=SemanticCacheSettings)


class ClassifierTargetSettings(BaseModel):
    """A provider target that answers the model-judged checks (default.promptInjection, default.toxicity): any chat
    model, e.g. Llama Guard served by vLLM."""

    model_config = _STRICT
    provider: str
    model: str
    api_key: str | None = Field(default=None, repr=False)
    custom_host: str | None = None
    provider_options: dict[str, str] = Field(default_factory=dict, repr=False)


class GuardrailSettings(BaseModel):
    """Guardrails every target gets (appended to its own, as Portkey's default guardrails), the classifier targets of
    model-judged checks, and modules adding a team's own checks (each defines `CHECKS`, a tuple of CheckType)."""

    model_config = _STRICT
    default_input: list[dict[str, Any]] | None = None
    default_output: list[dict[str, Any]] | None = None
    classifiers: dict[str, ClassifierTargetSettings] = Field(default_factory=dict)
    plugins: list[str] = Field(default_factory=list, description="importable module names")
    compiled_header_cache_size: int = Field(default=256, ge=1, description="distinct default-guardrail headers kept")


class GatewaySettings(BaseModel):
    """The gateway's config file (`gateway up --config FILE`)."""

    model_config = _STRICT
    server: ServerSettings = Field(default_factory=ServerSettings)
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    default_config: TargetConfig | None = None
    configs: dict[str, TargetConfig] = Field(default_factory=dict)


def _violations(error: ValidationError, root: str) -> list[FieldViolation]:
    out = []
    for item in error.errors():
        path = root
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        out.append(FieldViolation(path, item["msg"]))
    return out


def _invalid(message: str, violations: list[FieldViolation]) -> InvalidConfig:
    detail = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return InvalidConfig(f"{message}: {detail}", violations)


def load_settings(path: str | pathlib.Path | None) -> GatewaySettings:
    """The settings in a YAML file (defaults when `path` is None); InvalidConfig names every bad path."""
    if path is None:
        return GatewaySettings()
    try:
        raw = yaml.safe_load(pathlib.Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidConfig(f"cannot read config file {path}: {exc}") from exc
    try:
        return GatewaySettings.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(f"invalid config file {path}", _violations(exc, "config")) from exc


def validate_request_config(raw: Any, field: str) -> TargetConfig:
    if not isinstance(raw, dict):
        raise InvalidConfig.field(field, "must be a JSON object")
    try:
        return TargetConfig.model_validate(raw)
    except ValidationError as exc:
        raise _invalid("Invalid config passed", _violations(exc, field)) from exc
