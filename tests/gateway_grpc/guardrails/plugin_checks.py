"""A team's own checks, as one plugin module (guardrails.plugins): used by the hook, runner and stream tests so they
do not depend on any built-in check's rules, and to prove the plugin interface itself."""

from __future__ import annotations

import asyncio

from gateway_grpc.guardrails.base import AFTER, BEFORE, CheckType, Outcome, Params, Services, Subject
from gateway_grpc.guardrails.texts import map_request_texts, map_response_texts


def _forbidden(params: Params, services: Services) -> object:
    word = params.string("word", required=True)

    def check(subject: Subject) -> Outcome:
        found = word in subject.text  # case-sensitive: tests see whether a transformer ran first
        return Outcome(not found, {"found": found, "seen": len(subject.text)})

    return check


def _shout(params: Params, services: Services) -> object:
    def check(subject: Subject) -> Outcome:
        if subject.event == BEFORE:
            changed = map_request_texts(subject.request, str.upper)
            return Outcome(True, {"shouted": True}, request=None if changed is subject.request else changed)
        changed = map_response_texts(subject.response, str.upper)
        return Outcome(True, {"shouted": True}, response=None if changed is subject.response else changed)

    return check


def _boom(params: Params, services: Services) -> object:
    def check(subject: Subject) -> Outcome:
        raise RuntimeError("the check broke")

    return check


TIMELINE: list[str] = []  # "start" / "end" of every team.slow run, in order (tests clear it)


def _slow(params: Params, services: Services) -> object:
    verdict = params.boolean("verdict", True)

    async def check(subject: Subject) -> Outcome:
        TIMELINE.append("start")
        await asyncio.sleep(0.005)
        TIMELINE.append("end")
        return Outcome(verdict, {"text": subject.text})

    return check


FORBIDDEN = CheckType("team.forbidden", _forbidden)
SHOUT = CheckType("team.shout", _shout, negatable=False, transforms=True)
BOOM = CheckType("team.boom", _boom)
SLOW = CheckType("team.slow", _slow)
INPUT_ONLY = CheckType("team.inputOnly", _forbidden, events=frozenset({BEFORE}))
OUTPUT_ONLY = CheckType("team.outputOnly", _forbidden, events=frozenset({AFTER}))

CHECKS = (FORBIDDEN, SHOUT, BOOM, SLOW, INPUT_ONLY, OUTPUT_ONLY)
