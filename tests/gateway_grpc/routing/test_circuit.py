"""Circuit breakers: tables of recorded statuses -> state, and the OPEN -> HALF_OPEN -> CLOSED cycle on a fake clock."""

import pytest

from gateway_grpc.routing.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreakers, CircuitPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0


def make(max_targets=4096):
    clock, changes = FakeClock(), []
    breakers = CircuitBreakers(clock=lambda: clock.now, max_targets=max_targets,
                               on_change=lambda key, state: changes.append((key, state)))
    return breakers, clock, changes


def record_all(breakers, policy, statuses, key="t"):
    for status in statuses:
        breakers.record(key, policy, status)


def open_circuit(breakers, policy, key="t"):
    record_all(breakers, policy, [500] * (policy.failure_threshold or 1), key)
    assert breakers.state(key) == OPEN


CONSECUTIVE_3 = CircuitPolicy(failure_threshold=3)
ONLY_429 = CircuitPolicy(failure_threshold=2, failure_status_codes=frozenset({429}))
HALF_OVER_4 = CircuitPolicy(failure_threshold_percentage=50, minimum_requests=4)


@pytest.mark.parametrize("status, failure", [
    (500, True), (503, True), (599, True), (408, True),
    (400, False), (404, False), (429, False), (200, False), (201, False),
])
def test_circuit_policy_default_failures_are_5xx_and_408(status, failure):
    assert CircuitPolicy().is_failure(status) is failure


@pytest.mark.parametrize("status, failure", [(429, True), (500, False), (503, False), (408, False), (200, False)])
def test_circuit_policy_custom_failure_codes_replace_the_default(status, failure):
    assert ONLY_429.is_failure(status) is failure


@pytest.mark.parametrize("fields, message", [
    ({"failure_threshold": 0}, "failure_threshold"),
    ({"failure_threshold_percentage": 0}, "percentage"),
    ({"failure_threshold_percentage": 100.5}, "percentage"),
    ({"minimum_requests": 0}, "minimum_requests"),
    ({"cooldown_interval_ms": 0}, "cooldown_interval_ms"),
    ({"window_ms": 0}, "window_ms"),
])
def test_circuit_policy_rejects_out_of_range_fields(fields, message):
    with pytest.raises(ValueError, match=message):
        CircuitPolicy(**fields)


@pytest.mark.parametrize("threshold", [1, 3, 5])
def test_circuit_consecutive_threshold_opens_exactly_at_n(threshold):
    breakers, _, _ = make()
    policy = CircuitPolicy(failure_threshold=threshold)
    record_all(breakers, policy, [500] * (threshold - 1))
    assert breakers.state("t") == CLOSED
    assert breakers.allows("t", policy)
    breakers.record("t", policy, 503)
    assert breakers.state("t") == OPEN
    assert not breakers.allows("t", policy)


@pytest.mark.parametrize("policy, statuses, expected", [
    (CONSECUTIVE_3, [500, 500, 200, 500, 500], CLOSED),          # success resets the run
    (CONSECUTIVE_3, [500, 500, 200, 500, 500, 500], OPEN),
    (CONSECUTIVE_3, [500, 500, 400, 500], OPEN),                 # neutral leaves the run unchanged
    (CONSECUTIVE_3, [500, 429, 404, 500, 400, 408], OPEN),
    (CONSECUTIVE_3, [400] * 50, CLOSED),
    (ONLY_429, [429, 429], OPEN),
    (ONLY_429, [500, 503, 500, 503], CLOSED),                    # 5xx is neutral under custom codes
    (ONLY_429, [429, 500, 429], OPEN),
    (ONLY_429, [429, 200, 429], CLOSED),
    (HALF_OVER_4, [500, 500, 500], CLOSED),                      # 100 % but below minimum_requests
    (HALF_OVER_4, [500, 500, 500, 200], OPEN),
    (HALF_OVER_4, [200, 200, 500, 500], OPEN),                   # exactly 50 %
    (HALF_OVER_4, [200, 200, 200, 500], CLOSED),
    (HALF_OVER_4, [400, 400, 500, 500], OPEN),                   # neutral statuses count as requests
    (HALF_OVER_4, [400, 400, 400, 500], CLOSED),
    (CircuitPolicy(failure_threshold=5, failure_threshold_percentage=50, minimum_requests=2), [200, 500], OPEN),
])
def test_circuit_recorded_statuses_give_state(policy, statuses, expected):
    breakers, _, _ = make()
    record_all(breakers, policy, statuses)
    assert breakers.state("t") == expected


WINDOWED = CircuitPolicy(failure_threshold_percentage=100, minimum_requests=3, window_ms=1000)


@pytest.mark.parametrize("times, expected", [
    ([0.0, 0.5, 0.999], OPEN),             # all in one window
    ([0.0, 0.5, 1.0], CLOSED),             # the window ended at 1.0: counts restart (not a sliding window)
    ([0.0, 1.5, 2.4, 2.45], OPEN),         # the second window starts at 1.5, not at a multiple of window_ms
    ([0.0, 0.5, 1.0, 1.5, 1.75], OPEN),    # three failures in the window that started at 1.0
])
def test_circuit_window_rolls_over_and_restarts_counts(times, expected):
    breakers, clock, _ = make()
    for now in times:
        clock.now = now
        breakers.record("t", WINDOWED, 500)
    assert breakers.state("t") == expected


@pytest.mark.parametrize("policy", [
    CircuitPolicy(),
    CircuitPolicy(minimum_requests=1, failure_status_codes=frozenset({500})),
])
def test_circuit_policy_without_thresholds_never_opens(policy):
    breakers, _, changes = make(max_targets=1)
    open_circuit(breakers, CONSECUTIVE_3, key="other")
    record_all(breakers, policy, [500] * 1000)
    assert breakers.state("t") == CLOSED
    assert breakers.allows("t", policy)
    assert breakers.state("other") == OPEN, "an untracked policy must not evict real circuits"
    assert changes == [("other", OPEN)]


def test_circuit_cooldown_then_exactly_one_probe():
    breakers, clock, _ = make()
    policy = CircuitPolicy(failure_threshold=1, cooldown_interval_ms=1000)
    open_circuit(breakers, policy)
    clock.now = 0.999
    assert not breakers.allows("t", policy)
    assert breakers.state("t") == OPEN
    clock.now = 1.0
    assert [breakers.allows("t", policy) for _ in range(3)] == [True, False, False]
    assert breakers.state("t") == HALF_OPEN


def test_circuit_probe_success_closes_and_resets_counts():
    breakers, clock, _ = make()
    policy = CircuitPolicy(failure_threshold=2, failure_threshold_percentage=50, minimum_requests=2,
                           cooldown_interval_ms=1000)
    open_circuit(breakers, policy)
    clock.now = 1.0
    assert breakers.allows("t", policy)
    breakers.record("t", policy, 200)
    assert breakers.state("t") == CLOSED
    breakers.record("t", policy, 500)
    assert breakers.state("t") == CLOSED, "stale window or consecutive counts survived the close"
    assert [breakers.allows("t", policy) for _ in range(3)] == [True, True, True]


def test_circuit_probe_failure_reopens_with_fresh_cooldown():
    breakers, clock, _ = make()
    policy = CircuitPolicy(failure_threshold=1, cooldown_interval_ms=1000)
    open_circuit(breakers, policy)
    clock.now = 1.0
    assert breakers.allows("t", policy)
    clock.now = 1.5
    breakers.record("t", policy, 502)
    assert breakers.state("t") == OPEN
    clock.now = 2.25
    assert not breakers.allows("t", policy)
    clock.now = 2.5
    assert breakers.allows("t", policy)
    assert breakers.state("t") == HALF_OPEN


def test_circuit_neutral_probe_result_releases_the_slot():
    breakers, clock, _ = make()
    policy = CircuitPolicy(failure_threshold=1, cooldown_interval_ms=1000)
    open_circuit(breakers, policy)
    clock.now = 1.0
    assert breakers.allows("t", policy)
    breakers.record("t", policy, 429)
    assert breakers.state("t") == HALF_OPEN
    assert [breakers.allows("t", policy) for _ in range(2)] == [True, False]


def test_circuit_abandoned_probe_is_reclaimable_after_cooldown():
    breakers, clock, _ = make()
    policy = CircuitPolicy(failure_threshold=1, cooldown_interval_ms=1000)
    open_circuit(breakers, policy)
    clock.now = 1.0
    assert breakers.allows("t", policy)
    clock.now = 1.999
    assert not breakers.allows("t", policy)
    clock.now = 2.0
    assert [breakers.allows("t", policy) for _ in range(2)] == [True, False]
    assert breakers.state("t") == HALF_OPEN


def test_circuit_record_while_open_changes_nothing():
    breakers, clock, changes = make()
    policy = CircuitPolicy(failure_threshold=1, cooldown_interval_ms=1000)
    open_circuit(breakers, policy)
    clock.now = 0.5
    record_all(breakers, policy, [200, 500, 400])
    assert breakers.state("t") == OPEN
    assert not breakers.allows("t", policy)
    clock.now = 1.0
    assert breakers.allows("t", policy), "a late record must not restart the cooldown"
    assert changes == [("t", OPEN), ("t", HALF_OPEN)]


@pytest.mark.parametrize("touch", [
    lambda breakers, policy: breakers.allows("a", policy),
    lambda breakers, policy: breakers.record("a", policy, 200),   # while OPEN: no state change, still a use
], ids=["allows", "record"])
def test_circuit_evicts_least_recently_used_beyond_max_targets(touch):
    breakers, _, changes = make(max_targets=2)
    policy = CircuitPolicy(failure_threshold=1)
    open_circuit(breakers, policy, key="a")
    open_circuit(breakers, policy, key="b")
    touch(breakers, policy)                          # "a" is now more recent than "b"
    for key in ("x", "y", "z"):
        assert breakers.allows(key, policy)          # allows() alone tracks nothing
    breakers.record("c", policy, 200)
    assert [breakers.state(k) for k in ("a", "b", "c")] == [OPEN, CLOSED, CLOSED]
    assert changes == [("a", OPEN), ("b", OPEN), ("b", CLOSED)]
    assert breakers.allows("b", policy)


def test_circuit_on_change_reports_each_transition_once():
    breakers, clock, changes = make()
    policy = CircuitPolicy(failure_threshold=2, cooldown_interval_ms=1000)
    record_all(breakers, policy, [200, 200, 500, 400, 500])                 # -> open
    clock.now = 1.0
    breakers.allows("t", policy)                                            # -> half_open
    breakers.allows("t", policy)
    breakers.record("t", policy, 503)                                       # -> open
    clock.now = 2.0
    breakers.allows("t", policy)                                            # -> half_open
    breakers.record("t", policy, 429)
    breakers.allows("t", policy)
    breakers.record("t", policy, 204)                                       # -> closed
    record_all(breakers, policy, [200, 500, 200])
    assert changes == [("t", OPEN), ("t", HALF_OPEN), ("t", OPEN), ("t", HALF_OPEN), ("t", CLOSED)]


def test_circuit_state_of_unknown_key_is_closed():
    breakers, _, changes = make()
    assert breakers.state("never-seen") == CLOSED
    assert breakers.allows("never-seen", CircuitPolicy(failure_threshold=1))
    assert changes == []


def test_circuit_breakers_reject_non_positive_max_targets():
    with pytest.raises(ValueError, match="max_targets"):
        CircuitBreakers(clock=lambda: 0.0, max_targets=0)
