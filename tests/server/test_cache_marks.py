"""server/cache_marks.py: once-per-interval marks, read with the request's round trip or remembered
by the process, and kept per process while the cache is down."""

import logging

import pytest
from django.test import RequestFactory

from server import cache_marks


@pytest.fixture
def claims(monkeypatch):
    """Every claim sent to the cache, answered by a local-memory cache as usual."""
    sent = []
    claim = cache_marks.claim

    def recording(cache, key, seconds):
        sent.append(key)
        return claim(cache, key, seconds)

    monkeypatch.setattr(cache_marks, "claim", recording)
    return sent


def test_the_first_claim_wins_and_the_process_then_answers_without_the_cache(claims):
    assert cache_marks.first_in_interval("m", 300) is True
    assert cache_marks.first_in_interval("m", 300) is False
    assert claims == ["m"]
    # Another worker (this one, having forgotten) asks the cache once, finds it held, remembers.
    cache_marks.forget_process_marks()
    assert cache_marks.first_in_interval("m", 300) is False
    assert cache_marks.first_in_interval("m", 300) is False
    assert claims == ["m", "m"]


def test_an_interval_of_zero_is_every_time(claims):
    assert [cache_marks.first_in_interval("m", 0) for _ in range(3)] == [True, True, True]
    assert claims == []


def test_a_mark_ends_with_its_interval(claims, time_machine):
    time_machine.move_to("2026-01-05 10:00:00Z", tick=False)
    assert cache_marks.first_in_interval("m", 60) is True
    time_machine.shift(59)
    assert cache_marks.first_in_interval("m", 60) is False
    time_machine.shift(2)
    assert cache_marks.first_in_interval("m", 60) is True


def test_a_mark_found_in_the_requests_round_trip_costs_nothing_more(claims):
    request = RequestFactory().post("/oauth/introspect")
    cache_marks.note_read(request, {"present": True, "absent": False})
    assert cache_marks.first_in_interval("present", 300, request=request) is False
    assert claims == []
    # Absent when read: one claim decides.
    assert cache_marks.first_in_interval("absent", 300, request=request) is True
    assert claims == ["absent"]
    assert cache_marks.read_in_round_trip(request, "never-read") is None


def test_only_marks_of_the_round_trips_cache_are_read_with_it(monkeypatch):
    monkeypatch.setattr(cache_marks, "_readers", [])
    cache_marks.read_with_protocol_requests(lambda request, client_id: [f"a:{client_id}"])
    other = cache_marks.read_with_protocol_requests(lambda request, client_id: ["b"], cache_alias="other")
    cache_marks.read_with_protocol_requests(other, cache_alias="other")  # registered once
    request = RequestFactory().post("/oauth/token")
    assert cache_marks.mark_keys(request, "app", "default") == ["a:app"]
    assert cache_marks.mark_keys(request, "app", "other") == ["b"]


def test_with_the_cache_down_each_process_keeps_its_marks_and_logs_once(monkeypatch, caplog):
    attempts = []

    def down(cache, key, seconds):
        attempts.append(key)
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache_marks, "claim", down)
    with caplog.at_level(logging.WARNING, logger="server.cache"):
        assert cache_marks.first_in_interval("a", 300) is True  # recorded, by this process
        assert cache_marks.first_in_interval("a", 300) is False
        assert cache_marks.first_in_interval("b", 300) is True
    # One failed attempt, then the cache is left alone for the retry window; one warning.
    assert attempts == ["a"]
    assert [r.getMessage() for r in caplog.records if r.name == "server.cache"] == [
        "once-per-interval marks kept in this process only: the cache is unavailable "
        "(ConnectionError: redis is down)"
    ]
    assert cache_marks.marks_guard.available is False


def test_the_process_remembers_a_bounded_number_of_marks(monkeypatch):
    monkeypatch.setattr(cache_marks, "MAX_REMEMBERED", 4)
    marks = cache_marks._ProcessMarks()
    for index in range(4):
        marks.remember(f"m{index}", 100.0 + index, 0.0)
    marks.remember("late", 200.0, 101.5)  # full: the ended ones (m0, m1) go first
    assert [marks.held(f"m{index}", 101.5) for index in range(4)] == [False, False, True, True]
    marks.remember("m4", 300.0, 0.0)
    marks.remember("m5", 300.0, 0.0)  # full of live marks: the older half goes
    assert marks.held("m5", 0.0) and marks.held("m4", 0.0) and not marks.held("m2", 0.0)


def test_marks_claimed_past_the_process_memory_limit_are_still_remembered(claims, monkeypatch):
    """A full memory makes room (ended marks first, then the older half) while marks are
    claimed through first_in_interval, and the newest claim is remembered."""
    monkeypatch.setattr(cache_marks, "MAX_REMEMBERED", 2)
    cache_marks.forget_process_marks()
    keys = [f"bounded-{index}" for index in range(3)]
    assert [cache_marks.first_in_interval(key, 60) for key in keys] == [True, True, True]
    assert cache_marks.first_in_interval(keys[-1], 60) is False
    assert claims == keys  # the last answer came from the process's memory
