"""Guardrails as the config file asks for them, built once at start-up: the checks (built-in and plugins), the
services checks may call (outbound HTTP behind the SSRF guard, the classifier targets), the hook runner and its
metrics, and the server's default guardrails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway_grpc.config import GuardrailSettings
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import AFTER, BEFORE, Services
from gateway_grpc.guardrails.classifiers import ClassifierTargets
from gateway_grpc.guardrails.hooks import HookCompiler, HookSet
from gateway_grpc.guardrails.outbound import HttpOutbound
from gateway_grpc.guardrails.registry import registered
from gateway_grpc.guardrails.runner import HookRunner
from gateway_grpc.guardrails.stage import TargetGuard
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.metrics import GuardrailMetrics
from gateway_grpc.providers import PROVIDERS
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.routing.plan import GuardrailPlan
from gateway_grpc.types import EMPTY, CallContext, ChatRequest, Target

ChatCall = Callable[[ChatRequest, CallContext], Awaitable[Any]]


def classifier_targets(settings: GuardrailSettings, guard: HostGuard) -> dict[str, tuple[Target, str]]:
    targets = {}
    for name, spec in settings.classifiers.items():
        where = f"guardrails.classifiers.{name}"
        if spec.provider not in PROVIDERS:
            raise InvalidConfig.field(f"{where}.provider", f"unknown provider {spec.provider!r}")
        base_url = guard.check(spec.custom_host, f"{where}.custom_host") if spec.custom_host else ""
        target = Target(spec.provider, spec.api_key or "", base_url, provider_options=spec.provider_options or EMPTY)
        targets[name] = (target, spec.model)
    return targets


def build_guardrails(settings: GuardrailSettings, transport: ProviderTransport, guard: HostGuard, chat: ChatCall,
                     metrics: GuardrailMetrics) -> tuple[GuardrailPlan, HookRunner]:
    """`chat` (ProviderCall.complete) answers the classifier targets; `guard` checks every URL checks call."""
    services = Services(outbound=HttpOutbound(transport, guard),
                        chat=ClassifierTargets(classifier_targets(settings, guard), chat))
    compiler = HookCompiler(registered(settings.plugins), services)
    defaults = HookSet(compiler.shorthand(settings.default_input, BEFORE, "guardrails.default_input"),
                       compiler.shorthand(settings.default_output, AFTER, "guardrails.default_output"))
    runner = HookRunner(metrics)
    return GuardrailPlan(TargetGuard(runner), compiler, defaults), runner
